"""The Crashline services of a fault run, kept alive the way systemd or Kubernetes would.

A supervisor thread starts again any service whose process has exited, a second later,
whether a fault killed it or it gave up by itself. Every start writes a log file of its
own, so the logs of the whole run stay for the secret grep. Exits the run did not cause are
counted in two kinds: a service that refused to start, saying so, because a backend was
down (a processor that finds no search engine within ``CRASHLINE_SEARCH_STARTUP_TIMEOUT``,
a collector without storage or RabbitMQ: on purpose), and deaths (anything else).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.services import ServiceProcess, free_port

COLLECTOR_PORTS = range(18300, 18350)
PROCESSOR_PORTS = range(19300, 19350)

# What a service logs when it exits because a backend it needs at start is down.
REFUSALS = ("refusing to start", "the search engine does not work")


@dataclass
class Member:
    name: str
    script: str
    env: dict[str, str]
    port: int  # the same at every start, as a deployment's
    bind_setting: str  # the setting that takes its port
    process: ServiceProcess | None = None
    starts: int = 0
    held: bool = False  # stopped on purpose: not restarted until released
    expected_exit: bool = False  # the run stopped or killed it
    deaths: Counter = field(default_factory=Counter)  # unexpected exits by return code
    refusals: int = 0  # exits at start, because a backend was down

    def bind_value(self, port: int) -> str:
        return f"127.0.0.1:{port}" if self.bind_setting.endswith("_BIND") else str(port)


class Fleet:
    def __init__(self, logs: Path):
        self.logs = logs
        self.logs.mkdir(parents=True, exist_ok=True)
        self.members: dict[str, Member] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="supervisor", daemon=True)

    def add(self, name: str, script: str, env: Mapping[str, str], ports: range,
            bind_setting: str) -> str:
        """Add a service (started by :meth:`start`); its URL."""
        taken = {m.port for m in self.members.values()}
        port = free_port(ports)
        while port in taken:
            port = free_port(ports)
        member = self.members[name] = Member(name, script, dict(env), port, bind_setting)
        return f"http://127.0.0.1:{member.port}"

    def start(self, timeout: float = 120) -> Fleet:
        for member in self.members.values():
            self._launch(member)
        for member in self.members.values():
            member.process.wait_ready(timeout)
        self._thread.start()
        return self

    def _launch(self, member: Member) -> None:
        member.starts += 1
        member.expected_exit = False
        member.process = ServiceProcess(
            member.script, {**member.env, member.bind_setting: member.bind_value(member.port)},
            member.port, self.logs / f"{member.name}-{member.starts:03d}.log")

    def _supervise(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                for member in self.members.values():
                    process = member.process
                    if member.held or process is None or process.proc.poll() is None:
                        continue
                    if not member.expected_exit:
                        if any(text in process.logs()[-5000:] for text in REFUSALS):
                            member.refusals += 1
                        else:
                            member.deaths[process.proc.returncode] += 1
                    time.sleep(1)  # Restart=always, RestartSec=1
                    self._launch(member)

    # -- what faults do ---------------------------------------------------------------------
    def url(self, name: str) -> str:
        with self._lock:
            return self.members[name].process.url

    def kill(self, name: str) -> None:
        """SIGKILL: no chance to finish, ack or write anything."""
        with self._lock:
            member = self.members[name]
            member.expected_exit = True
            member.process.kill()

    def stop(self, name: str, hold: bool = False) -> None:
        """SIGTERM and wait (a graceful stop); ``hold``: not restarted until :meth:`release`."""
        with self._lock:
            member = self.members[name]
            member.expected_exit = True
            member.held = hold
            process = member.process
        process.stop(60)

    def release(self, name: str) -> None:
        with self._lock:
            member = self.members[name]
            member.held = False

    def restart(self, name: str) -> None:
        """A graceful stop, then a start at once (a deployment)."""
        self.stop(name, hold=True)
        with self._lock:
            member = self.members[name]
            self._launch(member)
            member.held = False

    def wait_ready(self, name: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                process = self.members[name].process
            try:
                process.wait_ready(min(10.0, max(0.1, deadline - time.monotonic())))
                return
            except AssertionError:  # exited meanwhile: the supervisor starts it again
                time.sleep(1)
        raise AssertionError(f"{name} not ready within {timeout}s")

    def urls(self) -> dict[str, str]:
        with self._lock:
            return {name: m.process.url for name, m in self.members.items()}

    def deaths(self) -> dict[str, dict[int, int]]:
        return {name: dict(m.deaths) for name, m in self.members.items() if m.deaths}

    def refusals(self) -> dict[str, int]:
        return {name: m.refusals for name, m in self.members.items() if m.refusals}

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        for member in self.members.values():
            member.expected_exit = True
            if member.process is not None:
                member.process.stop(60)

    def log_files(self) -> list[Path]:
        return sorted(self.logs.glob("*.log"))
