"""Storing crashes in tests the way the collector does: through its crash mover, so tests
read exactly what production writes (dumps, the dump names, then the raw crash)."""

from __future__ import annotations

from collections.abc import Mapping

from crashline.collector.mover import CrashMover
from crashline.common.retry import Backoff
from crashline.common.storage import CrashStorage


class _NoQueue:
    def publish(self, queue: str, body: str) -> None:
        raise AssertionError("store_crash only stores; tests publish what they need")


def store_crash(storage: CrashStorage, crash_id: str, raw_crash: Mapping,
                dumps: Mapping[str, bytes]) -> None:
    once = Backoff(1, 0, 0)  # a test's storage does not fail; if it does, say so at once
    mover = CrashMover(storage, _NoQueue(), "", save_backoff=once, publish_backoff=once)
    mover.save(crash_id, raw_crash, {name: (lambda d=data: d) for name, data in dumps.items()})
