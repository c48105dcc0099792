"""Crashes the collector stored but could not queue are republished, then forgotten."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from crashline.common.crashid import create_crash_id
from crashline.common.pending import republish_pending
from crashline.common.queue import QueueError, QueueNames, RabbitMQ
from crashline.common.storage import storage_from_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def storage(settings, tmp_path):
    return storage_from_settings(settings.model_copy(update={"storage_path": tmp_path}))


@pytest.fixture
def queue(settings, rabbitmq_client):
    names = QueueNames(f"{settings.queue_prefix}-{uuid.uuid4().hex[:6]}")
    q = RabbitMQ(settings.rabbitmq_url, names)
    q.connect()
    yield q
    for name in q.names.all:
        q.channel.queue_delete(queue=name)
    q.close()


def test_pending_crashes_are_published_to_their_queue_then_deleted(storage, queue):
    ids = [create_crash_id() for _ in range(3)]
    for crash_id in ids[:2]:
        storage.put_pending_publish(crash_id, {"queue": queue.names.standard, "reason": "down"})
    storage.put_pending_publish(ids[2], {"queue": queue.names.priority, "reason": "down"})

    report = republish_pending(storage, queue)

    assert (report.published, report.failed) == (3, 0)
    assert list(storage.list_pending_publish()) == []
    standard = {queue.get(queue.names.standard).body for _ in range(2)}
    assert standard == set(ids[:2])
    assert queue.get(queue.names.priority).body == ids[2]


def test_a_failed_publish_keeps_the_record(storage, queue, monkeypatch):
    crash_id = create_crash_id()
    storage.put_pending_publish(crash_id, {"queue": queue.names.standard, "reason": "down"})

    def refuse(queue_name, body, headers=None):
        raise QueueError("still down")

    monkeypatch.setattr(queue, "publish", refuse)
    report = republish_pending(storage, queue)
    assert (report.published, report.failed) == (0, 1)
    assert [cid for cid, _ in storage.list_pending_publish()] == [crash_id]


def test_command_lists_and_publishes(storage, queue, crashline_env, tmp_path):
    crash_id = create_crash_id()
    storage.put_pending_publish(crash_id, {"queue": queue.names.standard, "reason": "down"})
    env = {**crashline_env, "CRASHLINE_STORAGE_PATH": str(storage.store.root),
           "CRASHLINE_QUEUE_PREFIX": queue.names.prefix}
    crashline = str(Path(sys.executable).parent / "crashline")
    listed = subprocess.run([crashline, "pending", "list"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith(crash_id)
    published = subprocess.run([crashline, "pending", "publish"], env=env, capture_output=True,
                               text=True, timeout=60)
    assert published.returncode == 0, published.stderr
    assert "published 1" in published.stdout
    assert queue.get(queue.names.standard).body == crash_id
