"""Free disk under local crash storage: below a threshold the collector answers 503 with
``Retry-After`` (the client keeps the crash and tries later) rather than filling the disk."""

from __future__ import annotations

import shutil
from pathlib import Path


class FreeDiskGuard:
    def __init__(self, path: Path, min_free: int):
        self.path = Path(path)
        self.min_free = min_free

    def free(self) -> int:
        path = self.path
        while not path.exists() and path != path.parent:  # storage not created yet
            path = path.parent
        return shutil.disk_usage(path).free

    def low(self) -> bool:
        return self.min_free > 0 and self.free() < self.min_free
