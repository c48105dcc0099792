"""A size bound on the stack walker's symbol cache, least recently used files first out.

``minidump-stackwalk`` keeps every symbol file it downloads under ``--symbols-cache`` and never
removes one, so a stream of new modules (every build brings new debug ids) would fill the
disk. The cache is shared by the processes of a machine, so the record of use is on disk: a
file's modification time, set to now each time a walk uses it. After a walk that downloaded
something, or once in a while for what other processes downloaded, the cache is measured and
the least recently used files are removed until it fits. Removing a file another walk is
reading is safe (it keeps its open file); one about to open it downloads it again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from crashline.common.symbols.layout import module_symbol

log = logging.getLogger(__name__)

# The walker's scratch downloads left behind by a killed walk are removed after this long.
STALE_DOWNLOAD_SECONDS = 3600.0


def _files(root: Path) -> Iterator[os.DirEntry]:
    """The cache's files: ``<debug_file>/<debug_id>/<name>.sym``, three levels down."""
    stack = [str(root)]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    yield entry


def _remove(path: str) -> None:
    """Remove a cached file and the folders it leaves empty (each module has its own)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    for folder in (os.path.dirname(path), os.path.dirname(os.path.dirname(path))):
        try:
            os.rmdir(folder)
        except OSError:  # not empty (or a walk is filling it again)
            return


class SymbolCache:
    def __init__(self, root: Path, max_bytes: int, downloads: Path | None = None,
                 rescan_seconds: float = 60.0, clock=time.time):
        """``downloads``: the walker's ``--symbols-tmp`` folder, whose leftovers go too."""
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.downloads = downloads
        self.rescan_seconds = rescan_seconds
        self.clock = clock
        self._known: set[str] = set()
        self._last_trim = 0.0
        self._lock = threading.Lock()

    def used(self, json_dump: Mapping) -> None:
        """Mark the cached files a walk used as just used; trim the cache if one of them is
        new to us (downloaded), or if the last trim is older than ``rescan_seconds``."""
        now = self.clock()
        new = False
        modules = json_dump.get("modules") if isinstance(json_dump, Mapping) else None
        for module in modules if isinstance(modules, list) else []:
            if not isinstance(module, Mapping) or not module.get("loaded_symbols"):
                continue
            symbol = module_symbol(module.get("debug_file"), module.get("debug_id"),
                                   module.get("filename"))
            if symbol is None:
                continue
            path = str(self.root / symbol.path)
            try:
                os.utime(path, (now, now))
            except (FileNotFoundError, NotADirectoryError):
                continue  # found in a symbols folder, not in the cache
            new |= path not in self._known
        if new or now - self._last_trim >= self.rescan_seconds:
            self.trim()

    def trim(self) -> int:
        """Remove the least recently used files until the cache fits; bytes removed."""
        with self._lock:
            now = self.clock()
            self._last_trim = now
            files = []
            total = 0
            for entry in _files(self.root):
                try:
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                files.append((info.st_mtime, entry.path, info.st_size))
                total += info.st_size
            removed = 0
            gone: set[str] = set()
            if total > self.max_bytes:
                files.sort()
                for _, path, size in files:
                    if total - removed <= self.max_bytes:
                        break
                    _remove(path)
                    gone.add(path)
                    removed += size
                log.info("symbol cache: removed %d files, %d bytes, least recently used "
                         "first (bound %d bytes)", len(gone), removed, self.max_bytes)
            self._known = {path for _, path, _ in files} - gone
            if self.downloads is not None:
                for entry in _files(self.downloads):
                    try:
                        if now - entry.stat().st_mtime > STALE_DOWNLOAD_SECONDS:
                            os.unlink(entry.path)
                    except FileNotFoundError:
                        pass
            return removed
