"""Optional end to end: a crash submitted through a real collector comes out processed.

Skips while the collector package has no app (it is built in parallel)."""

from __future__ import annotations

import importlib.util
import os
import subprocess

import pytest
import requests
from processor_support.minidump import build_minidump
from processor_support.workers import BIN, wait_for

pytestmark = pytest.mark.integration

COLLECTOR_PORTS = range(18050, 18100)


def _free_collector_port() -> int:
    import socket

    for port in COLLECTOR_PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free collector port")


@pytest.fixture
def collector(worker_env, tmp_path):
    if importlib.util.find_spec("crashline.collector.app") is None or not (
            BIN / "crashline-collector").exists():
        pytest.skip("the collector has no app yet")
    port = _free_collector_port()
    env = {**worker_env, "CRASHLINE_COLLECTOR_BIND": f"127.0.0.1:{port}",
           "CRASHLINE_COLLECTOR_WORKERS": "1"}
    log = tmp_path / "collector.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN / "crashline-collector")], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def ready():
        if proc.poll() is not None:
            raise AssertionError(f"collector exited:\n{log.read_text(errors='replace')}")
        try:
            return requests.get(f"{url}/__lbheartbeat__", timeout=1).ok
        except requests.RequestException:
            return False

    wait_for(ready, 30, "the collector")
    yield url
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()


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
