"""Helpers for tests that run ``crashline-processor`` worker processes (started with
``harness.services.ServiceProcess``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
METRICS_PORTS = range(19100, 19200)


def stackwalker_path() -> str:
    found = shutil.which("minidump-stackwalk") or shutil.which(
        str(Path.home() / ".cargo/bin/minidump-stackwalk"))
    if not found:
        pytest.fail("minidump-stackwalk is not installed; run deploy/local/install.sh stackwalk",
                    pytrace=False)
    return found
