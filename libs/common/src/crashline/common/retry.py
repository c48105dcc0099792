"""Exponential back-off: the one retry schedule of Crashline.

A :class:`Backoff` is a policy: ``attempts`` tries in all, waiting ``first`` seconds after
the first failure and twice as long after each next one, never more than ``maximum``.
:meth:`Backoff.run` retries a call in place, sleeping between attempts and never after the
last (the collector's crash mover, connecting to RabbitMQ). Code that must not block asks
:meth:`Backoff.delay` when to try again and keeps its own timetable (the processor's
consumer parks a crash in a heap and goes on with others).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

# 2**64 times any first delay is past every sane maximum; larger powers only risk overflow.
_MAX_DOUBLINGS = 64


@dataclass(frozen=True)
class Backoff:
    attempts: int
    first: float
    maximum: float
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"a back-off needs at least one attempt, not {self.attempts}")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (counted from 1)."""
        return min(self.maximum, self.first * 2 ** min(max(attempt - 1, 0), _MAX_DOUBLINGS))

    def run(self, func: Callable[[], T], retry_on: tuple[type[BaseException], ...], *,
            what: str, on_retry: Callable[[BaseException], None] | None = None) -> T:
        """``func()``, tried again while it raises one of ``retry_on``, up to ``attempts``
        times in all; the last failure is raised. ``on_retry(error)`` is told before each
        wait (metrics); ``what`` names the work in the log."""
        for attempt in range(1, self.attempts):
            try:
                return func()
            except retry_on as exc:
                delay = self.delay(attempt)
                log.warning("%s failed (attempt %d of %d), retrying in %.2fs: %s",
                            what, attempt, self.attempts, delay, exc)
                if on_retry is not None:
                    on_retry(exc)
                self.sleep(delay)
        return func()  # the last attempt: whatever it raises is the caller's
