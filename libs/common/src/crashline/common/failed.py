"""The failed (dead-letter) queue: crashes a processor gave up on, with why in the headers.

The processor publishes a crash to ``<prefix>.failed`` with :func:`failure_headers` and only
then acknowledges it, so a crash is never dropped silently. ``crashline failed`` and the
crontabber's failed-crashes job read them back with :func:`take_failed` and send them back
with :func:`requeue`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from crashline.common.queue import Message, QueueNames, RabbitMQ
from crashline.common.timestamps import parse_timestamp

H_REASON = "x-crashline-reason"
H_ATTEMPTS = "x-crashline-attempts"
H_QUEUE = "x-crashline-queue"
H_FAILED_AT = "x-crashline-failed-at"
# "true" when the crash failed only because a backend kept failing (it may work later),
# "false" when it will never work as it is (a bad id, a rule that breaks on it).
H_TRANSIENT = "x-crashline-transient"


def failure_headers(message: Message, reason: str, attempts: int,
                    transient: bool = False) -> dict[str, Any]:
    return {
        H_REASON: reason[:1000],
        H_ATTEMPTS: attempts,
        H_QUEUE: message.queue,
        H_FAILED_AT: dt.datetime.now(dt.UTC).isoformat(),
        H_TRANSIENT: "true" if transient else "false",
    }


@dataclass
class FailedCrash:
    message: Message

    @property
    def body(self) -> str:
        return self.message.body

    @property
    def reason(self) -> str:
        return self.message.header(H_REASON)

    @property
    def attempts(self) -> int:
        return int(self.message.headers.get(H_ATTEMPTS, 0) or 0)

    @property
    def queue(self) -> str:
        return self.message.header(H_QUEUE)

    @property
    def failed_at(self) -> str:
        return self.message.header(H_FAILED_AT)

    @property
    def transient(self) -> bool:
        return self.message.header(H_TRANSIENT) == "true"

    def failed_at_time(self) -> dt.datetime | None:
        return parse_timestamp(self.failed_at)


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
