"""The collector's receipt book: crash ids of accepted crashes, written in batches per hour."""

from __future__ import annotations

import datetime as dt
import time

from crashline.collector.receipts import ReceiptBook
from crashline.common.crashid import create_crash_id

UTC = dt.UTC
HOUR = dt.datetime(2026, 5, 10, 13, tzinfo=UTC)


def test_receipts_are_written_per_hour_in_batches(store, storage):
    book = ReceiptBook(storage, interval=3600)
    first = [create_crash_id(HOUR) for _ in range(3)]
    later = create_crash_id(HOUR)
    for n, crash_id in enumerate(first):
        book.add(crash_id, HOUR + dt.timedelta(minutes=20 * n))
    book.add(later, HOUR + dt.timedelta(hours=1, seconds=1))
    assert not any(key.startswith("v1/received/") for key in store.objects)  # not yet
    assert book.flush()
    assert sorted(storage.list_receipts(HOUR)) == sorted(first)
    assert list(storage.list_receipts(HOUR + dt.timedelta(hours=1))) == [later]
    assert len([k for k in store.objects if k.startswith("v1/received/2026051013/")]) == 1
    # the next flush writes a new batch beside the first
    again = create_crash_id(HOUR)
    book.add(again, HOUR + dt.timedelta(minutes=59))
    assert book.flush()
    assert sorted(storage.list_receipts(HOUR)) == sorted([*first, again])
    assert book.flush()  # nothing pending: nothing written
    assert len([k for k in store.objects if k.startswith("v1/received/2026051013/")]) == 2


def test_a_refused_write_is_tried_again(store, storage):
    book = ReceiptBook(storage, interval=3600)
    crash_id = create_crash_id(HOUR)
    book.add(crash_id, HOUR)
    store.fail_keys = ("v1/received/",)
    assert not book.flush()
    assert list(storage.list_receipts(HOUR)) == []
    store.fail_keys = ()
    assert book.flush()
    assert list(storage.list_receipts(HOUR)) == [crash_id]


def test_the_newest_receipts_are_kept_when_storage_refuses_for_long(store, storage):
    book = ReceiptBook(storage, interval=3600, max_pending=3)
    ids = [create_crash_id(HOUR) for _ in range(5)]
    store.fail_keys = ("v1/received/",)
    for crash_id in ids:
        book.add(crash_id, HOUR)
        book.flush()
    store.fail_keys = ()
    assert book.flush()
    assert sorted(storage.list_receipts(HOUR)) == sorted(ids[2:])


def test_a_thread_writes_them_out_and_close_writes_the_rest(storage):
    book = ReceiptBook(storage, interval=0.05)
    crash_id = create_crash_id(HOUR)
    book.add(crash_id, HOUR)
    deadline = time.monotonic() + 10
    while not list(storage.list_receipts(HOUR)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert list(storage.list_receipts(HOUR)) == [crash_id]
    last = create_crash_id(HOUR)
    book.close()
    book.add(last, HOUR)
    book.close()
    assert sorted(storage.list_receipts(HOUR)) == sorted([crash_id, last])
