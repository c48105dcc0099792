"""The crash mover: store a crash (in the write order of ``CrashStorage.save_raw_crash``),
then queue its id.

Every step is retried with exponential backoff. If storage keeps failing the crash is not
acknowledged (:class:`SaveFailed`: the client keeps the report and retries later). If only
the queue keeps failing the crash is safe in storage, so it is acknowledged and its id is
recorded under ``v1/pending_publish/<id>`` for a periodic job to queue later.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import BinaryIO, Protocol, TypeVar

from crashline.collector import metrics
from crashline.collector.receipts import ReceiptBook
from crashline.common.crashid import validate_crash_id
from crashline.common.retry import Backoff
from crashline.common.storage import CrashStorage, StorageError

log = logging.getLogger(__name__)
T = TypeVar("T")


class Publisher(Protocol):
    def publish(self, queue: str, body: str) -> None: ...


class SaveFailed(Exception):
    """Storage failed after every attempt; nothing acknowledged."""


class CrashMover:
    def __init__(self, storage: CrashStorage, publisher: Publisher, queue: str, *,
                 save_backoff: Backoff, publish_backoff: Backoff,
                 receipts: ReceiptBook | None = None):
        self.storage = storage
        self.receipts = receipts
        self.publisher = publisher
        self.queue = queue
        self.save_backoff = save_backoff
        self.publish_backoff = publish_backoff

    @staticmethod
    def _retrying(backoff: Backoff, stage: str, what: str, func: Callable[[], T],
                  retry_on: tuple[type[BaseException], ...]) -> T:
        return backoff.run(func, retry_on, what=what,
                           on_retry=lambda _: metrics.RETRIES.labels(stage).inc())

    def save(self, crash_id: str, raw_crash: Mapping,
             dumps: Mapping[str, Callable[[], bytes | BinaryIO]],
             received_at: dt.datetime | None = None) -> None:
        """Store the crash through :meth:`CrashStorage.save_raw_crash` (which owns the write
        order), retried as a whole; raise SaveFailed when every attempt failed. Then note
        the receipt the ledger counts as received (written out in batches: receipts.py).

        ``dumps`` maps names to callables giving the content (called again on each attempt,
        so a spooled file is rewound). An invalid ``crash_id`` raises
        :class:`~crashline.common.crashid.InvalidCrashId` at once: retrying cannot help."""
        validate_crash_id(crash_id)
        start = time.perf_counter()
        retry_on = (StorageError, OSError)
        try:
            self._retrying(
                self.save_backoff, "save", f"{crash_id}: storing",
                lambda: self.storage.save_raw_crash(
                    crash_id, raw_crash, {name: data() for name, data in dumps.items()}),
                retry_on)
        except retry_on as exc:
            metrics.FAILURES.labels("save").inc()
            log.error("%s: too many errors trying to save; not acknowledged: %s", crash_id, exc)
            raise SaveFailed(str(exc)) from exc
        finally:
            metrics.SAVE_SECONDS.observe(time.perf_counter() - start)
        log.debug("%s: saved", crash_id)
        if self.receipts is not None:
            self.receipts.add(crash_id, received_at or dt.datetime.now(dt.UTC))

    def publish(self, crash_id: str) -> bool:
        """Queue the id; on failure record it as pending and return False."""
        start = time.perf_counter()
        try:
            # Whatever the client library raises, the crash is stored: record and go on.
            self._retrying(
                self.publish_backoff, "publish", f"{crash_id}: publishing to {self.queue}",
                lambda: self.publisher.publish(self.queue, crash_id), (Exception,))
        except Exception as exc:
            metrics.FAILURES.labels("publish").inc()
            log.error("%s: too many errors trying to publish: %r", crash_id, exc)
            self._record_pending(crash_id, repr(exc))
            return False
        finally:
            metrics.PUBLISH_SECONDS.observe(time.perf_counter() - start)
        log.debug("%s: published", crash_id)
        return True

    def _record_pending(self, crash_id: str, reason: str) -> None:
        record = {"queue": self.queue, "reason": reason[:500],
                  "time": dt.datetime.now(dt.UTC).isoformat()}
        try:
            self._retrying(
                self.save_backoff, "save", f"{crash_id}: recording pending publish",
                lambda: self.storage.put_pending_publish(crash_id, record),
                (StorageError, OSError))
        except (StorageError, OSError) as exc:
            # The crash itself is stored: a sweep over raw crashes without processed crashes
            # still finds it. Say so loudly.
            metrics.FAILURES.labels("pending_publish").inc()
            log.error("%s: stored but neither queued nor recorded as pending: %s", crash_id, exc)
            return
        metrics.PENDING_PUBLISH.inc()
        log.warning("%s: stored, not queued; recorded under v1/pending_publish/", crash_id)
