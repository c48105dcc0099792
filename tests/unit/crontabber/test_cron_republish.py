"""republish-pending fails, keeping the records, when the broker refuses some crashes."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from crashline.common.crashid import create_crash_id
from crashline.common.queue import QueueError, QueueNames
from crashline.common.storage import CrashStorage
from crashline.common.storage.local import LocalObjectStore
from crashline.crontabber.job import JobContext, JobError
from crashline.crontabber.jobs import republish_pending
from crashline.crontabber.settings import CrontabberSettings


class RefusingQueue:
    """Answers its health check, then refuses one crash in two."""

    names = QueueNames("unit")

    def __init__(self):
        self.published: list[str] = []
        self.calls = 0

    def check(self) -> None:
        return None

    def publish(self, queue: str, body: str) -> None:
        self.calls += 1
        if self.calls % 2 == 0:
            raise QueueError("refused")
        self.published.append(body)


def test_refused_crashes_fail_the_job_and_stay_pending(tmp_path):
    storage = CrashStorage(LocalObjectStore(tmp_path, fsync=False))
    ids = [create_crash_id() for _ in range(4)]
    for crash_id in ids:
        storage.put_pending_publish(crash_id, {"reason": "down"})
    queue = RefusingQueue()
    context = JobContext(CrontabberSettings(), SimpleNamespace(storage=storage, queue=queue),
                         dt.datetime.now(dt.UTC))
    with pytest.raises(JobError, match="2 crash"):
        republish_pending.run(context)
    left = {cid for cid, _ in storage.list_pending_publish()}
    assert len(queue.published) == 2 and left == set(ids) - set(queue.published)
