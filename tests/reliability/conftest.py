"""The reliability suite: the fault matrix on backends of its own, hostile input, security
properties. Its modules import each other by name (this folder is on ``sys.path``, also when
matrix.py runs as a script)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
