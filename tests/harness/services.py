"""Run a Crashline console script (collector, processor, webapp) as a test subprocess.

The one place for this, used by the tests and by the benchmarks (which put ``tests`` on
``sys.path`` to import it). Each process gets the test session's ``CRASHLINE_*``
environment, its own log file and a free port from the caller's range (each suite has its
own, so suites running at once never collide), is waited for until ``/__lbheartbeat__``
answers, and is stopped at teardown (SIGTERM to its process group, SIGKILL if it hangs).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import requests

BIN = Path(sys.executable).parent


def free_port(ports: range) -> int:
    # From a random place in the range: test runs of other checkouts (CI) at the same time use
    # the same ranges, and would all race for its first free port.
    start = random.randrange(len(ports))
    for port in [*ports[start:], *ports[:start]]:
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
    """``script`` started now (``wait_ready()`` waits for it); ``env`` sets its bind address
    or metrics port to ``port``; ``args`` are its command-line arguments. The caller's own
    ``CRASHLINE_*`` variables are left out unless ``inherit_env``: then ``env`` only
    overrides them."""

    def __init__(self, script: str, env: Mapping[str, str], port: int, log_path: Path, *,
                 inherit_env: bool = False, args: Sequence[str] = ()):
        self.script, self.port, self.log_path = script, port, log_path
        full_env = {k: v for k, v in os.environ.items()
                    if inherit_env or not k.startswith("CRASHLINE_")}
        full_env.update(env)
        full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen([str(BIN / script), *args], env=full_env, stdout=log,
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

        try:
            wait_for(ready, timeout, f"{self.script} on {self.url}")
        except AssertionError as exc:
            if self.proc.poll() is not None:  # ready() said so, log included
                raise
            raise AssertionError(f"{exc}; its log:\n{self.logs()}") from None
        return self

    def stop(self, timeout: float = 30) -> int | None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def kill(self) -> None:
        """kill -9 of the process group: no chance to ack or clean up."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def stackwalker_command() -> str:
    return shutil.which("minidump-stackwalk") or str(Path.home() / ".cargo/bin/minidump-stackwalk")


@contextlib.contextmanager
def pipeline(env: Mapping[str, str], tmp: Path, symbol_dirs: list[str],
             webapp_env: Mapping[str, str] | None = None) -> Iterator[dict[str, ServiceProcess]]:
    """A collector, one processor worker and the webapp, ready, stopped on exit: the
    services of an end-to-end or browser test (``webapp_env`` adds webapp settings). The
    processor's symbol store is this webapp's symbol server, ahead of ``symbol_dirs``. The
    webapp's monitoring page watches the collector and the processor, and its "send us
    crashes" page names this collector.

    The webapp does not rate-limit: its counters are per client address in the shared test
    database, where every suite polling from 127.0.0.1 (on this machine, any checkout's)
    would use up one limit together."""
    collector_port = free_port(range(18100, 18150))
    webapp_port = free_port(range(18150, 18200))
    worker_port = free_port(range(19150, 19200))
    services = {
        "collector": ServiceProcess("crashline-collector", {
            **env, "CRASHLINE_COLLECTOR_BIND": f"127.0.0.1:{collector_port}",
            "CRASHLINE_COLLECTOR_WORKERS": "1"}, collector_port, tmp / "collector.log"),
        "processor": ServiceProcess("crashline-processor", {
            **env, "CRASHLINE_METRICS_PORT": str(worker_port),
            "CRASHLINE_SYMBOLS_DIRS": ",".join(symbol_dirs),
            "CRASHLINE_SYMBOLS_STORE_URL": f"http://127.0.0.1:{webapp_port}/symbols/",
            "CRASHLINE_SYMBOLS_CACHE_DIR": str(tmp / "symbols-cache"),
            "CRASHLINE_STACKWALKER_COMMAND": stackwalker_command(),
            "CRASHLINE_PROCESSOR_IDLE_DELAY": "0.1"}, worker_port, tmp / "processor.log"),
        "webapp": ServiceProcess("crashline-webapp", {
            **env, "CRASHLINE_WEBAPP_BIND": f"127.0.0.1:{webapp_port}",
            "CRASHLINE_WEBAPP_WORKERS": "1", "CRASHLINE_WEBAPP_INDEX_CACHE_SECONDS": "0",
            "CRASHLINE_WEBAPP_RATE_LIMIT_ANONYMOUS": "0",
            "CRASHLINE_WEBAPP_RATE_LIMIT_AUTHENTICATED": "0",
            "CRASHLINE_WEBAPP_RATE_LIMIT_SEARCH_ANONYMOUS": "0",
            "CRASHLINE_WEBAPP_RATE_LIMIT_SEARCH_AUTHENTICATED": "0",
            "CRASHLINE_WEBAPP_LOGIN_RATE_LIMIT_ACCOUNT": "0",
            "CRASHLINE_WEBAPP_LOGIN_RATE_LIMIT_CLIENT": "0",
            "CRASHLINE_WEBAPP_COLLECTOR_URL": f"http://127.0.0.1:{collector_port}/submit",
            "CRASHLINE_WEBAPP_MONITOR_SERVICES": json.dumps({
                "collector": f"http://127.0.0.1:{collector_port}",
                "processor": f"http://127.0.0.1:{worker_port}"}),
            **(webapp_env or {})},
            webapp_port, tmp / "webapp.log"),
    }
    try:
        for service in services.values():
            service.wait_ready()
        yield services
    finally:
        for service in services.values():
            service.stop()
