"""Fixtures for the processor's unit tests (no services needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crashline.common.storage import CrashStorage
from crashline.common.storage.local import LocalObjectStore
from crashline.processor.pipeline import Crash


@pytest.fixture
def stackwalk_binary() -> str:
    found = shutil.which("minidump-stackwalk") or shutil.which(
        str(Path.home() / ".cargo/bin/minidump-stackwalk"))
    if not found:
        pytest.skip("minidump-stackwalk is not installed (deploy/local/install.sh stackwalk)")
    return found


@pytest.fixture
def storage(tmp_path) -> CrashStorage:
    return CrashStorage(LocalObjectStore(tmp_path / "crashes", fsync=False))


@pytest.fixture
def make_crash(tmp_path):
    def make(raw: dict | None = None, processed: dict | None = None, dumps=None,
             crash_id: str = "de1bb258-cbbf-4589-a673-34f800160918") -> Crash:
        work = tmp_path / "work"
        work.mkdir(exist_ok=True)
        return Crash(crash_id=crash_id, raw_crash=dict(raw or {}), dumps=dict(dumps or {}),
                     processed=dict(processed or {}), tmpdir=work)

    return make
