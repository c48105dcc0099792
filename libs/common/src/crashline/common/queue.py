"""RabbitMQ adapter (pika): durable queues, confirmed publishing, manual acks.

Contract (DESIGN.md §3): durable queues ``<prefix>.standard``, ``.priority``,
``.reprocessing`` and the dead-letter queue ``.failed``; persistent messages whose body is a
crash id, optionally ``<id>:<ruleset>``. Publishing waits for the broker's confirm.

Delivery is at-least-once: a message is acked only after its work is safe; if the connection
drops first, the broker redelivers it. Acks for deliveries of a connection that has since
dropped are ignored on purpose: the broker will redeliver those messages, and processing is
idempotent, so nothing acknowledged is lost and nothing is lost unacknowledged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import pika
import pika.exceptions

from crashline.common.retry import Backoff

log = logging.getLogger(__name__)

# Connection-level failures after which we reconnect and try again.
CONNECTION_ERRORS = (
    pika.exceptions.AMQPConnectionError,
    pika.exceptions.AMQPChannelError,
    pika.exceptions.StreamLostError,
    ConnectionError,
    OSError,
)


# The longest wait between two connection attempts.
RECONNECT_MAX_DELAY = 10.0

# Message header saying why a crash is queued again; the processor notes it in the crash's
# history.
REASON_HEADER = "x-crashline-reason"


class QueueError(Exception):
    """The broker could not be reached, or refused a message."""


@dataclass(frozen=True)
class QueueNames:
    prefix: str = "crashline"

    @property
    def standard(self) -> str:
        return f"{self.prefix}.standard"

    @property
    def priority(self) -> str:
        return f"{self.prefix}.priority"

    @property
    def reprocessing(self) -> str:
        return f"{self.prefix}.reprocessing"

    @property
    def failed(self) -> str:
        return f"{self.prefix}.failed"

    @property
    def all(self) -> tuple[str, ...]:
        return (self.standard, self.priority, self.reprocessing, self.failed)


@dataclass(frozen=True)
class Message:
    queue: str
    body: str
    delivery_tag: int
    redelivered: bool = False
    headers: Mapping[str, object] = field(default_factory=dict)
    connection_generation: int = 0

    @property
    def crash_id(self) -> str:
        return self.body.split(":", 1)[0]

    @property
    def ruleset(self) -> str:
        return self.body.split(":", 1)[1] if ":" in self.body else "default"

    def header(self, name: str) -> str:
        """A header as text ('' if absent; pika may hand strings over as bytes)."""
        value = self.headers.get(name)
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


class RabbitMQ:
    """One connection and channel. Not thread-safe: use one instance per thread."""

    def __init__(
        self,
        url: str,
        names: QueueNames | None = None,
        *,
        prefetch: int = 1,
        heartbeat: int = 60,
        connect_attempts: int = 3,
        retry_delay: float = 0.5,
    ):
        self.params = pika.URLParameters(url)
        self.params.heartbeat = heartbeat
        self.params.blocked_connection_timeout = 30
        self.params.connection_attempts = 1
        self.names = names or QueueNames()
        self.prefetch = prefetch
        self.connect_backoff = Backoff(connect_attempts, retry_delay, RECONNECT_MAX_DELAY)
        self._connection: pika.BlockingConnection | None = None
        self._channel = None
        self.generation = 0  # bumped on every (re)connect, see module docstring

    # -- connection ---------------------------------------------------------------------
    def connect(self) -> None:
        if self._channel is not None and self._channel.is_open:
            return
        self.close()
        try:
            self.connect_backoff.run(self._open, CONNECTION_ERRORS,
                                     what=f"connecting to RabbitMQ at {self._where()}")
        except CONNECTION_ERRORS as exc:
            raise QueueError(f"cannot connect to RabbitMQ at {self._where()}: {exc!r}") from exc

    def _open(self) -> None:
        try:
            self._connection = pika.BlockingConnection(self.params)
            channel = self._connection.channel()
            channel.confirm_delivery()
            channel.basic_qos(prefetch_count=self.prefetch)
            for name in self.names.all:
                channel.queue_declare(queue=name, durable=True)
        except CONNECTION_ERRORS:
            self.close()
            raise
        self._channel = channel
        self.generation += 1

    def _where(self) -> str:
        return f"{self.params.host}:{self.params.port}"

    def close(self) -> None:
        conn, self._connection, self._channel = self._connection, None, None
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except Exception:  # closing a broken connection: nothing left to save
                log.debug("error closing RabbitMQ connection", exc_info=True)

    @property
    def channel(self):
        self.connect()
        return self._channel

    def _retrying(self, what: str, func):
        """Run ``func`` once more on a fresh connection if the connection broke."""
        try:
            return func()
        except CONNECTION_ERRORS as exc:
            log.warning("rabbitmq %s failed (%r); reconnecting", what, exc)
            self.close()
            try:
                return func()
            except CONNECTION_ERRORS as exc2:
                self.close()
                raise QueueError(f"rabbitmq {what} failed: {exc2!r}") from exc2

    # -- publishing ---------------------------------------------------------------------
    def publish(self, queue: str, body: str, headers: Mapping[str, object] | None = None) -> None:
        """Publish a persistent message and wait for the broker's confirm."""
        props = pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent,
            content_type="text/plain",
            headers=dict(headers) if headers else None,
        )

        def send():
            try:
                self.channel.basic_publish(
                    exchange="", routing_key=queue, body=body.encode("utf-8"),
                    properties=props, mandatory=True,
                )
            except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
                raise QueueError(f"broker refused message for {queue}: {exc!r}") from exc

        self._retrying("publish", send)

    # -- consuming ----------------------------------------------------------------------
    def get(self, queue: str) -> Message | None:
        """Take one message (manual ack) or None if the queue is empty."""

        def fetch():
            method, props, body = self.channel.basic_get(queue=queue, auto_ack=False)
            if method is None:
                return None
            return self._message(queue, method, props, body)

        return self._retrying("get", fetch)

    def ack(self, message: Message) -> bool:
        """Ack a message; False if its connection is gone (the broker will redeliver it)."""
        if message.connection_generation != self.generation or self._channel is None:
            return False
        try:
            self._channel.basic_ack(delivery_tag=message.delivery_tag)
            return True
        except CONNECTION_ERRORS:
            self.close()
            return False

    def nack(self, message: Message, requeue: bool = True) -> bool:
        if message.connection_generation != self.generation or self._channel is None:
            return False
        try:
            self._channel.basic_nack(delivery_tag=message.delivery_tag, requeue=requeue)
            return True
        except CONNECTION_ERRORS:
            self.close()
            return False

    def _message(self, queue, method, props, body) -> Message:
        return Message(
            queue=queue,
            body=body.decode("utf-8", errors="replace"),
            delivery_tag=method.delivery_tag,
            redelivered=bool(method.redelivered),
            headers=dict(props.headers or {}),
            connection_generation=self.generation,
        )

    # -- inspection and admin -----------------------------------------------------------
    def depth(self, queue: str) -> int:
        def declare():
            return self.channel.queue_declare(queue=queue, durable=True, passive=True)

        return self._retrying("depth", declare).method.message_count

    def depths(self) -> dict[str, int]:
        return {name: self.depth(name) for name in self.names.all}

    def check(self) -> None:
        """Raise :class:`QueueError` unless the broker answers and the queues exist."""
        try:
            self.depths()
        except CONNECTION_ERRORS as exc:
            raise QueueError(f"RabbitMQ at {self._where()} does not answer: {exc!r}") from exc


class ThreadLocalPublisher:
    """A publisher per thread, for multi-threaded web workers (pika is not thread-safe)."""

    def __init__(self, url: str, names: QueueNames | None = None, **client_kwargs):
        self.url = url
        self.names = names or QueueNames()
        self.client_kwargs = client_kwargs  # passed on to each thread's RabbitMQ
        self._local = threading.local()

    def _client(self) -> RabbitMQ:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = RabbitMQ(self.url, self.names, **self.client_kwargs)
        return client

    def close(self) -> None:
        """Close this thread's connection (others close with their threads)."""
        client = getattr(self._local, "client", None)
        if client is not None:
            client.close()

    def publish(self, queue: str, body: str, headers: Mapping[str, object] | None = None) -> None:
        self._client().publish(queue, body, headers)

    def depth(self, queue: str) -> int:
        return self._client().depth(queue)

    def depths(self) -> dict[str, int]:
        return self._client().depths()

    def check(self) -> None:
        self._client().check()


def queue_from_settings(settings=None, **kwargs) -> RabbitMQ:
    from crashline.common.settings import get_settings

    settings = settings or get_settings()
    return RabbitMQ(settings.rabbitmq_url, QueueNames(settings.queue_prefix), **kwargs)
