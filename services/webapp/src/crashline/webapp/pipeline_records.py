"""What the crontabber records in PostgreSQL about the pipeline (its jobs' state, crashes
verify-processed found missing, the ledger's hours and the crash ids behind their
differences), read for the API and the pages alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from crashline.common.database import Database


class PipelineRecords:
    """Reads only; a DatabaseError makes the app answer 503."""

    def __init__(self, db: Database):
        self.db = db

    def missing_crashes(self, is_processed: bool | None, limit: int,
                        offset: int) -> tuple[int, list[dict]]:
        """(how many, ``[{crash_id, is_processed, created, missing}]`` newest first)."""
        where, args = ("TRUE", ()) if is_processed is None else ("is_processed = %s",
                                                                 (is_processed,))
        [total] = self.db.fetch_all(
            f"SELECT count(*) AS n FROM missing_processed_crashes WHERE {where}", args)
        rows = self.db.fetch_all(
            "SELECT crash_id, is_processed, created, missing FROM missing_processed_crashes "
            f"WHERE {where} ORDER BY created DESC, crash_id LIMIT %s OFFSET %s",
            (*args, limit, offset))
        return total["n"], rows

    def ledger_hours(self, start: dt.datetime, end: dt.datetime,
                     unbalanced_only: bool = False) -> list[dict]:
        """The counted hours in [start, end), newest first."""
        only = "AND NOT balanced" if unbalanced_only else ""
        return self.db.fetch_all("SELECT * FROM ledger_hours WHERE hour >= %s AND hour < %s "
                           f"{only} ORDER BY hour DESC", (start, end))

    def difference_samples(self, hours: Sequence[dt.datetime],
                           per_kind: int) -> dict[tuple[dt.datetime, str], list[str]]:
        """(hour, kind) -> the first ``per_kind`` crash ids of that difference."""
        if not hours:
            return {}
        rows = self.db.fetch_all(
            "SELECT hour, kind, crash_id FROM (SELECT *, row_number() OVER (PARTITION BY "
            "hour, kind ORDER BY crash_id) AS n FROM ledger_differences WHERE hour = ANY(%s)) "
            "AS d WHERE n <= %s ORDER BY hour, kind, crash_id", (list(hours), per_kind))
        samples: dict[tuple[dt.datetime, str], list[str]] = {}
        for row in rows:
            samples.setdefault((row["hour"], row["kind"]), []).append(row["crash_id"])
        return samples

    def difference_crashes(self, hour: dt.datetime, kind: str, limit: int,
                           offset: int) -> tuple[int, list[str]]:
        """(how many, a page of the crash ids) of one hour's difference."""
        [total] = self.db.fetch_all("SELECT count(*) AS n FROM ledger_differences "
                              "WHERE hour = %s AND kind = %s", (hour, kind))
        rows = self.db.fetch_all("SELECT crash_id FROM ledger_differences WHERE hour = %s "
                           "AND kind = %s ORDER BY crash_id LIMIT %s OFFSET %s",
                           (hour, kind, limit, offset))
        return total["n"], [row["crash_id"] for row in rows]

    def cron_jobs(self) -> list[dict]:
        """The crontabber's state of every job it has seen (``cron_jobs`` rows), by name."""
        return self.db.fetch_all("SELECT * FROM cron_jobs ORDER BY name")

    def missing_counts(self) -> dict[str, int]:
        """Crashes verify-processed found missing: still ``open``, ``found`` since."""
        [row] = self.db.fetch_all(
            "SELECT count(*) FILTER (WHERE NOT is_processed) AS open, "
            "count(*) FILTER (WHERE is_processed) AS found FROM missing_processed_crashes")
        return dict(row)
