"""storage-retention: delete the crashes (raw crash, dumps, processed crash, receipts)
received more than ``CRASHLINE_CRONTABBER_STORAGE_RETENTION_DAYS`` days ago, on local disk
and S3 alike. Off by default (0: keep everything).

Each run looks at the ``CRASHLINE_CRONTABBER_STORAGE_RETENTION_SCAN_DAYS`` days before the
limit, oldest first, so a daily run also catches up after a pause. On S3 a bucket lifecycle
rule does the same work without listing or deleting a key (see the README); this job is
then only needed for local disk, or to keep the receipts and crashes in step.
"""

from __future__ import annotations

import datetime as dt
import logging

from crashline.crontabber import metrics
from crashline.crontabber.job import JobContext
from crashline.crontabber.settings import CrontabberSettings

log = logging.getLogger(__name__)


def disabled(settings: CrontabberSettings) -> str | None:
    if settings.crontabber_storage_retention_days == 0:
        return "CRASHLINE_CRONTABBER_STORAGE_RETENTION_DAYS is 0 (keep crashes forever)"
    return None


def run(context: JobContext) -> dict:
    settings = context.settings
    storage = context.backends.storage
    limit = (context.slot - dt.timedelta(days=settings.crontabber_storage_retention_days)).date()
    first = limit - dt.timedelta(days=settings.crontabber_storage_retention_scan_days)
    deleted = receipts = 0
    day = first
    while day < limit:
        for crash_id in list(storage.list_raw_crashes(day)):
            storage.delete_crash(crash_id)
            deleted += 1
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        for hour in range(24):
            receipts += storage.delete_receipts(start + dt.timedelta(hours=hour))
        day += dt.timedelta(days=1)
    metrics.CRASHES_EXPIRED.inc(deleted)
    if deleted:
        log.info("deleted %d crashes received from %s to %s", deleted, first, limit)
    return {"deleted": deleted, "receipt_batches_deleted": receipts, "from": first.isoformat(),
            "before": limit.isoformat()}
