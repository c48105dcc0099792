"""The job runner: one pass over the registry runs every job that is due.

For each job, in dependency order:

1. A disabled job (a setting switches it off) is skipped.
2. A job whose dependency has not succeeded, or failed last, waits (the reference ignores
   its ``depends_on``; we do not).
3. The runner claims the job's lock in PostgreSQL, which succeeds only if the job is due
   and nobody else holds it. While the job runs, a thread refreshes the lock; a lock left
   unrefreshed for ``crontabber_lock_timeout`` (its runner died) is taken over.
4. The job runs for its latest slot, or for every slot since its last success when it
   backfills (at most ``crontabber_max_slots_per_run`` a pass). Each good slot is logged
   and becomes ``last_success`` at once, so a failure part-way keeps the slots done before
   it and the next run resumes at the failed slot.
5. A failure is logged with its traceback, kept in ``last_error``, and the job waits a
   growing delay (``crashline.common.retry``: 1, 2, 4... minutes) before it is due again. A
   success makes it due at its next slot.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from crashline.common.database import Database
from crashline.common.retry import Backoff
from crashline.crontabber import metrics
from crashline.crontabber.job import Backends, Job, JobContext
from crashline.crontabber.settings import CrontabberSettings
from crashline.crontabber.state import Failure, JobState, StateStore

log = logging.getLogger(__name__)


class UnknownJob(LookupError):
    pass


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Outcome(StrEnum):
    SUCCESS = "success"      # every slot it was due for ran
    FAILURE = "failure"      # a slot failed; the slots before it count
    NOT_DUE = "not_due"
    LOCKED = "locked"        # another runner holds it
    WAITING = "waiting"      # a dependency has failed or never succeeded
    DISABLED = "disabled"    # switched off by a setting
    LOST_LOCK = "lost_lock"  # another runner took the lock over while this one ran


@dataclass
class RunReport:
    job: str
    outcome: Outcome
    slots: list[dt.datetime] = field(default_factory=list)  # slots that succeeded
    detail: str = ""


def order_jobs(jobs: Iterable[Job]) -> list[Job]:
    """The jobs with every dependency before its dependents (registry order otherwise);
    raises ValueError for a duplicate name, an unknown dependency or a cycle."""
    jobs = list(jobs)
    by_name: dict[str, Job] = {}
    for job in jobs:
        if job.name in by_name:
            raise ValueError(f"two jobs are named {job.name!r}")
        by_name[job.name] = job
    for job in jobs:
        for dependency in job.depends_on:
            if dependency not in by_name:
                raise ValueError(f"{job.name} depends on unknown job {dependency!r}")
    ordered: list[Job] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(job: Job) -> None:
        if job.name in placed:
            return
        if job.name in visiting:
            raise ValueError(f"dependency cycle through {job.name!r}")
        visiting.add(job.name)
        for dependency in job.depends_on:
            place(by_name[dependency])
        visiting.discard(job.name)
        placed.add(job.name)
        ordered.append(job)

    for job in jobs:
        place(job)
    return ordered


class _LockKeeper:
    """Refreshes a held lock from a thread while the job runs."""

    def __init__(self, state: StateStore, name: str, holder: str, interval: float,
                 clock: Callable[[], dt.datetime]):
        self.state, self.name, self.holder, self.clock = state, name, holder, clock
        self.interval = interval
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lock-{name}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if not self.state.refresh(self.name, self.holder, self.clock()):
                    self.lost = True
                    log.error("%s: another runner took the lock over", self.name)
                    return
            except Exception:  # PostgreSQL away for a moment: the next refresh may work
                log.warning("%s: cannot refresh the lock", self.name, exc_info=True)

    def __enter__(self) -> _LockKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class Runner:
    def __init__(self, jobs: Sequence[Job], settings: CrontabberSettings, db: Database, *,
                 backends: Backends | None = None,
                 clock: Callable[[], dt.datetime] = utc_now):
        self.jobs = order_jobs(jobs)
        self.by_name = {job.name: job for job in self.jobs}
        self.settings = settings
        self.state = StateStore(db)
        self.backends = backends or Backends(settings, db)
        self.clock = clock
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        # A failed job is tried again at every due time; only the delays are the policy's.
        self.backoff = Backoff(1, settings.crontabber_backoff_base,
                               settings.crontabber_backoff_max)

    def job(self, name: str) -> Job:
        try:
            return self.by_name[name]
        except KeyError:
            raise UnknownJob(f"no job named {name!r}; the jobs are: "
                             f"{', '.join(self.by_name)}") from None

    # -- one pass -------------------------------------------------------------------------
    def run_pending(self, stop: threading.Event | None = None) -> list[RunReport]:
        """One pass over every job; ``stop`` set: no further job starts."""
        reports = []
        for job in self.jobs:
            if stop is not None and stop.is_set():
                break
            reports.append(self.run(job))
        self.export_state()
        return reports

    def run(self, job: Job, force: bool = False) -> RunReport:
        """Run ``job`` if it is due (``force``: now, whether due or not, and whatever its
        dependencies say; never while another runner holds it)."""
        reason = job.disabled(self.settings)
        if reason:
            return RunReport(job.name, Outcome.DISABLED, detail=reason)
        now = self.clock()
        # First seen: due at once, for its latest slot.
        self.state.ensure(job.name, job.schedule.latest_slot(now), now)
        if not force:
            waiting = self.waiting_for(job)
            if waiting:
                current = self.state.get(job.name)
                if current is not None and current.next_run <= now:
                    metrics.SKIPPED.labels(job.name, "waiting").inc()
                    log.info("%s: waiting: %s", job.name, waiting)
                    return RunReport(job.name, Outcome.WAITING, detail=waiting)
                return RunReport(job.name, Outcome.NOT_DUE)
        holder = f"{self.identity}:{uuid.uuid4().hex[:12]}"
        stale_before = now - dt.timedelta(seconds=self.settings.crontabber_lock_timeout)
        claimed = self.state.claim(job.name, holder, now, stale_before, due_only=not force)
        if claimed is None:
            current = self.state.get(job.name)
            if current is not None and current.ongoing is not None:
                metrics.SKIPPED.labels(job.name, "locked").inc()
                log.info("%s: %s is running it", job.name, current.ongoing_by)
                return RunReport(job.name, Outcome.LOCKED, detail=current.ongoing_by or "")
            return RunReport(job.name, Outcome.NOT_DUE)
        interval = self.settings.crontabber_lock_timeout / 4
        with _LockKeeper(self.state, job.name, holder, interval, self.clock) as keeper:
            return self._run_slots(job, claimed, holder, now, keeper)

    def _run_slots(self, job: Job, state: JobState, holder: str, now: dt.datetime,
                   keeper: _LockKeeper) -> RunReport:
        slots = job.schedule.slots_to_run(now, state.last_success, job.backfill)
        # A long backlog is worked off a few slots a pass, so other jobs get their turn.
        most = self.settings.crontabber_max_slots_per_run
        backlog = len(slots) > most
        slots = slots[:most]
        last_success = state.last_success
        done: list[dt.datetime] = []
        for slot in slots:
            started = self.clock()
            begun = time.monotonic()
            context = JobContext(self.settings, self.backends, slot, last_success, self.clock)
            log.info("%s: running for %s", job.name, slot.isoformat())
            try:
                result = job.run(context)
            except Exception as exc:  # a job's failure, whatever it is, is recorded
                duration = time.monotonic() - begun
                failure = Failure(type(exc).__name__, str(exc), traceback.format_exc())
                log.error("%s: failed for %s: %s: %s", job.name, slot.isoformat(),
                          failure.type, failure.value)
                metrics.RUNS.labels(job.name, "failure").inc()
                metrics.RUN_SECONDS.labels(job.name).observe(duration)
                errors = self.state.record_failure(job.name, holder, slot, started, duration,
                                                   failure)
                if errors is None:
                    return RunReport(job.name, Outcome.LOST_LOCK, done, failure.value)
                wait = dt.timedelta(seconds=self.backoff.delay(errors))
                self.state.release(job.name, holder, self.clock() + wait)
                return RunReport(job.name, Outcome.FAILURE, done,
                                 f"{failure.type}: {failure.value} (retry in {wait})")
            duration = time.monotonic() - begun
            metrics.RUNS.labels(job.name, "success").inc()
            metrics.RUN_SECONDS.labels(job.name).observe(duration)
            if keeper.lost or not self.state.record_success(job.name, holder, slot, started,
                                                            duration, result):
                return RunReport(job.name, Outcome.LOST_LOCK, done)
            log.info("%s: done for %s in %.1fs: %s", job.name, slot.isoformat(), duration,
                     result or {})
            done.append(slot)
            last_success = slot
        next_run = self.clock() if backlog else job.schedule.next_slot(self.clock())
        self.state.release(job.name, holder, next_run)
        return RunReport(job.name, Outcome.SUCCESS, done,
                         "more slots to backfill at the next pass" if backlog else "")

    # -- dependencies ---------------------------------------------------------------------
    def waiting_for(self, job: Job, states: dict[str, JobState] | None = None) -> str:
        """Why ``job`` must wait for its dependencies ('' if it need not). A disabled
        dependency cannot fail, so it never holds anything up."""
        reasons = []
        for name in job.depends_on:
            if self.by_name[name].disabled(self.settings):
                continue
            state = states.get(name) if states is not None else self.state.get(name)
            if state is not None and state.error_count:
                reasons.append(f"{name} failed")
            elif state is None or state.last_success is None:
                reasons.append(f"{name} has not succeeded yet")
        return "; ".join(reasons)

    # -- by hand --------------------------------------------------------------------------
    def mark_success(self, job: Job) -> dt.datetime:
        now = self.clock()
        slot = job.schedule.latest_slot(now)
        self.state.mark_success(job.name, slot, job.schedule.next_slot(now), now)
        return slot

    # -- health ---------------------------------------------------------------------------
    def problems(self, states: dict[str, JobState] | None = None) -> dict[str, str]:
        """Jobs that are broken (their last run failed) or stale (no success for two of
        their periods), with why."""
        states = self.state.all() if states is None else states
        now = self.clock()
        grace = dt.timedelta(seconds=self.settings.crontabber_stale_grace)
        found = {}
        for job in self.jobs:
            if job.disabled(self.settings):
                continue
            state = states.get(job.name)
            if state is None:
                continue  # never seen by a runner yet: the next pass registers it
            if state.error_count:
                error = state.last_error or {}
                found[job.name] = (f"broken: {state.error_count} failure(s) in a row, last: "
                                   f"{error.get('type', '?')}: {error.get('value', '')}")
            elif job.schedule.is_stale(now, state.last_success or state.created_at, grace):
                last = state.last_success.isoformat() if state.last_success else "never"
                found[job.name] = f"stale: last success {last}"
        return found

    def export_state(self) -> None:
        states = self.state.all()
        problems = self.problems(states)
        for job in self.jobs:
            state = states.get(job.name)
            if state is None:
                continue
            if state.last_success is not None:
                metrics.LAST_SUCCESS.labels(job.name).set(state.last_success.timestamp())
            metrics.ERRORS.labels(job.name).set(state.error_count)
            problem = problems.get(job.name, "")
            metrics.BROKEN.labels(job.name).set(problem.startswith("broken"))
            metrics.STALE.labels(job.name).set(problem.startswith("stale"))

    def close(self) -> None:
        self.backends.close()
