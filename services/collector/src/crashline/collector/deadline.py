"""A whole-body deadline: every read of one request body shares one time budget (and
yields to the worker's other requests).

A socket timeout bounds each wait for data, which a client defeats by sending a byte every
few seconds; the deadline bounds them all together. It needs the gevent worker (a
``gevent.Timeout`` interrupts a blocked read); elsewhere (tests, a thread) reads of a body
already in memory never block, and the timer never fires.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent


class DeadlineExceeded(Exception):
    """The body did not arrive within its deadline."""


class Deadline:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return self._end - self._clock()

    def call(self, func: Callable[..., bytes], *args) -> bytes:
        """``func(*args)``, or :class:`DeadlineExceeded` if the deadline passes first."""
        remaining = self.remaining()
        if remaining <= 0:
            raise DeadlineExceeded(f"not received within {self.seconds}s")
        timer = gevent.Timeout(remaining)
        timer.start()
        try:
            data = func(*args)
            # A read of data that is already there does not yield: let the worker's other
            # requests run between pieces, however fast this client sends.
            gevent.sleep(0)
            return data
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            raise DeadlineExceeded(f"not received within {self.seconds}s") from None
        finally:
            timer.close()
