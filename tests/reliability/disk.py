"""A small disk of its own for local crash storage, that faults can fill or make read-only.

It is a tmpfs mounted for the run (so this needs root; the local-storage run says so and
stops otherwise). "Full" shrinks it to what it holds (``mount -o remount,size=``): every
write that needs a new block fails with ENOSPC, as on a full disk, without writing a filler
that would cost memory. "Read-only" remounts it ``ro``: every write fails with EROFS.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

PAGE = 4096


class DiskError(RuntimeError):
    pass


def _mount(*args: str) -> None:
    # A remount can meet a file open for writing (EBUSY for ro): try a few times.
    for attempt in range(50):
        result = subprocess.run(["mount", *args], capture_output=True, text=True)
        if result.returncode == 0:
            return
        time.sleep(0.1 * (attempt + 1))
    raise DiskError(f"mount {' '.join(args)} failed: {result.stderr.strip()}")


class SmallDisk:
    def __init__(self, path: Path, size: int):
        if os.geteuid() != 0:
            raise DiskError("the local-disk faults mount a tmpfs of their own: run as root "
                            "(or run the matrix with --storage s3)")
        self.path = path
        self.size = size
        path.mkdir(parents=True, exist_ok=True)
        _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "crashline-reliability",
               str(path))
        self.mounted = True

    def used(self) -> int:
        stat = os.statvfs(self.path)
        return (stat.f_blocks - stat.f_bfree) * stat.f_frsize

    def fill(self) -> None:
        """No free block left (tmpfs keeps at least what it holds)."""
        _mount("-o", f"remount,size={self.used() + PAGE}", str(self.path))

    def free(self) -> None:
        _mount("-o", f"remount,size={self.size}", str(self.path))

    def read_only(self) -> None:
        _mount("-o", "remount,ro", str(self.path))

    def writable(self) -> None:
        _mount("-o", "remount,rw", str(self.path))

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
            self.mounted = False
