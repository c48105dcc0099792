"""prune-log: delete run-log rows older than ``CRASHLINE_CRONTABBER_LOG_RETENTION_DAYS``."""

from __future__ import annotations

import datetime as dt

from crashline.crontabber.job import JobContext
from crashline.crontabber.state import StateStore


def run(context: JobContext) -> dict:
    keep = dt.timedelta(days=context.settings.crontabber_log_retention_days)
    return {"deleted": StateStore(context.db).prune_log(context.slot - keep)}
