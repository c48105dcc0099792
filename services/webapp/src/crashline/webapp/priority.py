"""Queue an unprocessed crash on the priority queue when someone asks for it, at most once
per interval per crash (shared by every worker through PostgreSQL)."""

from __future__ import annotations

import logging
import threading
import time

from crashline.common.database import Database
from crashline.common.database.pool import DatabaseError
from crashline.webapp.errors import unavailable

log = logging.getLogger(__name__)


class PriorityRequests:
    def __init__(self, db: Database, publisher, queue: str, interval: int):
        self.db = db
        self.publisher = publisher
        self.queue = queue
        self.interval = interval
        self._last_cleanup = 0.0
        self._lock = threading.Lock()

    def request(self, crash_id: str) -> bool:
        """Publish ``crash_id`` unless it was published less than ``interval`` seconds ago;
        True if published. If publishing fails the claim is rolled back, so the next request
        tries again."""
        try:
            with self.db.transaction() as cur:
                cur.execute(
                    "INSERT INTO priority_requests (crash_id, requested_at) VALUES (%s, now()) "
                    "ON CONFLICT (crash_id) DO UPDATE SET requested_at = now() "
                    "WHERE priority_requests.requested_at <= now() - make_interval(secs => %s) "
                    "RETURNING crash_id", (crash_id, self.interval))
                if cur.fetchone() is None:
                    return False
                self.publisher.publish(self.queue, crash_id)
        except DatabaseError as exc:
            log.warning("priority request for %s failed: %s", crash_id, exc)
            raise unavailable("The database") from None
        except Exception as exc:  # the broker: the transaction above rolled back
            log.warning("publishing %s to %s failed: %s", crash_id, self.queue, exc)
            raise unavailable("The queue") from None
        self._cleanup()
        return True

    def _cleanup(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last_cleanup < 3600:
                return
            self._last_cleanup = now
        try:
            with self.db.transaction() as cur:
                cur.execute("DELETE FROM priority_requests WHERE requested_at < now() - "
                            "make_interval(secs => %s)", (max(self.interval, 3600),))
        except DatabaseError as exc:
            log.warning("priority request cleanup failed: %s", exc)
