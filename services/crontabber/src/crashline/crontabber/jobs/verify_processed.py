"""verify-processed: every raw crash of the recent closed days must have a processed crash
and a search document. Those that lack either are recorded in
``missing_processed_crashes`` (the ``MissingProcessedCrash`` API) and queued for
reprocessing; later runs look at the open records again and mark those found in both
places. This also catches crashes whose publish failed at the collector and were never
recorded as pending.

Crashes deferred by the throttler (stored, never meant to be processed) and crashes still
pending publish (republish-pending queues them) are not counted as missing.
"""

from __future__ import annotations

import datetime as dt
import logging

from psycopg2.extras import execute_values

from crashline.common.crashid import Throttle, is_valid_crash_id, throttle_from_crash_id
from crashline.crontabber import metrics
from crashline.crontabber.crashes import existing, indexed_among
from crashline.crontabber.job import JobContext

log = logging.getLogger(__name__)

_RECORD_SQL = """
INSERT INTO missing_processed_crashes (crash_id, missing, created, checked_at) VALUES %s
ON CONFLICT (crash_id) DO UPDATE SET is_processed = false, missing = EXCLUDED.missing,
    checked_at = EXCLUDED.checked_at
"""


def days_to_check(slot: dt.datetime, days: int) -> list[dt.date]:
    """The ``days`` whole UTC days before the slot's day, oldest first."""
    today = slot.astimezone(dt.UTC).date()
    return [today - dt.timedelta(days=n) for n in range(days, 0, -1)]


def expected_crashes(crash_ids: list[str], pending: set[str]) -> list[str]:
    """The stored crashes that should have been processed by now."""
    return [cid for cid in crash_ids
            if is_valid_crash_id(cid) and throttle_from_crash_id(cid) is not Throttle.DEFER
            and cid not in pending]


def run(context: JobContext) -> dict:
    settings = context.settings
    storage, search = context.backends.storage, context.backends.search
    threads = settings.crontabber_storage_threads
    now = context.now()
    indices = search.existing_indices()

    found_again = recheck(context, indices, now)

    pending = {cid for cid, _ in storage.list_pending_publish()}
    missing: dict[str, list[str]] = {}
    checked = 0
    for day in days_to_check(context.slot, settings.crontabber_verify_days):
        crash_ids = expected_crashes(list(storage.list_raw_crashes(day)), pending)
        checked += len(crash_ids)
        processed = existing(storage.has_processed_crash, crash_ids, threads)
        indexed = indexed_among(search, indices, crash_ids)
        for cid in crash_ids:
            what = [name for name, place in (("processed", processed), ("indexed", indexed))
                    if cid not in place]
            if what:
                missing[cid] = what
    if missing:
        with context.db.transaction() as cur:
            execute_values(cur, _RECORD_SQL,
                           [(cid, what, now, now) for cid, what in sorted(missing.items())])
        queue = context.backends.queue
        for cid in sorted(missing):
            queue.publish(queue.names.reprocessing, cid)
        log.warning("%d stored crashes were not processed or not indexed; queued again: %s",
                    len(missing), ", ".join(sorted(missing)[:20]))
    metrics.MISSING_FOUND.inc(len(missing))
    with context.db.transaction() as cur:
        cur.execute("SELECT count(*) AS open FROM missing_processed_crashes WHERE NOT is_processed")
        still_open = cur.fetchone()["open"]
    metrics.MISSING_OPEN.set(still_open)
    return {"checked": checked, "missing": len(missing), "found_again": found_again,
            "open": still_open}


def recheck(context: JobContext, indices: list[str], now: dt.datetime) -> int:
    """Mark the open records whose crash is now processed and indexed; forget those whose
    raw crash is gone (retention). The number marked."""
    storage = context.backends.storage
    limit = context.settings.crontabber_verify_recheck_limit
    with context.db.transaction() as cur:
        cur.execute("SELECT crash_id FROM missing_processed_crashes WHERE NOT is_processed "
                    "ORDER BY created LIMIT %s", (limit,))
        open_ids = [row["crash_id"] for row in cur.fetchall()]
    if not open_ids:
        return 0
    threads = context.settings.crontabber_storage_threads
    valid = [cid for cid in open_ids if is_valid_crash_id(cid)]
    stored = existing(storage.has_raw_crash, valid, threads)
    processed = existing(storage.has_processed_crash, stored, threads)
    found = sorted(processed & indexed_among(context.backends.search, indices, processed))
    gone = sorted(set(open_ids) - stored)
    with context.db.transaction() as cur:
        cur.execute("UPDATE missing_processed_crashes SET is_processed = true, checked_at = %s "
                    "WHERE crash_id = ANY(%s)", (now, found))
        cur.execute("DELETE FROM missing_processed_crashes WHERE crash_id = ANY(%s)", (gone,))
    return len(found)
