"""Run a Crashline console script (collector, processor, webapp) as a test subprocess.

Each process gets the test session's ``CRASHLINE_*`` environment, its own log file and a
free port, is waited for until ``/__lbheartbeat__`` answers, and is stopped at teardown
(SIGTERM to its process group, SIGKILL if it hangs).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import requests

BIN = Path(sys.executable).parent


def free_port(ports: range) -> int:
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


def wait_for(condition: Callable[[], object], timeout: float = 30, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")


class ServiceProcess:
    def __init__(self, script: str, env: Mapping[str, str], port: int, log_path: Path):
        self.script, self.port, self.log_path = script, port, log_path
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("CRASHLINE_")}
        full_env.update(env)
        full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen([str(BIN / script)], env=full_env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = 60) -> ServiceProcess:
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.script} exited with {self.proc.returncode}:\n"
                                     f"{self.logs()}")
            try:
                return requests.get(f"{self.url}/__lbheartbeat__", timeout=2).ok
            except requests.RequestException:
                return False

        wait_for(ready, timeout, f"{self.script} on {self.url}")
        return self

    def stop(self, timeout: float = 30) -> int | None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode
