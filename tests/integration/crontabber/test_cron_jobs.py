"""The jobs against the real RabbitMQ, search engine, PostgreSQL and crash storage (local
disk and the S3 endpoint)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from crontabber_support.bugzilla import FakeBugzilla
from harness.crashes import store_crash
from harness.services import wait_for

from crashline.common.crashid import Throttle, create_crash_id
from crashline.common.failed import H_FAILED_AT, H_QUEUE, H_REASON, H_TRANSIENT, take_failed
from crashline.common.queue import REASON_HEADER, QueueError
from crashline.common.search.documents import search_document
from crashline.common.settings import StorageBackend
from crashline.common.storage import storage_from_settings
from crashline.crontabber import metrics
from crashline.crontabber.job import Backends, JobContext
from crashline.crontabber.jobs import (
    bug_associations,
    failed_crashes,
    queue_metrics,
    reprocess_symbols,
    republish_pending,
    search_maintenance,
    signatures,
    storage_retention,
)

pytestmark = pytest.mark.integration

UTC = dt.UTC
NOW = dt.datetime.now(UTC).replace(microsecond=0)


def context(settings, backends, slot=None, last_success=None) -> JobContext:
    return JobContext(settings, backends, slot or NOW, last_success)


@pytest.fixture
def queue(backends):
    """The session's RabbitMQ client, its queues empty before and after the test."""
    client = backends.queue
    for name in client.names.all:
        client.channel.queue_purge(queue=name)
    yield client
    for name in client.names.all:
        client.channel.queue_purge(queue=name)


def new_crash(storage, when: dt.datetime, throttle=Throttle.ACCEPT, processed=False) -> str:
    crash_id = create_crash_id(when, throttle)
    store_crash(storage, crash_id, {"ProductName": "Cron", "uuid": crash_id,
                                    "submitted_timestamp": when.isoformat()},
                {"upload_file_minidump": b"MDMP"})
    if processed:
        storage.put_processed_crash(crash_id, {"uuid": crash_id,
                                               "date_processed": when.isoformat()})
    return crash_id


# -- republish-pending --------------------------------------------------------------------------
def test_republish_pending_queues_and_forgets(cron_settings, backends, queue):
    storage = backends.storage
    crash_id = new_crash(storage, NOW)
    storage.put_pending_publish(crash_id, {"queue": queue.names.standard, "reason": "down",
                                           "time": NOW.isoformat()})
    result = republish_pending.run(context(cron_settings, backends))
    assert result == {"published": 1}
    assert list(storage.list_pending_publish()) == []
    assert queue.get(queue.names.standard).body == crash_id


def test_republish_pending_fails_while_the_broker_refuses(cron_settings, backends, cron_db):
    crash_id = new_crash(backends.storage, NOW)
    backends.storage.put_pending_publish(crash_id, {"reason": "down"})
    no_broker = cron_settings.model_copy(update={"rabbitmq_url": "amqp://guest:guest@127.0.0.1:1/"})
    cut_off = Backends(no_broker, cron_db)
    try:
        with pytest.raises(QueueError, match="cannot connect to RabbitMQ"):
            republish_pending.run(context(no_broker, cut_off))
    finally:
        cut_off.close()
    # the record stays until a publish is confirmed
    assert crash_id in {cid for cid, _ in backends.storage.list_pending_publish()}
    backends.storage.delete_pending_publish(crash_id)


# -- queue-metrics -------------------------------------------------------------------------------
def test_queue_metrics(cron_settings, backends, queue):
    storage = backends.storage
    old = new_crash(storage, NOW - dt.timedelta(hours=2))
    new = new_crash(storage, NOW - dt.timedelta(minutes=1))
    queue.publish(queue.names.standard, old)
    queue.publish(queue.names.standard, new)
    queue.publish(queue.names.failed, new)
    result = queue_metrics.run(context(cron_settings, backends))
    assert result["depths"][queue.names.standard] == 2
    assert result["depths"][queue.names.failed] == 1
    assert 7200 <= result["oldest_unprocessed_seconds"] < 7200 + 600
    assert metrics.QUEUE_DEPTH.labels(queue.names.standard)._value.get() == 2
    assert metrics.FAILED_QUEUE._value.get() == 1
    # peeking left the queue as it was (the broker requeues a moment later), the oldest
    # crash still first
    wait_for(lambda: queue.depth(queue.names.standard) == 2, 10, "the peeked crash back")
    assert queue.get(queue.names.standard).crash_id == old


# -- failed-crashes ------------------------------------------------------------------------------
def test_failed_crashes_requeues_only_transient_failures_after_the_cooldown(
        cron_settings, backends, queue, cron_db):
    settings = cron_settings.model_copy(update={"crontabber_failed_cooldown": 3600,
                                                "crontabber_failed_max_requeues": 1})
    long_ago = (NOW - dt.timedelta(hours=2)).isoformat()
    crashes = {name: create_crash_id(NOW) for name in ("flaky", "poison", "fresh", "legacy")}

    def fail(name, transient, failed_at, origin):
        headers = {H_REASON: f"{name} went wrong", H_QUEUE: origin, H_FAILED_AT: failed_at}
        if transient is not None:
            headers[H_TRANSIENT] = transient
        queue.publish(queue.names.failed, crashes[name], headers)

    fail("flaky", "true", long_ago, queue.names.priority)
    fail("poison", "false", long_ago, queue.names.standard)
    fail("fresh", "true", NOW.isoformat(), queue.names.standard)
    fail("legacy", None, long_ago, queue.names.standard)

    result = failed_crashes.run(context(settings, backends))
    assert result["requeued"] == 1
    assert result["left_by_why"] == {"permanent": 2, "cooling_down": 1}
    assert {c["crash_id"]: c["why"] for c in result["left_crashes"]} == {
        crashes["poison"]: "permanent", crashes["fresh"]: "cooling_down",
        crashes["legacy"]: "permanent"}
    assert "poison went wrong" in {c["reason"] for c in result["left_crashes"]}
    # back to the queue it failed in; the others are still in the failed queue
    assert queue.get(queue.names.priority).body == crashes["flaky"]
    assert queue.depth(queue.names.failed) == 3

    # it fails again: one requeue was allowed, so now it stays
    fail("flaky", "true", long_ago, queue.names.priority)
    result = failed_crashes.run(context(settings, backends))
    assert result["requeued"] == 0
    assert result["left_by_why"]["too_many_requeues"] == 1
    assert len(take_failed(queue)) == 4
    queue.close()


# -- search-maintenance --------------------------------------------------------------------------
def test_search_maintenance(cron_settings, backends):
    search = backends.search
    namer = search.namer
    retention = dt.timedelta(weeks=cron_settings.search_retention_weeks)
    expired = namer.for_date(NOW - retention - dt.timedelta(weeks=2))
    kept = namer.for_date(NOW - retention + dt.timedelta(weeks=2))
    for name in (expired, kept):
        search.ensure_index(name)
    result = search_maintenance.run(context(cron_settings, backends))
    existing = search.existing_indices()
    assert expired in result["deleted"] and expired not in existing
    assert kept in existing
    next_week = namer.for_date(NOW + dt.timedelta(weeks=1))
    assert next_week in existing and namer.for_date(NOW) in existing
    assert next_week in result["ensured"]
    # searches of next week's index work before any crash is in it
    assert search.search([next_week], {"query": {"match_all": {}}})["hits"]["hits"] == []


# -- storage-retention ---------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["local", "s3"])
def test_storage_retention(backend, cron_settings, cron_db, tmp_path):
    if backend == "local":
        settings = cron_settings.model_copy(update={"storage_path": tmp_path})
    else:
        settings = cron_settings.model_copy(update={
            "storage_backend": StorageBackend.S3,
            "s3_bucket": f"{cron_settings.s3_bucket}-ret-{uuid.uuid4().hex[:6]}"})
    settings = settings.model_copy(update={"crontabber_storage_retention_days": 30})
    storage = storage_from_settings(settings)
    old_day = NOW - dt.timedelta(days=40)
    old = new_crash(storage, old_day, processed=True)
    storage.put_receipts(old_day.replace(minute=0, second=0), "test-1", [old])
    edge = new_crash(storage, NOW - dt.timedelta(days=29), processed=True)
    recent = new_crash(storage, NOW, processed=True)
    backends = Backends(settings, cron_db)
    result = storage_retention.run(context(settings, backends))
    assert result["deleted"] == 1 and result["receipt_batches_deleted"] == 1
    assert not storage.has_raw_crash(old) and not storage.has_processed_crash(old)
    assert storage.get_dump_names(old) == []
    assert list(storage.list_receipts(old_day.replace(minute=0, second=0))) == []
    for kept in (edge, recent):
        assert storage.has_raw_crash(kept) and storage.has_processed_crash(kept)
        assert storage.get_dump(kept) == b"MDMP"


def test_storage_retention_is_off_by_default(cron_settings):
    assert storage_retention.disabled(cron_settings)
    assert not storage_retention.disabled(
        cron_settings.model_copy(update={"crontabber_storage_retention_days": 1}))


# -- signatures ----------------------------------------------------------------------------------
def index_crash(search, signature: str, when: dt.datetime, processed_at: dt.datetime,
                build: int) -> str:
    crash_id = create_crash_id(when)
    processed = {"uuid": crash_id, "signature": signature, "date_processed": when.isoformat(),
                 "completed_datetime": processed_at.isoformat(), "build": build}
    search.index_document(search.namer.for_date(when), crash_id,
                          search_document(crash_id, processed), refresh=True)
    return crash_id


def test_signature_first_dates_never_move_later(cron_settings, backends, cron_db):
    search = backends.search
    tag = uuid.uuid4().hex[:8]
    slot = NOW.replace(minute=0, second=0)
    processed_at = slot - dt.timedelta(minutes=30)
    known_early, moves, new = f"known-early-{tag}", f"moves-earlier-{tag}", f"new-{tag}"
    early, late = slot - dt.timedelta(days=3), slot - dt.timedelta(hours=2)
    with cron_db.transaction() as cur:
        cur.execute("INSERT INTO signatures (signature, first_date, first_build) VALUES "
                    "(%s, %s, %s), (%s, %s, %s)",
                    (known_early, early, 20240101000000, moves, late, 20240301000000))
    # crashes processed in the job's window
    index_crash(search, known_early, late, processed_at, 20240501000000)  # later: no change
    index_crash(search, moves, early, processed_at, 20240201000000)  # earlier: moves
    index_crash(search, new, late, processed_at, 20240401000000)
    index_crash(search, new, late - dt.timedelta(hours=1), processed_at, 20240402000000)
    # processed outside the window: not looked at
    index_crash(search, f"outside-{tag}", late, slot - dt.timedelta(hours=3), 1)

    result = signatures.run(context(cron_settings, backends, slot))
    assert result["changed"] == 2
    with cron_db.transaction() as cur:
        cur.execute("SELECT signature, first_date, first_build FROM signatures "
                    "WHERE signature LIKE %s", (f"%-{tag}",))
        rows = {r["signature"]: (r["first_date"], r["first_build"]) for r in cur.fetchall()}
    assert rows == {known_early: (early, 20240101000000), moves: (early, 20240201000000),
                    new: (late - dt.timedelta(hours=1), 20240401000000)}
    # run again: nothing to change
    assert signatures.run(context(cron_settings, backends, slot))["changed"] == 0


# -- reprocess-symbols ---------------------------------------------------------------------------
def drain_queue(queue, name: str) -> list:
    messages = []
    while (message := queue.get(name)) is not None:
        messages.append(message)
        queue.ack(message)
    return messages


def test_reprocess_symbols_queues_each_crash_once_and_lets_fresh_crashes_go_first(
        cron_settings, backends, cron_db, queue):
    search = backends.search
    ident = uuid.uuid4().hex.upper() + "1"
    module, other = f"late.pdb/{ident}", f"other.pdb/{ident}"

    def crash(hours: float, missing: list[str]) -> str:
        when = NOW - dt.timedelta(hours=hours)
        crash_id = create_crash_id(when)
        processed = {"uuid": crash_id, "date_processed": when.isoformat(),
                     "missing_symbol_files": missing}
        search.index_document(search.namer.for_date(when), crash_id,
                              search_document(crash_id, processed), refresh=True)
        return crash_id

    recent = [crash(1, [module]), crash(5, [module, other]), crash(30, [module])]
    crash(24 * 30, [module])  # older than the window
    crash(2, [other])         # missed only what has not arrived
    with cron_db.transaction() as cur:  # what an upload records (its own look failed)
        cur.execute("INSERT INTO symbol_files (debug_file, debug_id, os, arch, size, crc32, "
                    "uploaded_at) VALUES ('late.pdb', %s, 'windows', 'x86', 1, 1, %s)",
                    (ident, NOW))
    settings = cron_settings.model_copy(update={"symbols_reprocess_max_queued": 2})

    # A fresh crash waits: nothing is queued, the crashes are kept for later.
    queue.publish(queue.names.standard, "fresh")
    result = reprocess_symbols.run(context(settings, backends))
    assert (result["found"], result["queued"], result["waiting"]) == (3, 0, 3)
    assert "fresh" in result["paused"]
    assert [m.body for m in drain_queue(queue, queue.names.standard)] == ["fresh"]

    # No more than the room in the reprocessing queue, oldest finds first, with the reason.
    first = reprocess_symbols.run(context(settings, backends))
    assert (first["found"], first["queued"], first["waiting"]) == (0, 2, 1)
    assert reprocess_symbols.run(context(settings, backends))["queued"] == 0  # full
    messages = drain_queue(queue, queue.names.reprocessing)
    last = reprocess_symbols.run(context(settings, backends))
    assert last["queued"] == 1 and last["waiting"] == 0
    messages += drain_queue(queue, queue.names.reprocessing)
    assert sorted(m.body for m in messages) == sorted(recent)
    assert {m.header(REASON_HEADER) for m in messages} == {f"symbols arrived for {module}"}

    # Run again (still within the grace time): each crash is queued once per symbol file.
    again = reprocess_symbols.run(context(settings, backends))
    assert (again["found"], again["queued"]) == (0, 0)
    assert drain_queue(queue, queue.names.reprocessing) == []


# -- bug-associations ----------------------------------------------------------------------------
def associations(cron_db, bug_ids) -> dict[int, set[str]]:
    with cron_db.transaction() as cur:
        cur.execute("SELECT bug_id, signature FROM bug_associations WHERE bug_id = ANY(%s)",
                    (list(bug_ids),))
        found: dict[int, set[str]] = {}
        for row in cur.fetchall():
            found.setdefault(row["bug_id"], set()).add(row["signature"])
    return found


def test_bug_associations_follow_a_bugs_changes(cron_settings, backends, cron_db):
    base = int(uuid.uuid4().int % 10**9) * 10
    first, second, untouched = base + 1, base + 2, base + 3
    with FakeBugzilla() as bugzilla:
        settings = cron_settings.model_copy(update={"crontabber_bugzilla_url": bugzilla.url})
        assert not bug_associations.disabled(settings)
        slot = NOW.replace(minute=0, second=0)
        bugzilla.set_bug(first, "[@ Foo::bar ]\n[@ Baz<int[2]> ]", slot - dt.timedelta(hours=3))
        bugzilla.set_bug(second, "[@ Foo::bar ]", slot - dt.timedelta(hours=5))
        bugzilla.set_bug(untouched, "[@ Old ]", slot - dt.timedelta(days=3))
        with cron_db.transaction() as cur:  # known from an earlier run
            cur.execute("INSERT INTO bug_associations VALUES (%s, 'Old')", (untouched,))

        result = bug_associations.run(context(settings, backends, slot))
        assert result["added"] == 3
        assert associations(cron_db, [first, second, untouched]) == {
            first: {"Foo::bar", "Baz<int[2]>"}, second: {"Foo::bar"}, untouched: {"Old"}}
        # first run: a day back (and an hour's overlap)
        assert bugzilla.requests[-1]["chfieldfrom"] == [
            (slot - dt.timedelta(days=1, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")]

        # the first bug loses a signature and gains one; the second loses its only one
        later = slot + dt.timedelta(hours=1)
        bugzilla.set_bug(first, "[@ Baz<int[2]> ] [@ New::one ]", later - dt.timedelta(minutes=5))
        bugzilla.set_bug(second, "fixed, no signature any more", later - dt.timedelta(minutes=9))
        result = bug_associations.run(context(settings, backends, later, last_success=slot))
        assert (result["added"], result["removed"]) == (1, 2)
        assert associations(cron_db, [first, second, untouched]) == {
            first: {"Baz<int[2]>", "New::one"}, untouched: {"Old"}}

        # the tracker is down: the job fails and changes nothing
        bugzilla.status = 500
        with pytest.raises(Exception, match="HTTP 500"):
            bug_associations.run(context(settings, backends, later, last_success=slot))
        assert associations(cron_db, [first])[first] == {"Baz<int[2]>", "New::one"}


def test_bug_associations_page_through_many_bugs(cron_settings, backends, cron_db, monkeypatch):
    from crashline.crontabber.bugzilla import Bugzilla

    monkeypatch.setattr(Bugzilla, "PAGE", 7)
    base = int(uuid.uuid4().int % 10**9) * 100
    with FakeBugzilla() as bugzilla:
        settings = cron_settings.model_copy(update={"crontabber_bugzilla_url": bugzilla.url})
        for n in range(20):
            bugzilla.set_bug(base + n, f"[@ paged-{n} ]", NOW - dt.timedelta(minutes=5))
        result = bug_associations.run(context(settings, backends))
    assert result["bugs"] == 20 and result["added"] == 20
    assert len(associations(cron_db, range(base, base + 20))) == 20
    assert [r["offset"] for r in bugzilla.requests] == [["0"], ["7"], ["14"]]
