"""The site-wide status message: a banner with a severity on every page, set by admins.

One message is shown at a time: posting a new one retires the current one. Every page reads
it, so it is cached per process for ``webapp_status_cache_seconds`` (a change made in this
process shows at once). A page never fails because the banner cannot be read.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass

from crashline.common.database import Database
from crashline.common.database.pool import DatabaseError
from crashline.webapp.auth.audit import record

log = logging.getLogger(__name__)

SEVERITIES = ("info", "warning", "critical")
MAX_LENGTH = 2000


class StatusError(ValueError):
    pass


@dataclass(frozen=True)
class StatusMessage:
    id: int
    message: str
    severity: str
    enabled: bool
    created_at: dt.datetime
    created_by: str | None


class SiteStatus:
    def __init__(self, db: Database, cache_seconds: float):
        self.db = db
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: tuple[float, StatusMessage | None] | None = None

    def current(self) -> StatusMessage | None:
        with self._lock:
            cached = self._cached
        if cached is not None and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        try:
            rows = self.db.fetch_all("SELECT * FROM status_messages WHERE enabled "
                                     "ORDER BY created_at DESC, id DESC LIMIT 1")
        except DatabaseError as exc:
            log.warning("cannot read the status message: %s", exc)
            return cached[1] if cached is not None else None
        message = StatusMessage(**rows[0]) if rows else None
        with self._lock:
            self._cached = (time.monotonic(), message)
        return message

    def recent(self, limit: int = 20) -> list[StatusMessage]:
        return [StatusMessage(**row) for row in self.db.fetch_all(
            "SELECT * FROM status_messages ORDER BY created_at DESC, id DESC LIMIT %s",
            (limit,))]

    def post(self, message: str, severity: str, actor: str) -> None:
        message = message.strip()
        if not message or len(message) > MAX_LENGTH:
            raise StatusError(f"a status message has 1 to {MAX_LENGTH} characters")
        if severity not in SEVERITIES:
            raise StatusError(f"the severity is one of {', '.join(SEVERITIES)}")
        with self.db.transaction() as cur:
            cur.execute("UPDATE status_messages SET enabled = false WHERE enabled")
            cur.execute("INSERT INTO status_messages (message, severity, created_by) "
                        "VALUES (%s, %s, %s)", (message, severity, actor))
            record(cur, actor, "status.set", severity, message=message)
        self._forget()

    def clear(self, actor: str) -> bool:
        """Retire the current message; False if there was none."""
        with self.db.transaction() as cur:
            cur.execute("UPDATE status_messages SET enabled = false WHERE enabled")
            cleared = cur.rowcount > 0
            if cleared:
                record(cur, actor, "status.clear")
        self._forget()
        return cleared

    def _forget(self) -> None:
        with self._lock:
            self._cached = None
