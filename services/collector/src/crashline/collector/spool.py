"""Dumps as they arrive: hashed, kept in memory within the worker's budget, then spooled to
anonymous temporary files."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import BinaryIO

from crashline.collector.memory import MemoryBudget


def _piece_to_keep(data) -> tuple[bytes | memoryview, int]:
    """What to keep of a piece, and the bytes that keeping it holds in memory.

    A view pins the whole chunk it was cut from (up to a read or inflate piece): a small view
    of a big chunk is copied out, so a hundred tiny dumps do not hold a hundred chunks; a view
    that is most of its chunk is kept, charged for the whole chunk."""
    n = len(data)
    if isinstance(data, memoryview):
        whole = memoryview(data.obj).nbytes
        if n * 2 < whole:
            return bytes(data), n
        return data, whole
    return data, n


class Dump:
    """One dump: hashed as it arrives, in memory while the budget allows, then in an anonymous
    temporary file in ``spool_dir``."""

    def __init__(self, name: str, budget: MemoryBudget, spool_dir: Path | None = None):
        self.name = name
        self.size = 0
        self._budget = budget
        self._spool_dir = spool_dir
        self._hash = hashlib.sha256()
        # Pieces as handed over by the parser (views of immutable chunks, see _piece_to_keep):
        # joining them once at the end is far cheaper than growing a bytearray.
        self._pieces: list | None = []
        self._in_memory = 0
        self._file: BinaryIO | None = None

    def write(self, data) -> None:
        self._hash.update(data)
        n = len(data)
        self.size += n
        if self._pieces is not None:
            piece, held = _piece_to_keep(data)
            if self._budget.take(held):
                self._pieces.append(piece)
                self._in_memory += held
                return
            # Closed by close(), which the request handler always calls.
            self._file = tempfile.TemporaryFile(dir=self._spool_dir)  # noqa: SIM115
            self._file.writelines(self._pieces)
            self._release_memory()
        self._file.write(data)

    def _release_memory(self) -> None:
        self._budget.give(self._in_memory)
        self._in_memory = 0
        self._pieces = None

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    @property
    def spooled(self) -> bool:
        return self._file is not None

    def data(self) -> bytes | BinaryIO:
        """The content: bytes, or the spool file rewound (too big to hold in memory)."""
        if self._file is not None:
            self._file.seek(0)
            return self._file
        if self._pieces is None:
            return b""
        if len(self._pieces) != 1 or not isinstance(self._pieces[0], bytes):
            self._pieces = [b"".join(self._pieces)]
        return self._pieces[0]

    def close(self) -> None:
        if self._pieces is not None:
            self._release_memory()
        if self._file is not None:
            self._file.close()
            self._file = None
