"""RabbitMQ connections shared by a worker's requests.

Each publish borrows one connection from a small pool (pika connections must not be used by
two requests at once). Under gevent a thread-local connection would mean one connection per
client connection, opened by every new client and never closed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from crashline.common.queue import QueueNames, RabbitMQ


class PublisherPool:
    def __init__(self, url: str, names: QueueNames, size: int, **client_kwargs):
        self.url = url
        self.names = names
        self.client_kwargs = client_kwargs  # passed on to each RabbitMQ connection
        self._slots = threading.BoundedSemaphore(size)
        self._idle: queue.LifoQueue[RabbitMQ] = queue.LifoQueue()

    @contextmanager
    def _client(self) -> Iterator[RabbitMQ]:
        with self._slots:
            try:
                client = self._idle.get_nowait()
            except queue.Empty:
                client = RabbitMQ(self.url, self.names, **self.client_kwargs)
            try:
                yield client
            finally:
                self._idle.put(client)

    def publish(self, queue: str, body: str, headers: Mapping[str, object] | None = None) -> None:
        with self._client() as client:
            client.publish(queue, body, headers)

    def check(self) -> None:
        with self._client() as client:
            client.check()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
