"""Whole-pipeline benchmark: collector, processors and webapp on this machine, as ``make
run`` starts them (run: python tests/bench/bench_pipeline.py; needs the local stack).

Starts ``crashline-collector``, ``--processors`` ``crashline-processor`` workers and
``crashline-webapp`` through tests/harness/services.py in a private namespace (durable local
storage, the corpus symbols), then submits the corpus dumps over HTTP at a steady rate, each
report a new crash, and polls the webapp's Super Search API (one query for up to 100 crash
ids, every 100 ms) for when each crash is first found. Prints, as medians of several runs:

1. submit-to-searchable latency p50/p95/max at ``--rate`` crashes per second (target: p95
   at most 2 s at 50/s), with the CPU seconds per crash of each service (processors with
   their stack walkers) and how busy the whole machine was;
2. the highest rate this machine sustains: the rate steps up by ``--step`` until one is not
   sustained, that is until the senders cannot get the reports accepted at that rate, or
   the backlog (crashes accepted but not yet searchable) grows over the second half of the
   step by more than a tenth of a second's worth of crashes per second.

The engine, RabbitMQ and PostgreSQL are shared with the rest of the machine, so their CPU is
only in the machine's figure. Asserts nothing.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import requests

from crashline.collector.client import SubmitResult, build_request
from crashline.common.crashid import strip_breakpad_prefix
from crashline.common.database import apply_migrations, database_from_settings
from crashline.common.settings import CommonSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for harness
from harness.bench import (  # noqa: E402
    MachineLoad,
    cleanup,
    corpus_dumps,
    machine_line,
    namespace_env,
    process_tree_cpu,
    settings_kwargs,
    show,
)
from harness.services import ServiceProcess, free_port, wait_for  # noqa: E402

SENDERS = 32
POLL_INTERVAL = 0.1
MAX_IDS_PER_QUERY = 80  # within gunicorn's 4 KB request line (the API takes 100)


class Pipeline:
    """The services of one benchmark run."""

    def __init__(self, env: dict[str, str], work: Path, processors: int):
        self.services: dict[str, ServiceProcess] = {}
        collector_port = free_port(range(18200, 18250))
        webapp_port = free_port(range(18250, 18300))
        self._start("collector", env, collector_port, work,
                    CRASHLINE_COLLECTOR_BIND=f"127.0.0.1:{collector_port}")
        for i in range(processors):
            port = free_port(range(19200, 19250))
            self._start(f"processor-{i + 1}", env, port, work, script="crashline-processor",
                        CRASHLINE_METRICS_PORT=str(port))
        # The watcher is one client polling all the time: not one to rate-limit.
        self._start("webapp", env, webapp_port, work,
                    CRASHLINE_WEBAPP_BIND=f"127.0.0.1:{webapp_port}",
                    CRASHLINE_WEBAPP_RATE_LIMIT_ANONYMOUS="0")
        for service in self.services.values():
            service.wait_ready(60)

    def _start(self, name: str, env: dict[str, str], port: int, work: Path,
               script: str | None = None, **extra: str) -> None:
        # inherit_env: CRASHLINE_* variables of the shell running the benchmark apply too
        self.services[name] = ServiceProcess(script or f"crashline-{name}", {**env, **extra},
                                             port, work / f"{name}.log", inherit_env=True)

    @property
    def collector(self) -> ServiceProcess:
        return self.services["collector"]

    @property
    def webapp(self) -> ServiceProcess:
        return self.services["webapp"]

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each kind of service (processors with their walkers)."""
        totals: dict[str, float] = {}
        for name, service in self.services.items():
            kind = name.split("-")[0]
            totals[kind] = totals.get(kind, 0.0) + process_tree_cpu(service.proc.pid)
        return totals

    def check_alive(self) -> None:
        for name, service in self.services.items():
            if service.proc.poll() is not None:
                raise RuntimeError(f"{name} exited:\n{service.logs()[-3000:]}")

    def stop(self) -> None:
        for service in self.services.values():
            service.stop(60)


class Sender:
    """Posts prepared reports to the collector at a steady rate, on keep-alive connections."""

    def __init__(self, pipeline: Pipeline, dumps):
        self.port = pipeline.collector.port
        self.reports = [build_request({"ProductName": "BenchPipeline", "Version": "1.0",
                                       "BuildID": "20250101000000"},
                                      {"upload_file_minidump": data})
                        for _, data in dumps]
        self.local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        if getattr(self.local, "connection", None) is None:
            self.local.connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                               timeout=60)
        return self.local.connection

    def send(self, i: int) -> tuple[str, float]:
        body, headers = self.reports[i % len(self.reports)]
        started = time.monotonic()
        connection = self._connection()
        try:
            connection.request("POST", "/submit", body=body, headers=headers)
            response = connection.getresponse()
            result = SubmitResult(response.status, response.read().decode("utf-8", "replace"))
        except (OSError, http.client.HTTPException):
            connection.close()
            self.local.connection = None
            raise
        if not result.crash_id:
            raise RuntimeError(f"collector answered {result.status}: {result.body[:200]}")
        return strip_breakpad_prefix(result.crash_id), started


class Watcher:
    """Finds when each submitted crash becomes searchable through the webapp's API."""

    def __init__(self, pipeline: Pipeline):
        self.url = f"{pipeline.webapp.url}/api/SuperSearch/"
        self.submitted: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.session = requests.Session()
        self.error: Exception | None = None

    def add(self, crash_id: str, started: float) -> None:
        with self.lock:
            self.submitted[crash_id] = started

    def backlog(self) -> int:
        if self.error is not None:
            raise RuntimeError(f"the watcher failed: {self.error}")
        with self.lock:
            return len(self.submitted) - len(self.seen)

    def start(self) -> Watcher:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()

    def _run(self) -> None:
        try:
            self._poll()
        except Exception as exc:  # the benchmark's thread raises it
            self.error = exc

    def _poll(self) -> None:
        while not self.stopping.is_set():
            with self.lock:
                pending = [c for c in self.submitted if c not in self.seen]
            for start in range(0, len(pending), MAX_IDS_PER_QUERY):
                chunk = pending[start:start + MAX_IDS_PER_QUERY]
                query = urlencode([("uuid", c) for c in chunk] + [
                    ("_columns", "uuid"), ("_results_number", str(len(chunk))),
                    ("_facets_size", "0")])
                try:
                    response = self.session.get(f"{self.url}?{query}", timeout=30)
                except requests.RequestException:
                    continue
                if response.status_code != 200:
                    if response.status_code != 503:  # 503: a new index not ready yet
                        raise RuntimeError(f"the API answered {response.status_code}: "
                                           f"{response.text[:300]}")
                    continue
                now = time.monotonic()
                with self.lock:
                    for hit in response.json()["hits"]:
                        self.seen.setdefault(hit["uuid"], now)
            self.stopping.wait(POLL_INTERVAL)

    def wait_all(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.backlog() and time.monotonic() < deadline:
            time.sleep(0.1)

    def latencies(self) -> list[float]:
        with self.lock:
            return sorted(self.seen[c] - t for c, t in self.submitted.items() if c in self.seen)


def drive(pipeline: Pipeline, sender: Sender, watcher: Watcher, rate: float,
          seconds: float) -> dict[str, float]:
    """Submit at ``rate`` for ``seconds``; what was sent, when, and the backlog over time."""
    total = int(rate * seconds)
    backlog: list[tuple[float, int]] = []
    failures = 0
    with concurrent.futures.ThreadPoolExecutor(SENDERS) as pool:
        begun = time.monotonic()
        futures = []
        next_sample = begun
        for i in range(total):
            due = begun + i / rate
            while (now := time.monotonic()) < due:
                if now >= next_sample:
                    backlog.append((now - begun, watcher.backlog()))
                    next_sample += 0.5
                time.sleep(min(due - now, 0.01))
            futures.append(pool.submit(sender.send, i))
            for done in [f for f in futures if f.done()]:
                futures.remove(done)
                try:
                    watcher.add(*done.result())
                except Exception:
                    failures += 1
        for future in futures:
            try:
                watcher.add(*future.result())
            except Exception:
                failures += 1
        sent_in = time.monotonic() - begun
    pipeline.check_alive()
    return {"sent_in": sent_in, "failures": failures, "backlog": backlog}


def backlog_growth(samples: list[tuple[float, int]]) -> float:
    """Crashes per second the backlog grew by over the second half of the samples (slope of
    a least-squares line)."""
    half = samples[len(samples) // 2:]
    if len(half) < 3:
        return 0.0
    return statistics.linear_regression([t for t, _ in half], [n for _, n in half]).slope


def run_latency(env: dict[str, str], work: Path, dumps, processors: int, rate: float,
                seconds: float) -> dict[str, float]:
    pipeline = Pipeline(env, work, processors)
    try:
        sender = Sender(pipeline, dumps)
        watcher = Watcher(pipeline).start()
        warm_up(pipeline, sender, watcher)
        machine = MachineLoad().start()
        cpu_before = pipeline.cpu()
        result = drive(pipeline, sender, watcher, rate, seconds)
        watcher.wait_all(120)
        cpu_after = pipeline.cpu()
        machine.stop()
        watcher.stop()
    finally:
        pipeline.stop()
    latencies = watcher.latencies()
    count = len(watcher.submitted)
    if len(latencies) < count:
        print(f"  warning: {count - len(latencies)} crashes never became searchable")
    q = statistics.quantiles(latencies, n=100)
    figures = {"p50_s": q[49], "p95_s": q[94], "max_s": latencies[-1],
               "achieved_rate": count / result["sent_in"]}
    for kind, cpu in cpu_after.items():
        figures[f"{kind}_cpu_ms_per_crash"] = 1000 * (cpu - cpu_before[kind]) / count
    figures["machine_busy_pct"] = machine.busy_pct
    return figures


def warm_up(pipeline: Pipeline, sender: Sender, watcher: Watcher) -> None:
    """One crash all the way through first: the weekly index exists and the webapp sees it."""
    crash_id, started = sender.send(0)
    watcher.add(crash_id, started)
    wait_for(lambda: not watcher.backlog(), 120, "the first crash to be searchable")
    with watcher.lock:
        watcher.submitted.clear()
        watcher.seen.clear()


def find_sustained(env: dict[str, str], work: Path, dumps, processors: int, start: float,
                   step: float, seconds: float) -> dict[str, float]:
    pipeline = Pipeline(env, work, processors)
    best = 0.0
    rate = start
    try:
        sender = Sender(pipeline, dumps)
        watcher = Watcher(pipeline).start()
        warm_up(pipeline, sender, watcher)
        while True:
            machine = MachineLoad().start()
            result = drive(pipeline, sender, watcher, rate, seconds)
            machine.stop()
            achieved = int(rate * seconds) / result["sent_in"]
            growth = backlog_growth(result["backlog"])
            kept_up = achieved >= 0.95 * rate and not result["failures"]
            sustained = kept_up and growth <= 0.1 * rate
            backlog = watcher.backlog()
            begun = time.monotonic()
            watcher.wait_all(180)
            print(f"  {rate:6.1f}/s: accepted {achieved:6.1f}/s, backlog grew "
                  f"{growth:+6.1f}/s to {backlog} (all searchable {time.monotonic() - begun:.1f} s "
                  f"later), machine busy {machine.busy_pct:5.1f}%"
                  f"{'' if sustained else '  <- not sustained'}")
            with watcher.lock:
                watcher.submitted.clear()
                watcher.seen.clear()
            if not sustained:
                break
            best = rate
            rate *= step
        watcher.stop()
    finally:
        pipeline.stop()
    return {"highest_sustained_rate": best}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--processors", type=int, default=2)
    parser.add_argument("--step", type=float, default=1.2)
    parser.add_argument("--step-seconds", type=float, default=20.0)
    parser.add_argument("--only", choices=["latency", "sustained"])
    args = parser.parse_args()

    if not shutil.which("minidump-stackwalk") and not shutil.which(
            str(Path.home() / ".cargo/bin/minidump-stackwalk")):
        print("minidump-stackwalk is not installed; skipping the pipeline benchmark")
        return 0
    dumps = corpus_dumps()
    work = Path(tempfile.mkdtemp(prefix="crashline-bench-pipeline-"))
    env = namespace_env(work)
    apply_migrations(database_from_settings(CommonSettings(**settings_kwargs(env))))
    print(f"pipeline benchmark: collector, {args.processors} processors, webapp; "
          f"{len(dumps)} corpus dumps; {machine_line()}")
    try:
        if args.only in (None, "latency"):
            show(f"1. submit-to-searchable at {args.rate:g} crashes/s for {args.seconds:g} s",
                 [run_latency(env, work, dumps, args.processors, args.rate, args.seconds)
                  for _ in range(args.runs)])
        if args.only in (None, "sustained"):
            print(f"2. highest sustained rate (steps of x{args.step:g}, "
                  f"{args.step_seconds:g} s each)")
            show("   highest sustained rate",
                 [find_sustained(env, work, dumps, args.processors, args.rate, args.step,
                                 args.step_seconds) for _ in range(args.runs)])
        print(f"done: {machine_line()}")
    finally:
        cleanup(env)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
