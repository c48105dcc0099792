"""Fakes for the collector's unit tests: an in-memory object store and publisher."""

from __future__ import annotations

import pytest

from crashline.collector.settings import CollectorSettings
from crashline.common.storage import CrashNotFound, CrashStorage, ObjectStore, StorageError


class MemoryStore(ObjectStore):
    def __init__(self):
        self.objects: dict[str, bytes] = {}
        self.writes: list[str] = []  # keys in the order they were written
        self.fail_puts = 0  # fail this many puts, then work
        self.fail_keys: tuple[str, ...] = ()  # always fail puts of keys starting so

    def put(self, key, data):
        if self.fail_puts > 0 or key.startswith(self.fail_keys or ("\0",)):
            self.fail_puts = max(0, self.fail_puts - 1)
            raise StorageError(f"injected failure writing {key}")
        self.objects[key] = bytes(data)
        self.writes.append(key)

    def get(self, key):
        try:
            return self.objects[key]
        except KeyError:
            raise CrashNotFound(key) from None

    def exists(self, key):
        return key in self.objects

    def delete(self, key):
        self.objects.pop(key, None)

    def list_keys(self, prefix):
        yield from sorted(k for k in self.objects if k.startswith(prefix))

    def check(self):
        if self.fail_puts:
            raise StorageError("injected")


class FakePublisher:
    def __init__(self):
        self.published: list[tuple[str, str]] = []
        self.failures = 0  # fail this many publishes

    def publish(self, queue, body, headers=None):
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("injected broker failure")
        self.published.append((queue, body))

    def check(self):
        return None


@pytest.fixture
def store():
    return MemoryStore()


@pytest.fixture
def storage(store):
    return CrashStorage(store)


@pytest.fixture
def publisher():
    return FakePublisher()


@pytest.fixture
def collector_settings(tmp_path):
    return CollectorSettings(
        queue_prefix="unit", storage_path=tmp_path / "crashes", collector_retry_backoff=0,
        collector_retry_backoff_max=0, log_format="text",
    )
