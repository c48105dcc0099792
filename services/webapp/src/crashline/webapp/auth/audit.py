"""The audit log: every change to users, permissions, tokens and the site, by whom.

Entries are written inside the transaction of the change they record, so a change is
never made without its entry, nor an entry written for a change that failed.
"""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass

from psycopg2.extras import Json

from crashline.common.database import Database


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    details: dict


def cli_actor() -> str:
    """Who runs ``crashline admin``: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def record(cur, actor: str, action: str, target: str = "", **details: object) -> None:
    """Write an entry with ``cur``, in the caller's transaction."""
    cur.execute("INSERT INTO audit_log (actor, action, target, details) VALUES (%s, %s, %s, %s)",
                (actor, action, target, Json(details)))


class AuditLog:
    def __init__(self, db: Database):
        self.db = db

    def entries(self, limit: int, offset: int = 0) -> tuple[int, list[AuditEntry]]:
        """(how many in all, a page of entries, newest first)."""
        [total] = self.db.fetch_all("SELECT count(*) AS n FROM audit_log")
        rows = self.db.fetch_all("SELECT id, at, actor, action, target, details FROM audit_log "
                                 "ORDER BY at DESC, id DESC LIMIT %s OFFSET %s", (limit, offset))
        return total["n"], [AuditEntry(**row) for row in rows]
