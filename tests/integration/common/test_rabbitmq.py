"""The RabbitMQ adapter against the real broker."""

from __future__ import annotations

import uuid

import pika
import pytest

from crashline.common.queue import QueueError, QueueNames, RabbitMQ

pytestmark = pytest.mark.integration


@pytest.fixture
def names(settings):
    return QueueNames(f"{settings.queue_prefix}-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def client(settings, rabbitmq_client, names):
    c = RabbitMQ(settings.rabbitmq_url, names, prefetch=10)
    c.connect()
    yield c
    for name in names.all:
        try:
            c.channel.queue_delete(queue=name)
        except Exception:
            c.close()
    c.close()


def test_declares_durable_queues(client, names):
    for name in names.all:
        # A passive declare with durable=True fails if the queue is not durable.
        client.channel.queue_declare(queue=name, durable=True, passive=True)
    assert client.depths() == dict.fromkeys(names.all, 0)


def test_publish_with_confirm_then_get_and_ack(client, names):
    client.publish(names.standard, "de1bb258-cbbf-4589-a673-34f800160918")
    client.publish(names.standard, "de1bb258-cbbf-4589-a673-34f800160919:regenerate_signature")
    assert client.depth(names.standard) == 2

    first = client.get(names.standard)
    second = client.get(names.standard)
    assert first.crash_id == "de1bb258-cbbf-4589-a673-34f800160918"
    assert first.ruleset == "default"
    assert second.crash_id == "de1bb258-cbbf-4589-a673-34f800160919"
    assert second.ruleset == "regenerate_signature"
    assert client.get(names.standard) is None
    assert client.ack(first) and client.ack(second)
    client.close()
    client.connect()
    assert client.depth(names.standard) == 0


def test_messages_are_persistent(client, names):
    client.publish(names.priority, "x")
    method, props, body = client.channel.basic_get(names.priority, auto_ack=True)
    assert props.delivery_mode == pika.DeliveryMode.Persistent.value
    assert body == b"x"


def test_headers_travel_with_the_message(client, names):
    client.publish(names.failed, "x", headers={"reason": "boom", "attempts": 3})
    message = client.get(names.failed)
    assert message.headers == {"reason": "boom", "attempts": 3}
    client.ack(message)


def test_unacked_message_is_redelivered_after_the_consumer_connection_drops(
    settings, client, names
):
    client.publish(names.standard, "work-item")
    consumer = RabbitMQ(settings.rabbitmq_url, names)
    taken = consumer.get(names.standard)
    assert taken.body == "work-item" and not taken.redelivered
    consumer._connection.close()  # the worker dies without acking

    again = client.get(names.standard)
    assert again is not None
    assert again.body == "work-item"
    assert again.redelivered
    client.ack(again)


def test_acks_from_a_dead_connection_are_refused_not_misapplied(settings, client, names):
    """After a reconnect, an old delivery tag must not ack some other message."""
    client.publish(names.standard, "a")
    consumer = RabbitMQ(settings.rabbitmq_url, names)
    old = consumer.get(names.standard)
    consumer._connection.close()
    consumer.connect()  # a new connection; tag numbers start again at 1
    client.publish(names.standard, "b")
    assert consumer.ack(old) is False  # the broker will redeliver "a"
    bodies = set()
    for _ in range(2):
        message = consumer.get(names.standard)
        bodies.add(message.body)
        assert consumer.ack(message)
    assert bodies == {"a", "b"}
    consumer.close()


def test_publisher_reconnects_after_a_dropped_connection(client, names):
    client.publish(names.standard, "before")
    client._connection.close()  # e.g. a broker restart closed it
    client.publish(names.standard, "after")
    assert client.depth(names.standard) == 2


def test_unreachable_broker_is_a_clear_error(names):
    dead = RabbitMQ("amqp://guest:guest@127.0.0.1:1/%2F", names, connect_attempts=1,
                    retry_delay=0)
    with pytest.raises(QueueError, match="127.0.0.1:1"):
        dead.check()
