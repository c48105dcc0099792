"""Crash reporters: many installations sending crashes at a steady rate, each keeping its
report until the collector takes it, the way Breakpad and Crashpad clients do.

A client that gets a 5xx answer, a dropped or refused connection or a timeout keeps the
report and sends it again later (Crashpad's upload thread retries pending reports; Firefox's
crash reporter, at its next start). Here "later" is a short back-off, honouring
``Retry-After`` up to ``max_wait`` seconds, so that a run takes minutes, not days. Any other
answer but ``CrashID=bp-...`` to a well-formed report is a defect, counted as refused.

Every report carries a marker annotation (``ReliabilityReport``: which report it is) and
secrets in protected annotations (``URL``, ``Comments``, ``Email``): the run greps every log
and metric of every service for them afterwards.
"""

from __future__ import annotations

import http.client
import queue
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from crashline.collector.client import SubmitResult, build_request

MARKER = "ReliabilityReport"
SECRET_PREFIX = "s3cr3t-"


def secret_for(report: int, run: str) -> str:
    return f"{SECRET_PREFIX}{run}-{report:06d}"


@dataclass
class Report:
    index: int
    body: bytes
    headers: dict[str, str]
    secret: str
    attempts: int = 0
    crash_id: str | None = None
    answered_at: float | None = None


def build_reports(count: int, dumps: Sequence[tuple[str, bytes]], run: str) -> list[Report]:
    """``count`` reports over the dumps in turn, half of them gzipped as Breakpad sends
    them (Crashpad does not compress), each with its marker and its secrets."""
    reports = []
    for i in range(count):
        name, dump = dumps[i % len(dumps)]
        secret = secret_for(i, run)
        annotations = {
            "ProductName": "Reliability", "Version": "1.0", "BuildID": "20250101000000",
            "ReleaseChannel": "release", MARKER: str(i), "DumpName": name,
            "URL": f"https://example.com/account?session={secret}",
            "Comments": f"it crashed while I typed my password {secret}",
            "Email": f"{secret}@example.com",
        }
        body, headers = build_request(annotations, {"upload_file_minidump": dump},
                                      compress=i % 2 == 0)
        reports.append(Report(i, body, headers, secret))
    return reports


@dataclass
class ReporterStats:
    accepted: int = 0
    refused: Counter = field(default_factory=Counter)  # "<status> <body>" of bad answers
    retries: Counter = field(default_factory=Counter)  # why a report was sent again
    gave_up: int = 0

    def line(self) -> str:
        retries = ", ".join(f"{why} {n}" for why, n in self.retries.most_common())
        return (f"accepted {self.accepted}, retries {sum(self.retries.values())}"
                f"{f' ({retries})' if retries else ''}, refused {sum(self.refused.values())}, "
                f"gave up {self.gave_up}")


class Reporters:
    """``clients`` threads send ``reports`` to ``url_of()`` (asked at each attempt: a
    restarted collector may listen elsewhere), one every 1/``rate`` seconds."""

    def __init__(self, url_of: Callable[[], str], reports: list[Report], *, rate: float,
                 clients: int = 16, timeout: float = 30.0, max_wait: float = 5.0,
                 give_up_after: float = 1800.0):
        self.url_of = url_of
        self.reports = reports
        self.rate = rate
        self.clients = clients
        self.timeout = timeout
        self.max_wait = max_wait
        self.give_up_after = give_up_after
        self.stats = ReporterStats()
        self._lock = threading.Lock()
        self._due: queue.Queue[Report | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._random = random.Random(0)
        self.started_at = 0.0
        self.finished_at: float | None = None

    # -- running ----------------------------------------------------------------------------
    def start(self) -> Reporters:
        self.started_at = time.monotonic()
        self._threads = [threading.Thread(target=self._client, name=f"reporter-{i}",
                                          daemon=True) for i in range(self.clients)]
        self._threads.append(threading.Thread(target=self._dispatch, name="dispatcher",
                                              daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def _dispatch(self) -> None:
        """Hand out report i at start + i / rate: a steady rate whatever the answers."""
        for report in self.reports:
            delay = self.started_at + report.index / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._due.put(report)
        for _ in range(self.clients):
            self._due.put(None)

    def _client(self) -> None:
        connection: list[http.client.HTTPConnection | None] = [None]
        while (report := self._due.get()) is not None:
            first_try = time.monotonic()
            while True:
                why, wait = self._send(report, connection)
                if why is None:
                    break
                with self._lock:
                    self.stats.retries[why] += 1
                if time.monotonic() - first_try > self.give_up_after:
                    with self._lock:
                        self.stats.gave_up += 1
                    break
                time.sleep(wait)
        if connection[0] is not None:
            connection[0].close()

    def _backoff(self, report: Report) -> float:
        """0.5 s doubling with each attempt, at most ``max_wait``, with jitter."""
        base = min(self.max_wait, 0.5 * 2 ** min(report.attempts - 1, 10))
        return base * (0.5 + self._random.random() / 2)

    def _send(self, report: Report,
              connection: list[http.client.HTTPConnection | None]) -> tuple[str | None, float]:
        """One attempt: (None, 0) when the report is settled, else (why, seconds to wait)."""
        report.attempts += 1
        url = self.url_of()
        host, port = url.removeprefix("http://").rsplit(":", 1)
        try:
            if connection[0] is None or (connection[0].host, connection[0].port) != (host,
                                                                                   int(port)):
                if connection[0] is not None:
                    connection[0].close()
                connection[0] = http.client.HTTPConnection(host, int(port),
                                                           timeout=self.timeout)
            connection[0].request("POST", "/submit", body=report.body, headers=report.headers)
            response = connection[0].getresponse()
            result = SubmitResult(response.status, response.read().decode("utf-8", "replace"))
            retry_after = response.getheader("Retry-After")
            if response.getheader("Connection", "").lower() == "close":
                connection[0].close()
                connection[0] = None
        except (OSError, http.client.HTTPException) as exc:
            if connection[0] is not None:
                connection[0].close()
                connection[0] = None
            return _connection_error(exc), self._backoff(report)
        if result.crash_id:
            report.crash_id = result.crash_id
            report.answered_at = time.monotonic()
            with self._lock:
                self.stats.accepted += 1
            return None, 0.0
        if result.status >= 500:
            wait = self._backoff(report)
            if retry_after and retry_after.isdigit():
                wait = min(float(retry_after), self.max_wait)
            return f"{result.status}", wait
        with self._lock:
            self.stats.refused[f"{result.status} {result.body[:80]}"] += 1
        return None, 0.0

    # -- results ----------------------------------------------------------------------------
    def wait(self, timeout: float) -> bool:
        """Until every report is settled (accepted, refused or given up); False on timeout."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        done = not any(thread.is_alive() for thread in self._threads)
        if done:
            self.finished_at = time.monotonic()
        return done

    def sent(self) -> int:
        """Reports handed to the clients so far."""
        return min(len(self.reports),
                   int((time.monotonic() - self.started_at) * self.rate) + 1)

    def accepted_ids(self) -> dict[str, Report]:
        return {r.crash_id: r for r in self.reports if r.crash_id}


def _connection_error(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "dropped"  # reset, closed before an answer, broken pipe


def run_id() -> str:
    return uuid.uuid4().hex[:8]
