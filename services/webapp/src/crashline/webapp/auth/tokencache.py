"""Resolved API tokens kept in memory, so that a busy client's requests cost no lookup.

Each entry keeps the accounts' generation it was resolved under: a counter that triggers
move forward with every change that can alter what a token may do (migration 0800). The
statement that counts an API request against its rate limits reads the counter too, and an
entry is trusted only while the counter has not moved: a revocation holds from the moment
its transaction commits, in every worker, however it was made (pages, API, ``crashline
admin``, plain SQL), and a cached token costs no round trip of its own. A request that did
not read the counter (rate limits off, or their database call failed) looks its token up.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass

from crashline.webapp.auth.principal import Principal


@dataclass
class CachedToken:
    principal: Principal
    expires_at: dt.datetime
    generation: int
    touched_at: float  # time.monotonic() of the last write of its last_used_at


class TokenCache:
    """Tokens by key digest, the ``size`` used most recently (0: no cache)."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[str, CachedToken] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, digest: str) -> CachedToken | None:
        """The entry, whatever its generation (the rate limiter's guess of the user)."""
        with self._lock:
            return self._entries.get(digest)

    def get(self, digest: str, generation: int, now: dt.datetime | None = None
            ) -> CachedToken | None:
        """The entry if nothing changed since it was resolved and it has not expired."""
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if entry.generation != generation or entry.expires_at <= (
                    now or dt.datetime.now(dt.UTC)):
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
            return entry

    def put(self, digest: str, entry: CachedToken) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[digest] = entry
            self._entries.move_to_end(digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
