"""Reprocessing the crashes whose symbols arrived late.

Two steps, both idempotent, run by the upload itself (at once, so a fix shows in seconds) and
by the crontabber's ``reprocess-symbols`` job every minute (what the upload could not finish,
and the crashes that were being processed while the symbols arrived):

- :meth:`SymbolReprocessing.scan` looks up, in the search engine, the crashes of the last
  ``days`` days that list the new symbols in ``missing_symbol_files``, and adds them to a
  backlog in PostgreSQL (one row per crash and symbol file, so a crash is never queued twice
  for the same file, and a crash that still misses it after its reprocessing is not queued
  in a loop).
- :meth:`SymbolReprocessing.drain` moves crashes from the backlog to the reprocessing queue,
  oldest first, with the reason in a message header. It queues nothing while fresh crashes
  wait in the priority or standard queue, and keeps at most ``max_queued`` crashes waiting in
  the reprocessing queue, so a thousand crashes found at once never stand before a fresh
  one (the processors' weighted fetching gives fresh crashes ten turns in eleven besides).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from psycopg2.extras import execute_values

from crashline.common.database import Database
from crashline.common.queue import REASON_HEADER, QueueNames
from crashline.common.search import SearchBackend

log = logging.getLogger(__name__)

FIELD = "missing_symbol_files"  # the search field listing what a crash missed
PAGE = 1000                    # crashes per search request
MODULES_PER_QUERY = 1000       # symbol files per terms query


class Publisher(Protocol):
    def publish(self, queue: str, body: str, headers=None) -> None: ...

    def depth(self, queue: str) -> int: ...


@dataclass
class DrainReport:
    queued: int = 0      # crashes put on the reprocessing queue
    waiting: int = 0     # crashes left in the backlog
    paused: str = ""     # why nothing more was queued


def reason_text(modules: Sequence[str]) -> str:
    shown = ", ".join(modules[:3])
    more = f" and {len(modules) - 3} more" if len(modules) > 3 else ""
    return f"symbols arrived for {shown}{more}"


class SymbolReprocessing:
    def __init__(self, db: Database, search: SearchBackend, publisher: Publisher,
                 names: QueueNames, *, days: int = 7, max_queued: int = 1000,
                 grace: dt.timedelta = dt.timedelta(minutes=10)):
        """``grace``: how long after an upload the job looks again for crashes that missed
        the file (those being processed while it arrived)."""
        self.db = db
        self.search = search
        self.publisher = publisher
        self.names = names
        self.days = days
        self.max_queued = max_queued
        self.grace = grace

    # -- finding the crashes ------------------------------------------------------------
    def scan(self, modules: Iterable[str] | None = None,
             now: dt.datetime | None = None) -> int:
        """Add the crashes of the last ``days`` days that missed the symbols of ``modules``
        (``<debug_file>/<debug_id>``; None: the files not looked at yet, and those that
        arrived within the grace time) to the backlog; how many rows were new."""
        now = now or dt.datetime.now(dt.UTC)
        if modules is None:
            rows = self.db.fetch_all(
                "SELECT debug_file, debug_id FROM symbol_files "
                "WHERE scanned_at IS NULL OR uploaded_at > %s", (now - self.grace,))
            modules = [f"{r['debug_file']}/{r['debug_id']}" for r in rows]
        modules = sorted(set(modules))
        if not modules:
            return 0
        found: list[tuple[str, str, dt.datetime]] = []
        for start in range(0, len(modules), MODULES_PER_QUERY):
            batch = modules[start:start + MODULES_PER_QUERY]
            found.extend((crash_id, module, now)
                         for crash_id, module in self.affected_crashes(batch, now))
        added = 0
        with self.db.transaction() as cur:
            if found:
                added = len(execute_values(
                    cur, "INSERT INTO symbol_reprocessing (crash_id, module, found_at) VALUES %s "
                         "ON CONFLICT DO NOTHING RETURNING 1", found, page_size=1000,
                    fetch=True))
            cur.execute(
                "UPDATE symbol_files SET scanned_at = %s WHERE (debug_file, debug_id) IN "
                "(SELECT * FROM unnest(%s::text[], %s::text[]))",
                (now, [m.rsplit("/", 1)[0] for m in modules],
                 [m.rsplit("/", 1)[1] for m in modules]))
        if found:
            log.info("symbols of %d module(s) arrived: %d crash(es) missed them, %d new to "
                     "reprocess", len(modules), len({f[0] for f in found}), added)
        return added

    def affected_crashes(self, modules: Sequence[str],
                         now: dt.datetime) -> Iterable[tuple[str, str]]:
        """(crash id, module) for each crash of the last ``days`` days missing one of
        ``modules``."""
        start = now - dt.timedelta(days=self.days)
        wanted = set(self.search.namer.for_range(start, now))
        indices = [name for name in self.search.existing_indices() if name in wanted]
        if not indices:
            return
        wanted_modules = set(modules)
        body: dict = {
            "query": {"bool": {"filter": [
                {"terms": {FIELD: list(modules)}},
                {"range": {"date": {"gte": start.isoformat()}}},
            ]}},
            "_source": [FIELD],
            "sort": [{"crash_id": "asc"}],
            "size": PAGE,
            "track_total_hits": False,
        }
        while True:
            hits = self.search.search(indices, body)["hits"]["hits"]
            for hit in hits:
                missed = (hit.get("_source") or {}).get(FIELD) or []
                for module in [missed] if isinstance(missed, str) else missed:
                    if module in wanted_modules:
                        yield hit["_id"], module
            if len(hits) < PAGE:
                return
            body["search_after"] = hits[-1]["sort"]

    # -- queueing them ------------------------------------------------------------------
    def drain(self, now: dt.datetime | None = None) -> DrainReport:
        """Queue crashes of the backlog for reprocessing, as many as there is room for."""
        now = now or dt.datetime.now(dt.UTC)
        report = DrainReport()
        fresh = sum(self.publisher.depth(q) for q in (self.names.priority, self.names.standard))
        room = self.max_queued - self.publisher.depth(self.names.reprocessing)
        if fresh:
            report.paused = f"{fresh} fresh crash(es) waiting"
        elif room <= 0:
            report.paused = "the reprocessing queue is full"
        else:
            with self.db.transaction() as cur:
                cur.execute("SELECT crash_id, module FROM symbol_reprocessing "
                            "WHERE queued_at IS NULL ORDER BY found_at, crash_id LIMIT %s "
                            "FOR UPDATE SKIP LOCKED", (room,))
                by_crash: dict[str, list[str]] = {}
                for row in cur.fetchall():
                    by_crash.setdefault(row["crash_id"], []).append(row["module"])
                # A crash whose rows were cut by the limit gets them all: one reprocessing.
                if by_crash:
                    cur.execute("SELECT crash_id, module FROM symbol_reprocessing WHERE "
                                "queued_at IS NULL AND crash_id = ANY(%s) FOR UPDATE",
                                (list(by_crash),))
                    for row in cur.fetchall():
                        if row["module"] not in by_crash[row["crash_id"]]:
                            by_crash[row["crash_id"]].append(row["module"])
                for crash_id, modules in by_crash.items():
                    self.publisher.publish(self.names.reprocessing, crash_id,
                                           {REASON_HEADER: reason_text(sorted(modules))})
                cur.execute("UPDATE symbol_reprocessing SET queued_at = %s "
                            "WHERE queued_at IS NULL AND crash_id = ANY(%s)",
                            (now, list(by_crash)))
            report.queued = len(by_crash)
        with self.db.transaction() as cur:
            cur.execute("SELECT count(DISTINCT crash_id) AS n FROM symbol_reprocessing "
                        "WHERE queued_at IS NULL")
            report.waiting = cur.fetchone()["n"]
        return report

    def forget(self, now: dt.datetime | None = None) -> int:
        """Delete backlog rows queued longer ago than the window (their crashes are out of
        it): how many."""
        now = now or dt.datetime.now(dt.UTC)
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM symbol_reprocessing WHERE queued_at < %s",
                        (now - dt.timedelta(days=self.days),))
            return cur.rowcount
