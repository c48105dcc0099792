"""The runner against the real PostgreSQL: due times, time of day, backfill, locking across
runners, stale-lock takeover, growing back-off and dependencies."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import pytest

from crashline.common.database import Database
from crashline.crontabber.job import Job, JobContext
from crashline.crontabber.jobs import prune_log
from crashline.crontabber.runner import Outcome, Runner
from crashline.crontabber.schedule import Schedule
from crashline.crontabber.state import StateStore

pytestmark = pytest.mark.integration

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


class Recorder:
    """A job body that records the slots it ran for and fails where it is told to."""

    def __init__(self, fail_on=()):
        self.calls: list[tuple[dt.datetime, dt.datetime | None]] = []
        self.fail_on = set(fail_on)

    def __call__(self, context: JobContext) -> dict:
        self.calls.append((context.slot, context.last_success))
        if context.slot in self.fail_on or "always" in self.fail_on:
            raise RuntimeError(f"broken at {context.slot.isoformat()}")
        return {"slot": context.slot.isoformat()}

    @property
    def slots(self) -> list[dt.datetime]:
        return [slot for slot, _ in self.calls]


def runs_of(db: Database, name: str) -> list[dict]:
    """The job's rows of the run log, newest first."""
    with db.transaction() as cur:
        cur.execute("SELECT * FROM cron_log WHERE name = %s ORDER BY started_at DESC, id DESC",
                    (name,))
        return cur.fetchall()


def make_job(every="1h", when=None, *, backfill=False, depends_on=(), fail_on=(),
             disabled=None) -> tuple[Job, Recorder]:
    body = Recorder(fail_on)
    extra = {"disabled": disabled} if disabled else {}
    job = Job(f"test-{uuid.uuid4().hex[:10]}", Schedule.parse(every, when), body, "a test job",
              backfill=backfill, depends_on=tuple(depends_on), **extra)
    return job, body


@pytest.fixture
def runner_for(cron_settings, cron_db, backends, clock):
    def make(*jobs: Job, settings=None, db=None, runner_clock=None) -> Runner:
        return Runner(jobs, settings or cron_settings, db or cron_db, backends=backends,
                      clock=runner_clock or clock)

    return make


def test_due_times_and_time_of_day(runner_for, clock, cron_db):
    daily, daily_body = make_job("1d", "04:00")
    hourly, hourly_body = make_job("1h")
    runner = runner_for(daily, hourly)

    clock.set("2026-05-10T10:20")
    # first seen: due at once, for the latest slot
    assert [r.outcome for r in runner.run_pending()] == [Outcome.SUCCESS, Outcome.SUCCESS]
    assert daily_body.slots == [at("2026-05-10T04:00")]
    assert hourly_body.slots == [at("2026-05-10T10:00")]
    state = StateStore(cron_db).get(daily.name)
    assert state.last_success == at("2026-05-10T04:00")
    assert state.next_run == at("2026-05-11T04:00")
    assert state.last_result == {"slot": "2026-05-10T04:00:00+00:00"}

    clock.set("2026-05-10T10:59")
    assert [r.outcome for r in runner.run_pending()] == [Outcome.NOT_DUE, Outcome.NOT_DUE]
    clock.set("2026-05-10T11:00")
    assert runner.run(hourly).outcome is Outcome.SUCCESS
    assert hourly_body.slots[-1] == at("2026-05-10T11:00")
    clock.set("2026-05-11T03:59")
    assert runner.run(daily).outcome is Outcome.NOT_DUE
    clock.set("2026-05-11T04:00")
    assert runner.run(daily).outcome is Outcome.SUCCESS
    assert daily_body.slots == [at("2026-05-10T04:00"), at("2026-05-11T04:00")]
    # the previous success is handed to the job
    assert daily_body.calls[-1][1] == at("2026-05-10T04:00")


def test_backfill_runs_each_missed_slot(runner_for, clock):
    job, body = make_job("1h", backfill=True)
    runner = runner_for(job)
    clock.set("2026-05-10T10:05")
    runner.run(job)
    clock.set("2026-05-10T13:10")  # three slots missed
    report = runner.run(job)
    assert report.outcome is Outcome.SUCCESS
    assert body.slots[1:] == report.slots == [at("2026-05-10T11:00"), at("2026-05-10T12:00"),
                                              at("2026-05-10T13:00")]
    # each slot saw the one before it as the last success
    assert [last for _, last in body.calls[1:]] == [at("2026-05-10T10:00"),
                                                    at("2026-05-10T11:00"),
                                                    at("2026-05-10T12:00")]


def test_a_failure_in_the_middle_of_a_backfill_keeps_the_last_good_slot(runner_for, clock,
                                                                          cron_db):
    job, body = make_job("1h", backfill=True, fail_on={at("2026-05-10T12:00")})
    runner = runner_for(job)
    state = StateStore(cron_db)
    clock.set("2026-05-10T10:05")
    runner.run(job)
    clock.set("2026-05-10T13:10")
    report = runner.run(job)
    assert report.outcome is Outcome.FAILURE
    assert report.slots == [at("2026-05-10T11:00")]
    assert body.slots[1:] == [at("2026-05-10T11:00"), at("2026-05-10T12:00")]  # 13:00 waits
    failed = state.get(job.name)
    assert failed.last_success == at("2026-05-10T11:00")
    assert failed.error_count == 1
    assert failed.last_error["type"] == "RuntimeError"
    assert "broken at 2026-05-10T12:00" in failed.last_error["value"]
    assert "Traceback" in failed.last_error["traceback"]
    assert failed.last_error["slot"] == at("2026-05-10T12:00").isoformat()
    log = runs_of(cron_db, job.name)
    assert [(row["slot"], row["success"]) for row in reversed(log)] == [
        (at("2026-05-10T10:00"), True), (at("2026-05-10T11:00"), True),
        (at("2026-05-10T12:00"), False)]
    assert log[0]["exc_type"] == "RuntimeError" and "Traceback" in log[0]["traceback"]

    # healed: the next run resumes at the failed slot
    body.fail_on.clear()
    clock.advance(minutes=1)
    report = runner.run(job)
    assert report.outcome is Outcome.SUCCESS
    assert report.slots == [at("2026-05-10T12:00"), at("2026-05-10T13:00")]
    healed = state.get(job.name)
    assert (healed.error_count, healed.last_error) == (0, None)
    assert healed.last_success == at("2026-05-10T13:00")


def test_back_off_grows_and_keeps_the_error(runner_for, clock, cron_db, cron_settings):
    job, body = make_job("5m", fail_on={"always"})
    runner = runner_for(job)
    state = StateStore(cron_db)
    base = cron_settings.crontabber_backoff_base
    waits = []
    for expected_errors in (1, 2, 3, 4):
        report = runner.run(job)
        assert report.outcome is Outcome.FAILURE
        current = state.get(job.name)
        assert current.error_count == expected_errors
        assert current.last_error["type"] == "RuntimeError"
        wait = (current.next_run - clock.now).total_seconds()
        waits.append(wait)
        # not due a moment before the back-off ends, due once it has
        clock.advance(seconds=wait - 1)
        assert runner.run(job).outcome is Outcome.NOT_DUE
        clock.advance(seconds=1)
    assert waits == [base, 2 * base, 4 * base, 8 * base]
    assert len(body.calls) == 4
    body.fail_on.clear()
    assert runner.run(job).outcome is Outcome.SUCCESS
    healed = state.get(job.name)
    assert healed.error_count == 0
    assert healed.next_run == job.schedule.next_slot(clock.now)


def test_dependencies_are_enforced(runner_for, clock, cron_db):
    upstream, upstream_body = make_job("1h", fail_on={"always"})
    downstream, downstream_body = make_job("1h", depends_on=[upstream.name])
    off, _ = make_job("1h", disabled=lambda settings: "switched off")
    free, free_body = make_job("1h", depends_on=[off.name])
    runner = runner_for(downstream, upstream, off, free)
    assert [j.name for j in runner.jobs][:2] == [upstream.name, downstream.name]

    reports = {r.job: r for r in runner.run_pending()}
    assert reports[upstream.name].outcome is Outcome.FAILURE
    assert reports[downstream.name].outcome is Outcome.WAITING
    assert f"{upstream.name} failed" in reports[downstream.name].detail
    assert downstream_body.calls == []
    # a disabled dependency cannot fail, so it holds nothing up
    assert reports[off.name].outcome is Outcome.DISABLED
    assert reports[free.name].outcome is Outcome.SUCCESS and free_body.calls

    # still waiting at the next pass; run by hand with --force it does run
    clock.advance(hours=1)
    assert runner.run(downstream).outcome is Outcome.WAITING
    assert runner.run(downstream, force=True).outcome is Outcome.SUCCESS
    assert len(downstream_body.calls) == 1

    upstream_body.fail_on.clear()
    clock.advance(hours=1)
    reports = {r.job: r for r in runner.run_pending()}
    assert reports[upstream.name].outcome is Outcome.SUCCESS
    assert reports[downstream.name].outcome is Outcome.SUCCESS
    assert len(downstream_body.calls) == 2


def test_a_dependency_that_never_succeeded_holds_its_dependents(runner_for, clock):
    upstream, _ = make_job("1d", "23:00")
    downstream, body = make_job("1h", depends_on=[upstream.name])
    runner = runner_for(upstream, downstream)
    report = runner.run(downstream)
    assert report.outcome is Outcome.WAITING and "has not succeeded yet" in report.detail
    assert body.calls == []


def test_two_runners_at_once_run_a_job_once(cron_settings, backends, clock):
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow(context):
        calls.append(context.slot)
        started.set()
        assert release.wait(30)

    job = Job(f"test-{uuid.uuid4().hex[:10]}", Schedule.parse("1h"), slow, "slow")
    # two runners with their own connections, like two crontabber processes
    dbs = [Database(cron_settings.database_url) for _ in range(2)]
    first, second = (Runner([job], cron_settings, db, backends=backends, clock=clock)
                     for db in dbs)
    reports = {}
    thread = threading.Thread(target=lambda: reports.setdefault("first", first.run(job)))
    thread.start()
    try:
        assert started.wait(30)
        blocked = second.run(job)
        assert blocked.outcome is Outcome.LOCKED
        assert blocked.detail.startswith(first.identity)
    finally:
        release.set()
        thread.join(30)
    assert reports["first"].outcome is Outcome.SUCCESS
    assert second.run(job).outcome is Outcome.NOT_DUE  # done for this slot
    assert len(calls) == 1
    for db in dbs:
        db.close()


def test_a_stale_lock_is_taken_over(runner_for, clock, cron_db, cron_settings):
    job, body = make_job("1h")
    runner = runner_for(job)
    state = StateStore(cron_db)
    state.ensure(job.name, clock.now, clock.now)
    timeout = dt.timedelta(seconds=cron_settings.crontabber_lock_timeout)
    # a runner that died while holding the lock, a moment short of the timeout
    assert state.claim(job.name, "dead-host:1:abc", clock.now - timeout + dt.timedelta(seconds=5),
                       clock.now - 2 * timeout, due_only=False)
    assert runner.run(job).outcome is Outcome.LOCKED
    clock.advance(seconds=10)  # now the lock is stale
    assert runner.run(job).outcome is Outcome.SUCCESS
    assert len(body.calls) == 1
    after = state.get(job.name)
    assert after.ongoing is None and after.error_count == 0
    # the dead runner, should it come back, cannot overwrite its successor's state
    assert not state.record_success(job.name, "dead-host:1:abc", clock.now, clock.now, 1.0, {})
    assert not state.release(job.name, "dead-host:1:abc", clock.now)


def test_a_running_job_keeps_its_lock_fresh(cron_settings, cron_db, backends):
    settings = cron_settings.model_copy(update={"crontabber_lock_timeout": 0.4})
    started, release = threading.Event(), threading.Event()

    def slow(context):
        started.set()
        assert release.wait(30)

    job = Job(f"test-{uuid.uuid4().hex[:10]}", Schedule.parse("1h"), slow, "slow")
    runners = [Runner([job], settings, cron_db, backends=backends) for _ in range(2)]
    thread = threading.Thread(target=runners[0].run, args=(job,))
    thread.start()
    try:
        assert started.wait(30)
        time.sleep(1.2)  # three times the lock timeout: the holder has refreshed it
        assert runners[1].run(job).outcome is Outcome.LOCKED
    finally:
        release.set()
        thread.join(30)


def test_a_long_backlog_is_worked_off_a_few_slots_a_pass(runner_for, clock, cron_settings):
    job, body = make_job("1h", backfill=True)
    runner = runner_for(job)
    most = cron_settings.crontabber_max_slots_per_run
    clock.set("2026-05-01T00:10")
    runner.run(job)
    clock.set("2026-05-10T10:20")  # 226 slots missed
    report = runner.run(job)
    assert report.outcome is Outcome.SUCCESS and len(report.slots) == most
    assert report.slots[0] == at("2026-05-01T01:00")
    again = runner.run(job)  # still due: the next pass goes on where this one stopped
    assert again.slots[0] == report.slots[-1] + dt.timedelta(hours=1)
    assert len(body.calls) == 1 + 2 * most


def test_prune_log_deletes_old_runs(runner_for, clock, cron_db, cron_settings, backends):
    job, _ = make_job("1h")
    runner = runner_for(job)
    clock.set("2025-01-01T00:30")
    runner.run(job)
    clock.set("2026-05-10T10:20")
    runner.run(job, force=True)
    assert len(runs_of(cron_db, job.name)) == 2
    result = prune_log.run(JobContext(cron_settings, backends, clock.now))
    assert result["deleted"] >= 1
    [kept] = runs_of(cron_db, job.name)
    assert kept["started_at"] == clock.now



def test_broken_and_stale_jobs_are_problems(runner_for, clock, cron_settings):
    broken, body = make_job("1h", fail_on={"always"})
    quiet, _ = make_job("1h")
    never, _ = make_job("1h", disabled=lambda settings: "off")
    runner = runner_for(broken, quiet, never)
    runner.run_pending()
    problems = runner.problems()
    assert problems[broken.name].startswith("broken: 1 failure(s) in a row, last: RuntimeError")
    assert quiet.name not in problems and never.name not in problems
    # two hours and the grace later, a job that has not run since is stale
    grace = cron_settings.crontabber_stale_grace
    clock.advance(hours=2, seconds=grace + 60)
    assert runner.problems()[quiet.name].startswith("stale: last success 2026-05-10T10:00")
    body.fail_on.clear()
    runner.run_pending()
    assert runner.problems() == {}
