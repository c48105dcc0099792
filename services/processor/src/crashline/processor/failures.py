"""Retries and the failed queue.

A transient failure is retried in this process after a growing delay (the shared
:class:`~crashline.common.retry.Backoff` schedule, kept here in a heap so the worker never
sleeps on it); the message stays
unacknowledged meanwhile (if the process dies the broker hands it to another worker), and
the worker thread goes on with other crashes. After ``max_attempts`` the message is published
to ``<prefix>.failed`` with the reason in its headers and only then acknowledged, so a crash
is never dropped silently. ``crashline failed list|requeue`` shows and resends them.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from crashline.common.queue import Message, QueueNames, RabbitMQ

H_REASON = "x-crashline-reason"
H_ATTEMPTS = "x-crashline-attempts"
H_QUEUE = "x-crashline-queue"
H_FAILED_AT = "x-crashline-failed-at"


def failure_headers(message: Message, reason: str, attempts: int) -> dict[str, Any]:
    return {
        H_REASON: reason[:1000],
        H_ATTEMPTS: attempts,
        H_QUEUE: message.queue,
        H_FAILED_AT: dt.datetime.now(dt.UTC).isoformat(),
    }


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


# -- the failed queue, for the CLI -------------------------------------------------------

@dataclass
class FailedCrash:
    message: Message

    @property
    def body(self) -> str:
        return self.message.body

    @property
    def reason(self) -> str:
        return str(self.message.headers.get(H_REASON, ""))

    @property
    def attempts(self) -> int:
        return int(self.message.headers.get(H_ATTEMPTS, 0) or 0)

    @property
    def queue(self) -> str:
        value = self.message.headers.get(H_QUEUE)
        return value.decode() if isinstance(value, bytes) else str(value or "")

    @property
    def failed_at(self) -> str:
        return str(self.message.headers.get(H_FAILED_AT, ""))


def take_failed(client: RabbitMQ) -> list[FailedCrash]:
    """Every message of the failed queue, held unacknowledged on ``client``'s channel.

    Held messages are not delivered again on the same channel, so successive gets see each
    once; closing the connection gives back the ones not acked.
    """
    names = client.names
    taken = []
    for _ in range(client.depth(names.failed)):
        message = client.get(names.failed)
        if message is None:
            break
        taken.append(FailedCrash(message))
    return taken


def requeue(client: RabbitMQ, failed: FailedCrash, names: QueueNames) -> str:
    """Publish the crash to the queue it failed in (standard if unknown), then ack it."""
    target = failed.queue if failed.queue in (names.standard, names.priority,
                                              names.reprocessing) else names.standard
    client.publish(target, failed.body)
    client.ack(failed.message)
    return target
