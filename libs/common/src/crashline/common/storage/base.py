"""The crash-storage interface.

Backends implement the small :class:`ObjectStore` (bytes under keys); :class:`CrashStorage`
turns that into crash-level operations so the key layout lives in one place for every
backend. The order in which a crash's parts are written (the raw crash last) is
:meth:`CrashStorage.save_raw_crash`'s; :meth:`ObjectStore.put_in_order` keeps it while
writing the objects of one step at once.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor
from typing import BinaryIO

import orjson

from crashline.common.crashid import validate_crash_id
from crashline.common.storage import keys

_BATCH_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$")


class StorageError(Exception):
    """The backend failed (I/O, network); the operation may succeed if retried."""


class CrashNotFound(KeyError):
    """No object under that key: the crash (or this part of it) is not stored."""

    def __str__(self) -> str:  # KeyError quotes its argument; say it plainly
        return str(self.args[0]) if self.args else "not found"


class ObjectStore(ABC):
    """Bytes under string keys. ``put`` must be atomic: a reader sees all or nothing.

    ``executor`` (None: the calling thread, one write at a time) runs the writes of
    :meth:`put_in_order`, several at once: an event loop hands blocking disk writes to native
    threads this way, and network writes overlap.
    """

    executor: Executor | None = None

    @abstractmethod
    def put(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, file: BinaryIO) -> None:
        """Store a seekable binary file's contents from its start; backends override this to
        stream big objects instead of holding them in memory."""
        file.seek(0)
        self.put(key, file.read())

    def put_data(self, key: str, data: bytes | BinaryIO) -> None:
        """:meth:`put` for bytes, :meth:`put_file` for a seekable binary file."""
        if isinstance(data, bytes | bytearray | memoryview):
            self.put(key, bytes(data))
        else:
            self.put_file(key, data)

    def put_in_order(self, steps: Sequence[Mapping[str, bytes | BinaryIO]]) -> None:
        """Store every object of ``steps``, step after step: each object of a step is stored
        (durably, where the backend's writes are) before any object of the next step is
        written. The objects of one step are written at once through the executor."""
        for step in steps:
            if self.executor is None or len(step) == 0:
                for key, data in step.items():
                    self.put_data(key, data)
                continue
            futures = [self.executor.submit(self.put_data, key, data)
                       for key, data in step.items()]
            # Wait for every write (each cleans up after itself) before raising the first error.
            errors = [future.exception() for future in futures]
            for error in errors:
                if error is not None:
                    raise error

    @abstractmethod
    def get(self, key: str) -> bytes:
        """Return the object, or raise :class:`CrashNotFound`."""

    def open(self, key: str) -> tuple[BinaryIO, int]:
        """A stream of the object and its size, for objects too big to hold in memory (the
        caller closes it); raise :class:`CrashNotFound`. Backends override this to stream."""
        data = self.get(key)
        return io.BytesIO(data), len(data)

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object if present (no error if absent)."""

    @abstractmethod
    def list_keys(self, prefix: str) -> Iterator[str]:
        """Keys under ``prefix``, in lexical order."""

    def check(self) -> None:
        """Raise :class:`StorageError` if the backend cannot be read and written."""
        probe = "_healthcheck/probe"
        self.put_in_order([{probe: b"ok"}])
        if self.get(probe) != b"ok":
            raise StorageError(f"read-back mismatch in {self.describe()}")

    def describe(self) -> str:
        return type(self).__name__


def _dumps_json(document: object) -> bytes:
    """Compact JSON with sorted keys. orjson is 10x faster on a processed crash (its
    ``json_dump`` runs to megabytes); what it refuses (integers over 64 bits, keys that are
    not strings) goes through json as before."""
    try:
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _loads_json(data: bytes) -> object:
    try:
        return orjson.loads(data)
    except ValueError:  # orjson.JSONDecodeError: NaN, huge integers, ... as json had them
        return json.loads(data)


class CrashStorage:
    """Crash-level reads and writes over an :class:`ObjectStore`."""

    def __init__(self, store: ObjectStore):
        self.store = store

    # -- writing a raw crash (the collector) -------------------------------------------
    def put_dump(self, crash_id: str, dump_name: str, data: bytes | BinaryIO) -> None:
        """``data`` is bytes, or a seekable binary file for dumps too big for memory."""
        self.store.put_data(keys.dump_key(validate_crash_id(crash_id), dump_name), data)

    def put_dump_names(self, crash_id: str, dump_names: list[str]) -> None:
        self.store.put(keys.dump_names_key(validate_crash_id(crash_id)), _dumps_json(dump_names))

    def put_raw_crash(self, crash_id: str, raw_crash: Mapping) -> None:
        self.store.put(keys.raw_crash_key(validate_crash_id(crash_id)), _dumps_json(raw_crash))

    def save_raw_crash(self, crash_id: str, raw_crash: Mapping,
                       dumps: Mapping[str, bytes | BinaryIO]) -> None:
        """Store a whole crash. The one place of the write order: the dumps and the dump
        names (at once), then the raw crash, so a stored raw crash means a complete crash.
        Every write is idempotent, so after a failure the whole save can simply run again."""
        validate_crash_id(crash_id)
        parts: dict[str, bytes | BinaryIO] = {
            keys.dump_key(crash_id, name): data for name, data in dumps.items()}
        parts[keys.dump_names_key(crash_id)] = _dumps_json(sorted(dumps))
        self.store.put_in_order(
            [parts, {keys.raw_crash_key(crash_id): _dumps_json(raw_crash)}])

    # -- reading a raw crash (the processor, the webapp) ---------------------------------
    def get_raw_crash(self, crash_id: str) -> dict:
        return _loads_json(self.store.get(keys.raw_crash_key(validate_crash_id(crash_id))))

    def has_raw_crash(self, crash_id: str) -> bool:
        return self.store.exists(keys.raw_crash_key(validate_crash_id(crash_id)))

    def get_dump_names(self, crash_id: str) -> list[str]:
        try:
            return _loads_json(self.store.get(keys.dump_names_key(validate_crash_id(crash_id))))
        except CrashNotFound:
            return []

    def get_dump(self, crash_id: str, dump_name: str = keys.MAIN_DUMP) -> bytes:
        return self.store.get(keys.dump_key(validate_crash_id(crash_id), dump_name))

    def get_dumps(self, crash_id: str) -> dict[str, bytes]:
        return {name: self.get_dump(crash_id, name) for name in self.get_dump_names(crash_id)}

    def list_raw_crashes(self, day: dt.date) -> Iterator[str]:
        """Crash ids of the raw crashes submitted on ``day`` (UTC)."""
        prefix = keys.raw_crash_day_prefix(day)
        for key in self.store.list_keys(prefix):
            yield key[len(prefix):]

    # -- processed crashes (the processor writes, the webapp reads) ------------------------
    def put_processed_crash(self, crash_id: str, processed_crash: Mapping) -> None:
        key = keys.processed_crash_key(validate_crash_id(crash_id))
        self.store.put(key, _dumps_json(processed_crash))

    def get_processed_crash(self, crash_id: str) -> dict:
        return _loads_json(self.store.get(keys.processed_crash_key(validate_crash_id(crash_id))))

    def has_processed_crash(self, crash_id: str) -> bool:
        return self.store.exists(keys.processed_crash_key(validate_crash_id(crash_id)))

    # -- crashes stored but not yet queued (the collector writes, a periodic job requeues) --
    def put_pending_publish(self, crash_id: str, record: Mapping) -> None:
        """Note that a stored crash still has to be queued (``record``: queue, reason, time)."""
        self.store.put_in_order(
            [{keys.pending_publish_key(validate_crash_id(crash_id)): _dumps_json(record)}])

    def list_pending_publish(self) -> Iterator[tuple[str, dict]]:
        """``(crash_id, record)`` for every crash waiting to be queued, oldest key first."""
        prefix = keys.PENDING_PUBLISH_PREFIX
        for key in self.store.list_keys(prefix):
            try:
                record = _loads_json(self.store.get(key))
            except CrashNotFound:  # deleted by someone else since the listing
                continue
            yield key[len(prefix):], record

    def delete_pending_publish(self, crash_id: str) -> None:
        self.store.delete(keys.pending_publish_key(validate_crash_id(crash_id)))

    # -- receipts: what the collector accepted, by hour (the collector writes, the ledger
    # counts) ------------------------------------------------------------------------------
    def put_receipts(self, hour: dt.datetime, batch: str, crash_ids: Sequence[str]) -> None:
        """A batch of the collector's receipts: crashes it accepted (and stored) in the UTC
        hour starting at ``hour``. ``batch`` names the writer and its flush, so a retried
        write replaces itself."""
        if hour.tzinfo is None:
            raise ValueError("the hour of receipts must be timezone-aware")
        if not _BATCH_RE.match(batch):
            raise ValueError(f"not a receipt batch name: {batch!r}")
        for crash_id in crash_ids:
            validate_crash_id(crash_id)
        self.store.put_in_order([{keys.received_key(hour, batch): "\n".join(crash_ids).encode()}])

    def list_receipts(self, hour: dt.datetime) -> Iterator[str]:
        """Crash ids received in the UTC hour that starts at ``hour``."""
        for key in self.store.list_keys(keys.received_hour_prefix(hour)):
            try:
                data = self.store.get(key)
            except CrashNotFound:  # deleted (retention) since the listing
                continue
            yield from (line for line in data.decode("utf-8", "replace").split("\n") if line)

    def delete_receipts(self, hour: dt.datetime) -> int:
        """Delete an hour's receipts; the number of batches deleted."""
        batches = list(self.store.list_keys(keys.received_hour_prefix(hour)))
        for key in batches:
            self.store.delete(key)
        return len(batches)

    # -- removal (rejected crashes, retention) -------------------------------------------
    def delete_crash(self, crash_id: str) -> None:
        """Remove every object of a crash, raw crash first so it never looks complete."""
        validate_crash_id(crash_id)
        names = self.get_dump_names(crash_id)
        self.store.delete(keys.raw_crash_key(crash_id))
        self.store.delete(keys.processed_crash_key(crash_id))
        for name in names:
            self.store.delete(keys.dump_key(crash_id, name))
        self.store.delete(keys.dump_names_key(crash_id))

    def check(self) -> None:
        self.store.check()

    def describe(self) -> str:
        return self.store.describe()
