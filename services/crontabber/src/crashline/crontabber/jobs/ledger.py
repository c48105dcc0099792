"""ledger: per closed hour, count the crashes received, stored, processed and indexed (see
``crashline.crontabber.ledger``), keep the counts and the crash ids behind every difference
in PostgreSQL (the ``Ledger`` API serves them), and export the differences as metrics.

Stages are read downstream first (search documents, then processed crashes, then raw crashes
and receipts), so a crash moving on while an hour is counted shows as lagging, never as
having skipped a stage.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from psycopg2.extras import Json, execute_values

from crashline.common.crashid import date_from_crash_id, is_valid_crash_id
from crashline.common.ledger import KINDS
from crashline.common.search import SearchBackend
from crashline.common.storage import CrashStorage
from crashline.crontabber import metrics
from crashline.crontabber.crashes import existing, stored_received_at
from crashline.crontabber.job import JobContext
from crashline.crontabber.ledger import HourCount, hours_to_count, reconcile

log = logging.getLogger(__name__)

HOUR = dt.timedelta(hours=1)
PAGE = 1000


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat()


def indexed_in_hour(search: SearchBackend, hour: dt.datetime) -> Iterator[str]:
    """The crash id of every search document received in the hour, index by index (so a
    crash in two indices is yielded twice), a page at a time."""
    existing_indices = set(search.existing_indices())
    for index in search.namer.for_range(hour, hour + HOUR - dt.timedelta(microseconds=1)):
        if index not in existing_indices:
            continue
        body: dict = {"query": {"range": {"date": {"gte": _iso(hour), "lt": _iso(hour + HOUR)}}},
                      "size": PAGE, "_source": False, "sort": [{"crash_id": "asc"}]}
        while True:
            hits = search.search([index], body)["hits"]["hits"]
            for hit in hits:
                yield hit["_id"]
            if len(hits) < PAGE:
                break
            body["search_after"] = hits[-1]["sort"]


class StorageView:
    """Crash storage as the ledger reads it in one run: each day's raw crashes and each
    hour's receipts listed once, each crash without a receipt read once."""

    def __init__(self, storage: CrashStorage):
        self.storage = storage
        self._raw: dict[dt.date, set[str]] = {}
        self._receipts: dict[dt.datetime, set[str]] = {}
        self._receipted: dict[dt.date, set[str]] = {}
        self._unreceipted_hour: dict[str, dt.datetime | None] = {}

    def raw(self, day: dt.date) -> set[str]:
        if day not in self._raw:
            self._raw[day] = set(self.storage.list_raw_crashes(day))
        return self._raw[day]

    def receipts(self, hour: dt.datetime) -> set[str]:
        if hour not in self._receipts:
            self._receipts[hour] = set(self.storage.list_receipts(hour))
        return self._receipts[hour]

    def is_stored(self, crash_id: str) -> bool:
        return is_valid_crash_id(crash_id) and crash_id in self.raw(date_from_crash_id(crash_id))

    def stored_in_hour(self, hour: dt.datetime, received: set[str]) -> set[str]:
        """The hour's stored crashes: those with a receipt whose raw crash exists, and
        those of the hour's day with no receipt that day, placed by their raw crash."""
        stored = {cid for cid in received if self.is_stored(cid)}
        day = hour.date()
        if day not in self._receipted:
            start = hour.replace(hour=0)
            self._receipted[day] = set().union(*(self.receipts(start + n * HOUR)
                                                 for n in range(24)))
        for cid in self.raw(day) - self._receipted[day]:
            if cid not in self._unreceipted_hour:
                when = stored_received_at(self.storage, cid)
                self._unreceipted_hour[cid] = when and when.replace(minute=0, second=0,
                                                                    microsecond=0)
            if self._unreceipted_hour[cid] == hour:
                stored.add(cid)
        return stored


def count_hour(context: JobContext, view: StorageView, hour: dt.datetime) -> HourCount:
    storage, search = context.backends.storage, context.backends.search
    indexed = list(indexed_in_hour(search, hour))
    received = view.receipts(hour)
    stored = view.stored_in_hour(hour, received)
    processed = existing(storage.has_processed_crash, stored | set(indexed),
                         context.settings.crontabber_storage_threads)
    return reconcile(hour, received, stored, processed, indexed)


_HOUR_SQL = """
INSERT INTO ledger_hours (hour, received, stored, deferred, processed, indexed, differences,
                          balanced, counted_at)
VALUES (%(hour)s, %(received)s, %(stored)s, %(deferred)s, %(processed)s, %(indexed)s,
        %(differences)s, %(balanced)s, %(counted_at)s)
ON CONFLICT (hour) DO UPDATE SET received = EXCLUDED.received, stored = EXCLUDED.stored,
    deferred = EXCLUDED.deferred, processed = EXCLUDED.processed, indexed = EXCLUDED.indexed,
    differences = EXCLUDED.differences, balanced = EXCLUDED.balanced,
    counted_at = EXCLUDED.counted_at
"""


def save(context: JobContext, count: HourCount) -> None:
    most = context.settings.crontabber_ledger_max_ids
    rows = [(count.hour, kind, cid) for kind in KINDS
            for cid in sorted(count.differences.get(kind, ()))[:most]]
    with context.db.transaction() as cur:
        cur.execute(_HOUR_SQL, {
            "hour": count.hour, "received": count.received, "stored": count.stored,
            "deferred": count.deferred, "processed": count.processed, "indexed": count.indexed,
            "differences": Json(count.difference_counts()), "balanced": count.balanced,
            "counted_at": context.now()})
        cur.execute("DELETE FROM ledger_differences WHERE hour = %s", (count.hour,))
        if rows:
            execute_values(cur, "INSERT INTO ledger_differences (hour, kind, crash_id) "
                                "VALUES %s", rows)


def run(context: JobContext) -> dict:
    settings = context.settings
    recheck = settings.crontabber_ledger_recheck_hours
    window_start = context.slot - recheck * HOUR
    with context.db.transaction() as cur:
        cur.execute("SELECT hour, balanced FROM ledger_hours WHERE hour >= %s",
                    (window_start,))
        counted = {row["hour"]: row["balanced"] for row in cur.fetchall()}
    hours = hours_to_count(context.slot, counted, settings.crontabber_ledger_recount_hours,
                           recheck)
    view = StorageView(context.backends.storage)
    unbalanced = []
    for hour in hours:
        count = count_hour(context, view, hour)
        save(context, count)
        if not count.balanced:
            unbalanced.append(hour.isoformat())
            log.warning("ledger: hour %s does not balance: %s", hour.isoformat(),
                        {k: n for k, n in count.difference_counts().items() if n})
        if hour == hours[-1]:
            for stage in ("received", "stored", "deferred", "processed", "indexed"):
                metrics.LEDGER_LAST_HOUR.labels(stage).set(getattr(count, stage))
    export(context, window_start)
    return {"counted": len(hours), "unbalanced": unbalanced}


def export(context: JobContext, since: dt.datetime) -> None:
    """The differences of every hour still checked, as gauges."""
    with context.db.transaction() as cur:
        cur.execute("SELECT differences, balanced FROM ledger_hours WHERE hour >= %s",
                    (since,))
        rows = cur.fetchall()
    totals = dict.fromkeys(KINDS, 0)
    for row in rows:
        for kind, n in row["differences"].items():
            totals[kind] = totals.get(kind, 0) + n
    for kind, n in totals.items():
        metrics.LEDGER_DIFFERENCES.labels(kind).set(n)
    metrics.LEDGER_UNBALANCED.set(sum(1 for row in rows if not row["balanced"]))
