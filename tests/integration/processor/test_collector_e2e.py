"""End to end: a crash submitted through a real collector comes out processed."""

from __future__ import annotations

import subprocess

import pytest
from harness.services import BIN, ServiceProcess, free_port
from processor_support.minidump import build_minidump

pytestmark = pytest.mark.integration

COLLECTOR_PORTS = range(18050, 18100)


@pytest.fixture
def collector(worker_env, tmp_path):
    port = free_port(COLLECTOR_PORTS)
    env = {**worker_env, "CRASHLINE_COLLECTOR_BIND": f"127.0.0.1:{port}",
           "CRASHLINE_COLLECTOR_WORKERS": "1"}
    collector = ServiceProcess("crashline-collector", env, port, tmp_path / "collector.log")
    try:
        yield collector.wait_ready(30).url
    finally:
        collector.stop()


def test_submitted_crash_is_processed(collector, start_worker, wait_processed, worker_env,
                                      tmp_path):
    worker = start_worker()
    dump = tmp_path / "crash.dmp"
    dump.write_bytes(build_minidump())
    out = subprocess.run([str(BIN / "crashline"), "submit", "--url", f"{collector}/submit",
                          "--dump", str(dump), "-a", "ProductName=Crashy", "-a", "Version=3.0"],
                         env=worker_env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    crash_id = out.stdout.strip().removeprefix("bp-")
    processed, document = wait_processed(crash_id, worker=worker)
    assert processed["signature"] == "CrashHere"
    assert processed["product"] == "Crashy" and processed["version"] == "3.0"
    assert document["signature"] == "CrashHere"
