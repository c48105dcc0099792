"""The runner's state in PostgreSQL: a ``cron_jobs`` row per job and the ``cron_log``.

The lock is the row's ``ongoing`` column: a runner claims a job with one conditional
``UPDATE`` (free, or held by someone who stopped refreshing it), so two runners in any two
processes never run one job at once. Every later write names the holder, so a runner whose
lock was taken over cannot overwrite its successor's state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from psycopg2.extras import Json

from crashline.common.database import Database


@dataclass(frozen=True)
class JobState:
    name: str
    created_at: dt.datetime
    next_run: dt.datetime
    last_run: dt.datetime | None = None
    last_success: dt.datetime | None = None
    error_count: int = 0
    last_error: dict | None = None
    last_result: dict | None = None
    ongoing: dt.datetime | None = None
    ongoing_by: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> JobState:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class Failure:
    type: str
    value: str
    traceback: str

    def as_json(self, slot: dt.datetime, at: dt.datetime) -> dict:
        return {"type": self.type, "value": self.value, "traceback": self.traceback,
                "slot": slot.isoformat(), "at": at.isoformat()}


_LOG_SQL = """
INSERT INTO cron_log (name, slot, started_at, duration, success, result, exc_type, exc_value,
                      traceback)
VALUES (%(name)s, %(slot)s, %(started)s, %(duration)s, %(success)s, %(result)s, %(exc_type)s,
        %(exc_value)s, %(traceback)s)
"""


class StateStore:
    def __init__(self, db: Database):
        self.db = db

    # -- reading --------------------------------------------------------------------------
    def all(self) -> dict[str, JobState]:
        with self.db.transaction() as cur:
            cur.execute("SELECT * FROM cron_jobs ORDER BY name")
            return {row["name"]: JobState.from_row(row) for row in cur.fetchall()}

    def get(self, name: str) -> JobState | None:
        with self.db.transaction() as cur:
            cur.execute("SELECT * FROM cron_jobs WHERE name = %s", (name,))
            row = cur.fetchone()
        return JobState.from_row(row) if row else None

    # -- the lock -------------------------------------------------------------------------
    def ensure(self, name: str, next_run: dt.datetime, now: dt.datetime) -> None:
        """A row for a job seen for the first time, due at ``next_run``."""
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO cron_jobs (name, created_at, next_run) VALUES (%s, %s, %s)"
                        " ON CONFLICT (name) DO NOTHING", (name, now, next_run))

    def claim(self, name: str, holder: str, now: dt.datetime, stale_before: dt.datetime,
              due_only: bool = True) -> JobState | None:
        """Take the job's lock if it is free or stale (and, with ``due_only``, if the job is
        due); the job's state as of the claim, or None if someone else has it."""
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE cron_jobs SET ongoing = %(now)s, ongoing_by = %(holder)s "
                "WHERE name = %(name)s AND (ongoing IS NULL OR ongoing < %(stale)s) "
                "AND (NOT %(due_only)s OR next_run <= %(now)s) RETURNING *",
                {"name": name, "holder": holder, "now": now, "stale": stale_before,
                 "due_only": due_only})
            row = cur.fetchone()
        return JobState.from_row(row) if row else None

    def refresh(self, name: str, holder: str, now: dt.datetime) -> bool:
        """Say the holder is still alive; False if the lock was taken over."""
        with self.db.transaction() as cur:
            cur.execute("UPDATE cron_jobs SET ongoing = %s WHERE name = %s AND ongoing_by = %s",
                        (now, name, holder))
            return cur.rowcount == 1

    def release(self, name: str, holder: str, next_run: dt.datetime) -> bool:
        with self.db.transaction() as cur:
            cur.execute("UPDATE cron_jobs SET ongoing = NULL, ongoing_by = NULL, next_run = %s "
                        "WHERE name = %s AND ongoing_by = %s", (next_run, name, holder))
            return cur.rowcount == 1

    # -- results --------------------------------------------------------------------------
    def record_success(self, name: str, holder: str, slot: dt.datetime,
                       started: dt.datetime, duration: float, result: Mapping | None) -> bool:
        """Log a good slot and advance ``last_success`` to it; False if ``holder`` lost the
        lock (the log row is written anyway: the run happened)."""
        result_json = Json(dict(result)) if result else None
        with self.db.transaction() as cur:
            cur.execute(_LOG_SQL, {"name": name, "slot": slot, "started": started,
                                   "duration": duration, "success": True, "result": result_json,
                                   "exc_type": None, "exc_value": None, "traceback": None})
            cur.execute(
                "UPDATE cron_jobs SET last_success = %(slot)s, last_run = %(ended)s, "
                "error_count = 0, last_error = NULL, last_result = %(result)s "
                "WHERE name = %(name)s AND ongoing_by = %(holder)s",
                {"name": name, "holder": holder, "slot": slot, "result": result_json,
                 "ended": started + dt.timedelta(seconds=duration)})
            return cur.rowcount == 1

    def record_failure(self, name: str, holder: str, slot: dt.datetime, started: dt.datetime,
                       duration: float, failure: Failure) -> int | None:
        """Log a failed slot; the job's new error count, or None if the lock was lost."""
        ended = started + dt.timedelta(seconds=duration)
        with self.db.transaction() as cur:
            cur.execute(_LOG_SQL, {"name": name, "slot": slot, "started": started,
                                   "duration": duration, "success": False, "result": None,
                                   "exc_type": failure.type, "exc_value": failure.value,
                                   "traceback": failure.traceback})
            cur.execute(
                "UPDATE cron_jobs SET error_count = error_count + 1, last_error = %s, "
                "last_run = %s WHERE name = %s AND ongoing_by = %s RETURNING error_count",
                (Json(failure.as_json(slot, ended)), ended, name, holder))
            row = cur.fetchone()
        return row["error_count"] if row else None

    # -- by hand --------------------------------------------------------------------------
    def reset(self, name: str) -> bool:
        """Forget everything about the job (it runs again as if new); False if unknown."""
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM cron_jobs WHERE name = %s", (name,))
            return cur.rowcount == 1

    def mark_success(self, name: str, slot: dt.datetime, next_run: dt.datetime,
                     now: dt.datetime) -> None:
        """Record ``slot`` as done without running it, as a log row says."""
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO cron_jobs (name, created_at, next_run) VALUES (%s, %s, %s)"
                        " ON CONFLICT (name) DO NOTHING", (name, now, next_run))
            cur.execute(
                "UPDATE cron_jobs SET last_success = %s, error_count = 0, last_error = NULL, "
                "next_run = %s WHERE name = %s", (slot, next_run, name))
            cur.execute(_LOG_SQL, {"name": name, "slot": slot, "started": now, "duration": 0.0,
                                   "success": True, "result": Json({"marked": "by hand"}),
                                   "exc_type": None, "exc_value": None, "traceback": None})

    def prune_log(self, before: dt.datetime) -> int:
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM cron_log WHERE started_at < %s", (before,))
            return cur.rowcount
