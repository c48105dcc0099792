"""The consumer against the real RabbitMQ: a stop that waits for a long crash keeps the
connection alive, so the crash in hand is acked, not handed out again."""

from __future__ import annotations

import threading
import time

import pytest

from crashline.common.crashid import create_crash_id
from crashline.common.queue import QueueNames, RabbitMQ
from crashline.processor.consumer import Consumer
from crashline.processor.processor import Outcome, Result

pytestmark = pytest.mark.integration

HEARTBEAT = 1  # seconds; the broker drops a connection that misses two of them


class SlowProcessor:
    """Takes several heartbeat intervals over each crash, like a long stack walk."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.started = threading.Event()

    def start(self, job, done):
        self.started.set()
        time.sleep(self.seconds)
        done(Outcome(Result.SAVED))


def test_stopping_during_a_long_crash_keeps_the_connection_and_acks(settings, rabbitmq_client):
    names = QueueNames(f"{settings.queue_prefix}-shutdown")
    client = RabbitMQ(settings.rabbitmq_url, names, heartbeat=HEARTBEAT)
    processor = SlowProcessor(seconds=HEARTBEAT * 6)
    consumer = Consumer(client, processor, workers=1, idle_delay=0.05)
    client.connect()
    client.publish(names.standard, create_crash_id())
    runner = threading.Thread(target=consumer.run)
    runner.start()
    try:
        assert processor.started.wait(30)
        consumer.stop()  # SIGTERM while the crash is in hand
        runner.join(60)
        assert not runner.is_alive()
        checker = RabbitMQ(settings.rabbitmq_url, names)
        try:
            # Acked before the connection closed: nothing comes back to the queue.
            assert checker.depth(names.standard) == 0
        finally:
            for name in names.all:
                checker.channel.queue_delete(queue=name)
            checker.close()
    finally:
        consumer.stop()
        runner.join(60)
