"""Crash storage on local disk, for one-machine installs and ``make run``.

Keys map to paths under a root directory. Writes go to a temporary file in the same
directory, are flushed to disk and then renamed over the target, so a reader sees either
the old object or the whole new one, and an acknowledged crash survives a power cut: the
file is fsynced before the rename, its directory after it, and a directory the write had to
create is made durable in its parent too.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from pathlib import Path
from typing import BinaryIO

from crashline.common.storage.base import CrashNotFound, ObjectStore, StorageError

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
# Temporary names: unique within this process (pid in the name), without mkstemp's random
# names and retries.
_TMP_SEQUENCE = itertools.count()


def _fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalObjectStore(ObjectStore):
    def __init__(self, root: Path, fsync: bool = True, executor: Executor | None = None):
        self.root = Path(root).resolve()
        self.fsync = fsync
        self.executor = executor
        self._root = str(self.root)

    def _path(self, key: str) -> str:
        parts = key.split("/")
        if "\0" in key or not all(parts) or "." in parts or ".." in parts:
            raise ValueError(f"key escapes the storage root: {key!r}")
        # Plain relative segments stay under the root; no resolve() (a syscall per segment)
        # on the hot path of every write.
        return f"{self._root}/{key}"

    def put(self, key: str, data: bytes) -> None:
        self._write(key, lambda f: f.write(data))

    def put_file(self, key: str, file: BinaryIO) -> None:
        file.seek(0)
        self._write(key, lambda f: shutil.copyfileobj(file, f, 1024 * 1024))

    def _write(self, key: str, write: Callable[[BinaryIO], object]) -> None:
        path = self._path(key)
        folder, _, name = path.rpartition("/")
        tmp = f"{folder}/.tmp-{os.getpid()}-{next(_TMP_SEQUENCE)}-{name}"
        try:
            try:
                fd = os.open(tmp, _CREATE, 0o600)
            except FileNotFoundError:  # the folder's first object
                self._make_folder(folder)
                fd = os.open(tmp, _CREATE, 0o600)
            try:
                with os.fdopen(fd, "wb") as f:
                    write(f)
                    if self.fsync:
                        f.flush()
                        os.fsync(f.fileno())
                os.replace(tmp, path)
                if self.fsync:
                    _fsync_dir(folder)  # the rename itself must survive a power cut
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc}") from exc

    def _make_folder(self, folder: str) -> None:
        """Create ``folder`` and its missing parents; with fsync, each new folder's entry in
        its parent is made durable too (else a power cut could lose the folder and every
        object in it)."""
        missing = []
        while not os.path.isdir(folder):
            missing.append(folder)
            folder = os.path.dirname(folder)
        for new in reversed(missing):
            with contextlib.suppress(FileExistsError):  # made meanwhile by another write
                os.mkdir(new)
            if self.fsync:
                _fsync_dir(os.path.dirname(new))

    def get(self, key: str) -> bytes:
        try:
            with open(self._path(key), "rb") as f:
                return f.read()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise CrashNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    def open(self, key: str) -> tuple[BinaryIO, int]:
        try:
            f = open(self._path(key), "rb")  # noqa: SIM115 (the caller closes it)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise CrashNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc
        return f, os.fstat(f.fileno()).st_size

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def delete(self, key: str) -> None:
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StorageError(f"cannot delete {key}: {exc}") from exc

    def list_keys(self, prefix: str) -> Iterator[str]:
        # Prefixes in our layout end at a folder boundary ("v1/raw_crash/20260101/").
        folder = Path(self._path(prefix.rstrip("/"))) if prefix.strip("/") else self.root
        if not folder.is_dir():
            return
        base = prefix if prefix.endswith("/") or not prefix else prefix + "/"
        for entry in sorted(folder.iterdir()):
            if entry.is_file() and not entry.name.startswith(".tmp-"):
                yield base + entry.name

    def describe(self) -> str:
        return f"local:{self.root}"
