"""Retries and the failed queue.

A transient failure is retried in this process after a growing delay (the shared
:class:`~crashline.common.retry.Backoff` schedule, kept here in a heap so the worker never
sleeps on it); the message stays
unacknowledged meanwhile (if the process dies the broker hands it to another worker), and
the worker thread goes on with other crashes. After ``max_attempts`` the message is published
to ``<prefix>.failed`` with the reason in its headers and only then acknowledged, so a crash
is never dropped silently, marked transient or not (``crashline.common.failed``);
``crashline failed list|requeue`` shows and resends them.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(order=True)
class _Due:
    when: float
    seq: int
    item: Any = field(compare=False)


class RetrySchedule:
    """Items waiting for their retry time (a heap; the consumer thread owns it)."""

    def __init__(self, clock=time.monotonic):
        self._heap: list[_Due] = []
        self._seq = itertools.count()
        self.clock = clock

    def add(self, item: Any, delay: float) -> None:
        heapq.heappush(self._heap, _Due(self.clock() + delay, next(self._seq), item))

    def pop_due(self) -> Any | None:
        """The earliest item whose time has come, or None."""
        if self._heap and self._heap[0].when <= self.clock():
            return heapq.heappop(self._heap).item
        return None

    def drain(self) -> list[Any]:
        items = [d.item for d in self._heap]
        self._heap.clear()
        return items

    def next_in(self) -> float | None:
        return max(0.0, self._heap[0].when - self.clock()) if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)
