"""How big a run is: the slices of ``make test`` by default, the full runs of ``make
test-reliability`` and ``make test-hostile`` through the environment."""

from __future__ import annotations

import os


def size(name: str, default: float) -> float:
    """``CRASHLINE_<NAME>`` or the slice's default."""
    return float(os.environ.get(f"CRASHLINE_{name}", default))
