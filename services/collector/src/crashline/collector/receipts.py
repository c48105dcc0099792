"""Receipts: the crontabber's ledger counts as *received* every crash the collector accepted
and stored, so the collector notes each one under ``v1/received/<hour>/``.

One storage write per crash would cost as much as storing the crash's dump names again, so
a request only appends its crash id to this process's book, and a thread writes the book
out every ``CRASHLINE_COLLECTOR_RECEIPT_INTERVAL`` seconds: one object per hour and flush.
A failed write is tried again at the next flush. The price is the last interval of receipts
of a process that is killed (SIGKILL, power cut): the ledger then shows those crashes as
stored without a receipt, by id, never as lost.
"""

from __future__ import annotations

import atexit
import datetime as dt
import itertools
import logging
import os
import socket
import threading
import uuid
from collections import defaultdict

from crashline.collector import metrics
from crashline.common.storage import CrashStorage, StorageError

log = logging.getLogger(__name__)


def _hour(when: dt.datetime) -> dt.datetime:
    return when.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


class ReceiptBook:
    def __init__(self, storage: CrashStorage, interval: float = 1.0,
                 max_pending: int = 100_000):
        self.storage = storage
        self.interval = interval
        self.max_pending = max_pending
        self._pending: dict[dt.datetime, list[str]] = defaultdict(list)
        self._count = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._writer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._batches = itertools.count()

    def add(self, crash_id: str, received_at: dt.datetime) -> None:
        with self._lock:
            if self._count >= self.max_pending:
                # Storage has refused every flush for a long while: keep the newest.
                oldest = min(self._pending)
                self._pending[oldest].pop(0)
                if not self._pending[oldest]:
                    del self._pending[oldest]
                self._count -= 1
                metrics.FAILURES.labels("receipt_dropped").inc()
            self._pending[_hour(received_at)].append(crash_id)
            self._count += 1
            if self._thread is None:  # started here, not at import: gunicorn forks first
                self._thread = threading.Thread(target=self._run, name="receipts",
                                                daemon=True)
                self._thread.start()
                atexit.register(self.close)

    def flush(self) -> bool:
        """Write what is pending; False if storage refused (kept for the next flush)."""
        with self._lock:
            pending, self._pending, self._count = self._pending, defaultdict(list), 0
        failed: dict[dt.datetime, list[str]] = {}
        for hour, crash_ids in sorted(pending.items()):
            batch = f"{self._writer}-{next(self._batches):08d}"
            try:
                self.storage.put_receipts(hour, batch, crash_ids)
            except (StorageError, OSError) as exc:
                metrics.FAILURES.labels("receipt").inc()
                log.warning("cannot write %d receipts of %s (trying again): %s",
                            len(crash_ids), hour.isoformat(), exc)
                failed[hour] = crash_ids
        if failed:
            with self._lock:
                for hour, crash_ids in failed.items():
                    self._pending[hour][:0] = crash_ids
                    self._count += len(crash_ids)
        return not failed

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def close(self) -> None:
        """Stop the thread and write what is left (at exit, and by gunicorn on shutdown)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.interval + 5)
        self.flush()
