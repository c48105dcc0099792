"""Facts about stored crashes that several jobs need."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from crashline.common.crashid import InvalidCrashId, date_from_crash_id
from crashline.common.search import SearchBackend
from crashline.common.storage import CrashNotFound, CrashStorage
from crashline.common.timestamps import submitted_at


def received_at(crash_id: str, raw_crash: Mapping) -> dt.datetime:
    """When the collector received the crash (as the processor reads it), else the start of
    the day in its id."""
    when = submitted_at(raw_crash)
    if when is not None:
        return when
    day = date_from_crash_id(crash_id)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def stored_received_at(storage: CrashStorage, crash_id: str) -> dt.datetime | None:
    """:func:`received_at` of a stored crash; None if it is not stored or not a crash id."""
    try:
        return received_at(crash_id, storage.get_raw_crash(crash_id))
    except (CrashNotFound, InvalidCrashId):
        return None


def existing(check: Callable[[str], bool], crash_ids: Iterable[str], threads: int) -> set[str]:
    """The crash ids for which ``check`` (a storage existence test) is true, asked
    ``threads`` at a time: each is a round trip to S3."""
    crash_ids = list(crash_ids)
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(crash_ids)))) as pool:
        found = pool.map(check, crash_ids)
        return {cid for cid, ok in zip(crash_ids, found, strict=True) if ok}


def indexed_among(search: SearchBackend, indices: list[str], crash_ids: Iterable[str],
                  batch: int = 1000) -> set[str]:
    """The crash ids that have a search document in one of ``indices``."""
    crash_ids = sorted(set(crash_ids))
    found: set[str] = set()
    for start in range(0, len(crash_ids), batch):
        chunk = crash_ids[start:start + batch]
        # A crash indexed in two weeks' indices has two hits: room for every copy.
        size = min(len(chunk) * max(1, len(indices)), 100_000)
        result = search.search(indices, {"query": {"ids": {"values": chunk}},
                                         "size": size, "_source": False})
        found.update(hit["_id"] for hit in result["hits"]["hits"])
    return found
