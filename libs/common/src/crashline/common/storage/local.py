"""Crash storage on local disk, for one-machine installs and ``make run``.

Keys map to paths under a root directory. Writes go to a temporary file in the same
directory, are flushed to disk and then renamed over the target, so a reader sees either
the old object or the whole new one, and an acknowledged crash survives a power cut.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from crashline.common.storage.base import CrashNotFound, ObjectStore, StorageError


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalObjectStore(ObjectStore):
    def __init__(self, root: Path, fsync: bool = True):
        self.root = Path(root).resolve()
        self.fsync = fsync

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if "\0" in key or not all(parts) or "." in parts or ".." in parts:
            raise ValueError(f"key escapes the storage root: {key!r}")
        # Plain relative segments stay under the root; no resolve() (a syscall per segment)
        # on the hot path of every write.
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes) -> None:
        self._write(key, lambda f: f.write(data))

    def put_file(self, key: str, file: BinaryIO) -> None:
        file.seek(0)
        self._write(key, lambda f: shutil.copyfileobj(file, f, 1024 * 1024))

    def _write(self, key: str, write: Callable[[BinaryIO], object]) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix="-" + path.name)
            try:
                with os.fdopen(fd, "wb") as f:
                    write(f)
                    if self.fsync:
                        f.flush()
                        os.fsync(f.fileno())
                os.replace(tmp, path)
                if self.fsync:
                    _fsync_dir(path.parent)  # the rename itself must survive a power cut
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc}") from exc

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise CrashNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    def open(self, key: str) -> tuple[BinaryIO, int]:
        try:
            f = self._path(key).open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise CrashNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc
        return f, os.fstat(f.fileno()).st_size

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {key}: {exc}") from exc

    def list_keys(self, prefix: str) -> Iterator[str]:
        # Prefixes in our layout end at a folder boundary ("v1/raw_crash/20260101/").
        folder = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not folder.is_dir():
            return
        base = prefix if prefix.endswith("/") or not prefix else prefix + "/"
        for entry in sorted(folder.iterdir()):
            if entry.is_file() and not entry.name.startswith(".tmp-"):
                yield base + entry.name

    def describe(self) -> str:
        return f"local:{self.root}"
