"""The jobs' pure decisions: ledger arithmetic, signature parsing, what failed crashes go
back, which indices expire, which crashes verify-processed expects."""

from __future__ import annotations

import datetime as dt

import pytest

from crashline.common.crashid import Throttle, create_crash_id
from crashline.common.failed import H_FAILED_AT, H_TRANSIENT, FailedCrash
from crashline.common.ledger import KINDS
from crashline.common.queue import Message
from crashline.common.search import IndexNamer
from crashline.crontabber.bugzilla import find_signatures
from crashline.crontabber.jobs.failed_crashes import why_left
from crashline.crontabber.jobs.search_maintenance import expired_indices
from crashline.crontabber.jobs.verify_processed import days_to_check, expected_crashes
from crashline.crontabber.ledger import hours_to_count, reconcile

UTC = dt.UTC
HOUR = dt.datetime(2026, 5, 10, 13, tzinfo=UTC)


def ids(n, throttle=Throttle.ACCEPT):
    return {create_crash_id(HOUR, throttle) for _ in range(n)}


# -- the ledger --------------------------------------------------------------------------------
def test_a_caught_up_hour_balances():
    crashes = ids(5)
    deferred = ids(2, Throttle.DEFER)
    count = reconcile(HOUR, crashes | deferred, crashes | deferred, set(crashes),
                      sorted(crashes))
    assert count.balanced
    assert (count.received, count.stored, count.deferred, count.processed, count.indexed) == (
        7, 7, 2, 5, 5)
    assert count.difference_counts() == dict.fromkeys(KINDS, 0)


def test_every_difference_names_its_crashes():
    ok, lost, no_receipt, unprocessed, unindexed, orphan_doc, twice = (
        ids(3), ids(1), ids(1), ids(1), ids(1), ids(1), ids(1))
    received = ok | lost | unprocessed | unindexed | twice
    stored = ok | no_receipt | unprocessed | unindexed | twice
    processed = ok | no_receipt | unindexed | twice
    hits = [*ok, *no_receipt, *orphan_doc, *twice, *twice]
    count = reconcile(HOUR, received, stored, processed, hits)
    assert not count.balanced
    assert count.differences == {
        "received_not_stored": lost, "stored_not_received": no_receipt,
        "stored_not_processed": unprocessed, "processed_not_indexed": unindexed,
        "indexed_not_processed": orphan_doc, "indexed_twice": twice}
    assert (count.received, count.stored, count.processed, count.indexed) == (7, 7, 6, 6)


def test_a_deferred_crash_processed_anyway_counts_as_processed():
    deferred = ids(1, Throttle.DEFER)
    count = reconcile(HOUR, deferred, deferred, set(deferred), list(deferred))
    assert count.balanced and (count.deferred, count.processed) == (0, 1)


def test_hours_counted_per_run():
    slot = dt.datetime(2026, 5, 10, 14, tzinfo=UTC)
    h = [slot - dt.timedelta(hours=n) for n in range(1, 7)]  # h[0] the last closed hour
    counted = {h[5]: True, h[4]: False, h[3]: True, h[1]: True}
    # never counted, unbalanced, or among the last two: oldest first, within six hours
    assert hours_to_count(slot, counted, recount=2, recheck=6) == [h[4], h[2], h[1], h[0]]
    assert hours_to_count(slot + dt.timedelta(minutes=59), counted, 2, 6) == [
        h[4], h[2], h[1], h[0]]


# -- bug associations ---------------------------------------------------------------------------
@pytest.mark.parametrize("field, expected", [
    ("[@ foo ]", {"foo"}),
    ("[@foo] [@ bar::baz ]\n[@ qux]", {"foo", "bar::baz", "qux"}),
    ("[@ Array<int[3]>::get ] see bug 123 [link]", {"Array<int[3]>::get"}),
    ("[@ operator[] ]", {"operator[]"}),
    ("[@ unbalanced[ ] trailing", {"unbalanced["}),
    ("[@ no close", set()),
    ("no markers [ here ]", set()),
    ("[@ ]", set()),
    ("[@ a ][@ a ]", {"a"}),
    ("[@ nul\x00 ]", set()),
    (None, set()),
    (42, set()),
])
def test_crash_signature_field(field, expected):
    assert find_signatures(field) == expected


def test_signature_length_is_bounded():
    assert find_signatures(f"[@ {'x' * 10_001} ] [@ ok ]") == {"ok"}


# -- failed crashes ------------------------------------------------------------------------------
NOW = dt.datetime(2026, 5, 10, 12, tzinfo=UTC)
COOLDOWN = dt.timedelta(hours=1)


def failed(transient: str | None, failed_at: dt.datetime | None) -> FailedCrash:
    headers = {}
    if transient is not None:
        headers[H_TRANSIENT] = transient.encode()  # pika hands header strings over as bytes
    if failed_at is not None:
        headers[H_FAILED_AT] = failed_at.isoformat()
    return FailedCrash(Message(queue="q", body="id", delivery_tag=1, headers=headers))


@pytest.mark.parametrize("crash, requeues, expected", [
    (failed("true", NOW - 2 * COOLDOWN), 0, None),
    (failed("true", NOW - COOLDOWN), 4, None),
    (failed("true", NOW - COOLDOWN / 2), 0, "cooling_down"),
    (failed("true", NOW - 2 * COOLDOWN), 5, "too_many_requeues"),
    (failed("false", NOW - 2 * COOLDOWN), 0, "permanent"),
    (failed(None, NOW - 2 * COOLDOWN), 0, "permanent"),  # from before the header existed
    (failed("true", None), 0, "permanent"),  # no time: cannot tell when to retry
])
def test_which_failed_crashes_go_back(crash, requeues, expected):
    assert why_left(crash, NOW, COOLDOWN, requeues, max_requeues=5) == expected


# -- search maintenance ----------------------------------------------------------------------------
def test_indices_past_the_retention_expire():
    namer = IndexNamer("crashline-%Y%W")
    now = dt.datetime(2026, 5, 13, 6, tzinfo=UTC)  # a Wednesday
    retention = dt.timedelta(weeks=4)
    edge = namer.for_date(now - retention)  # holds days inside the window: kept
    older = namer.for_date(now - retention - dt.timedelta(days=7))
    ancient = namer.for_date(dt.datetime(2019, 1, 9))
    current, following = namer.for_date(now), namer.for_date(now + dt.timedelta(days=7))
    existing = [ancient, older, edge, current, following, "crashline-209901", "other-202601"]
    expired, unknown = expired_indices(namer, existing, now, retention)
    assert expired == sorted([ancient, older])
    assert unknown == ["crashline-209901"]


# -- verify-processed ---------------------------------------------------------------------------
def test_the_days_checked_are_closed_days_before_the_slot():
    slot = dt.datetime(2026, 5, 10, 4, tzinfo=UTC)
    assert days_to_check(slot, 2) == [dt.date(2026, 5, 8), dt.date(2026, 5, 9)]


def test_deferred_and_pending_crashes_are_not_expected():
    accepted, deferred, pending = ids(1).pop(), ids(1, Throttle.DEFER).pop(), ids(1).pop()
    listed = [accepted, deferred, pending, "not-a-crash-id"]
    assert expected_crashes(listed, {pending}) == [accepted]
