"""What one worker may hold in memory for the request bodies it is receiving.

Under gevent a worker serves as many requests at once as it has connections, slow ones
included, so per-request limits alone do not bound its memory: these budgets are shared by
all its requests. Dumps beyond their budget go to temporary files; annotations beyond theirs
make the request wait for a later try (:class:`Unavailable`, 503 + ``Retry-After``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path


class Unavailable(Exception):
    """The worker cannot hold this request now; the client should try again later."""


class MemoryBudget:
    def __init__(self, size: int):
        self.size = size
        self.left = size
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        """Count ``n`` more bytes held, if they fit."""
        with self._lock:
            if n > self.left:
                return False
            self.left -= n
            return True

    def give(self, n: int) -> None:
        with self._lock:
            self.left += n


@dataclass(frozen=True)
class WorkerMemory:
    dumps: MemoryBudget
    annotations: MemoryBudget
    spool_dir: Path | None = None  # where dumps go past their budget (None: the system's)

    @classmethod
    def from_limits(cls, limits) -> WorkerMemory:
        return cls(MemoryBudget(limits.dump_memory), MemoryBudget(limits.annotation_memory),
                   limits.spool_dir)
