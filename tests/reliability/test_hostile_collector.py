"""Hostile input to the collector: ``CRASHLINE_HOSTILE_REQUESTS`` generated requests of
every kind (hostile_requests.py; 100,000 in ``make test-hostile``, 2,000 in ``make test``),
from many connections at once, to one ``crashline-collector`` (two gevent workers, as
deployed).

It must answer no 5xx, stay healthy (its heartbeat, asked every second throughout, always
answers 200), keep every worker it started (none dies or is replaced), accept the valid
reports sent among the hostile ones, keep each worker's peak resident memory within the
bound services/collector/README.md documents (150 MiB), and never write the protected
annotation every report carries to its log or its metrics.

Deadlines are shortened (1 s for a head or a pause in a body, 3 s for a whole body) so
that slow senders take seconds, not minutes: the same code paths as the defaults.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import requests
from harness.services import ServiceProcess, free_port, wait_for
from hostile_requests import KINDS, SECRET, Hostile, generate
from sizes import size

pytestmark = pytest.mark.integration

REQUESTS = int(size("HOSTILE_REQUESTS", 2000))
CONNECTIONS = 16
BOUND_MIB = 150  # services/collector/README.md, "Memory"
PORTS = range(18400, 18450)


def exchange(port: int, hostile: Hostile) -> str:
    """Send one hostile request; its answer's status, or what happened instead."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    except OSError as exc:
        return f"connect failed: {type(exc).__name__}"
    with sock:
        for i, piece in enumerate(hostile.pieces):
            try:
                sock.sendall(piece)
            except OSError:  # cut off (a limit, a deadline): read what it answered
                break
            if hostile.pause and i < len(hostile.pieces) - 1:
                time.sleep(hostile.pause)
        if hostile.then == "half-close":
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        try:
            while len(received) < 1 << 20 and (data := sock.recv(65536)):
                received += data
        except OSError as exc:
            if not received:
                return f"no answer ({type(exc).__name__})"
    if not received:
        return "closed without an answer"
    line = bytes(received.split(b"\r\n", 1)[0])
    parts = line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return f"not HTTP: {line[:40]!r}"
    return parts[1].decode()


def status_of(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def workers_of(pid: int) -> set[int]:
    try:
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


@pytest.fixture
def collector(crashline_env, rabbitmq_client, tmp_path):
    port = free_port(PORTS)
    service = ServiceProcess("crashline-collector", {
        **crashline_env, "CRASHLINE_COLLECTOR_BIND": f"127.0.0.1:{port}",
        "CRASHLINE_COLLECTOR_WORKERS": "2", "CRASHLINE_COLLECTOR_KEEPALIVE": "1",
        "CRASHLINE_COLLECTOR_HEADER_TIMEOUT": "1", "CRASHLINE_COLLECTOR_BODY_TIMEOUT": "1",
        "CRASHLINE_COLLECTOR_BODY_DEADLINE": "3", "CRASHLINE_COLLECTOR_MIN_FREE_DISK": "0",
        "CRASHLINE_LOG_LEVEL": "INFO"}, port, tmp_path / "collector.log")
    try:
        service.wait_ready(60)
        wait_for(lambda: len(workers_of(service.proc.pid)) == 2, 30, "two collector workers")
        yield service
    finally:
        service.stop()


class Watch:
    """The heartbeat every second, and the workers' memory, while the run goes on."""

    def __init__(self, service: ServiceProcess):
        self.service = service
        self.workers = workers_of(service.proc.pid)
        self.heartbeats: Counter = Counter()
        self.peak_rss = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                answer = requests.get(f"{self.service.url}/__heartbeat__", timeout=10)
                self.heartbeats[answer.status_code] += 1
            except requests.RequestException as exc:
                self.heartbeats[type(exc).__name__] += 1
            for pid in self.workers:
                with contextlib.suppress(OSError):
                    self.peak_rss = max(self.peak_rss, status_of(pid, "VmRSS"))

    def peak_hwm(self) -> float:
        """The highest VmHWM (peak resident set) of the workers, MiB."""
        return max(status_of(pid, "VmHWM") for pid in self.workers)


@pytest.mark.timeout(int(600 + REQUESTS * 0.06))
def test_no_hostile_request_breaks_the_collector(collector, figures):
    answers: dict[str, Counter] = defaultdict(Counter)
    lock = threading.Lock()
    todo = iter(generate(REQUESTS))
    begun = time.monotonic()

    def sender() -> None:
        while True:
            with lock:
                hostile = next(todo, None)
            if hostile is None:
                return
            answer = exchange(collector.port, hostile)
            with lock:
                answers[hostile.kind][answer] += 1

    with Watch(collector) as watch:
        threads = [threading.Thread(target=sender) for _ in range(CONNECTIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.monotonic() - begun
        peak = watch.peak_hwm()
        still = workers_of(collector.proc.pid)
        metrics = requests.get(f"{collector.url}/metrics", timeout=30).content

    sent = sum(sum(c.values()) for c in answers.values())
    totals = sum(answers.values(), Counter())
    server_errors = {kind: {a: n for a, n in c.items() if a.startswith("5")}
                     for kind, c in answers.items()}
    server_errors = {kind: c for kind, c in server_errors.items() if c}
    lines = [f"{sent} requests of {len(answers)} kinds in {seconds:.0f}s from {CONNECTIONS} "
             f"connections: {dict(totals.most_common())}",
             f"5xx: {sum(sum(c.values()) for c in server_errors.values())}",
             f"peak resident memory of a worker {peak:.0f} MiB (bound {BOUND_MIB} MiB)",
             f"heartbeats: {dict(watch.heartbeats)}; workers replaced: "
             f"{len(watch.workers - still)}"]
    lines += [f"  {kind}: {dict(c.most_common())}" for kind, c in sorted(answers.items())]
    figures("hostile collector requests", lines)
    report = "\n".join(lines)

    assert sent == REQUESTS
    assert set(answers) == set(KINDS), report  # every kind was sent
    assert not server_errors, report
    assert set(watch.heartbeats) == {200}, report
    assert still == watch.workers, report  # no worker died or was replaced
    assert answers["valid"] == Counter({"200": answers["valid"].total()}), report
    assert peak <= BOUND_MIB, report
    assert collector.proc.poll() is None
    assert SECRET not in collector.log_path.read_bytes()
    assert SECRET not in metrics
