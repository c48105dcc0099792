"""Collector benchmark: accepted crashes per second and latency beside the bare WSGI limit,
and memory per worker.

Starts ``crashline-collector`` (gunicorn, the recommended gevent workers for 2 cores) with
local-disk storage and then with S3 (the local stack's endpoint), publishing to the real
RabbitMQ, and drives it from this process: threads on keep-alive connections posting a
pre-built realistic report (one 400 KB minidump of realistic entropy, 40 annotations,
gzip, about 200 KB on the wire) for a bounded time at 1, 8 and 32 concurrent clients.

Beside the local-disk collector runs the limit of its job on this machine: a bare WSGI app
(:func:`bare_app`) under the same gunicorn worker class and worker count that reads the body
and writes it to one new file. The two take turns, run by run, so each ratio compares runs
a few seconds apart on a machine shared with other work (target: at least 50% of the bare
app at 8 clients). How busy the machine was (CPU of everything else, load average) is
printed beside the figures.

Then several connections stream 25 MiB reports at once and the peak resident memory (VmHWM)
of each worker is read. Prints figures; asserts nothing. Each figure is the median of
``--repeat`` runs (the machine is shared: expect noise).

    .venv/bin/python tests/bench/bench_collector.py [--seconds 3] [--repeat 5]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import hashlib
import http.client
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from crashline.collector.client import build_request, encode_multipart

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for harness
from harness.bench import MachineLoad, process_tree_cpu  # noqa: E402
from harness.services import ServiceProcess, free_port, wait_for  # noqa: E402

MiB = 1024 * 1024
PORTS = range(18000, 18100)


# -- payloads -------------------------------------------------------------------------------
def realistic_minidump(size: int = 400 * 1024, seed: int = 7) -> bytes:
    """Bytes that compress like a minidump (about 2:1): a header, stack memory (random),
    module lists and thread contexts (structured, small integers), zero padding."""
    rng = random.Random(seed)
    out = bytearray(b"MDMP\x93\xa7\x00\x00")
    while len(out) < size:
        kind = rng.random()
        n = rng.randint(512, 8192)
        if kind < 0.25:  # raw memory: incompressible
            out += rng.randbytes(n)
        elif kind < 0.8:  # tables of pointers and small numbers
            base = rng.randrange(0x7ff000000000, 0x7fff00000000)
            for _ in range(n // 16):
                out += (base + rng.randrange(0, 1 << 20)).to_bytes(8, "little")
                out += rng.randrange(0, 4096).to_bytes(8, "little")
        elif kind < 0.9:  # UTF-16 module paths
            name = f"C:\\Windows\\System32\\module{rng.randrange(1000)}.dll"
            out += (name * (n // len(name) + 1)).encode("utf-16-le")[:n]
        else:
            out += bytes(n)
    return bytes(out[:size])


def realistic_annotations(count: int = 40, seed: int = 7) -> dict[str, str]:
    rng = random.Random(seed)
    annotations = {"ProductName": "Firefox", "Version": "128.0", "ReleaseChannel": "nightly",
                   "BuildID": "20260601093000"}
    while len(annotations) < count:
        key = f"Annotation{len(annotations)}"
        annotations[key] = "".join(rng.choice("abcdefghij0123456789 _-.")
                                   for _ in range(rng.randint(8, 400)))
    return annotations


def report() -> tuple[bytes, dict[str, str]]:
    return build_request(realistic_annotations(), {"upload_file_minidump": realistic_minidump()},
                         compress=True)


def big_report(size: int = 25 * MiB) -> tuple[bytes, dict[str, str]]:
    """An uncompressed report of exactly ``size`` bytes (the largest a client may send)."""
    annotations = realistic_annotations()
    empty, boundary = encode_multipart(annotations, {"upload_file_minidump": b""})
    dump = os.urandom(size - len(empty))
    body, _ = encode_multipart(annotations, {"upload_file_minidump": dump}, boundary=boundary)
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
               "Content-Length": str(len(body))}
    return body, headers


# -- the bare limit -------------------------------------------------------------------------
BARE_DIR = "CRASHLINE_BENCH_BARE_DIR"  # where the bare app writes (set in its environment)
BARE_FSYNC = "CRASHLINE_BENCH_BARE_FSYNC"


def bare_app(environ, start_response):
    """The least a collector can do: read the body and write it to one new file (fsynced if
    ``CRASHLINE_BENCH_BARE_FSYNC`` is ``true``), answer with a crash id."""
    body = b"ok"
    if environ["REQUEST_METHOD"] == "POST":
        stream = environ["wsgi.input"]
        fd, _ = tempfile.mkstemp(dir=os.environ[BARE_DIR])
        with os.fdopen(fd, "wb") as file:
            while chunk := stream.read(256 * 1024):
                file.write(chunk)
            if os.environ.get(BARE_FSYNC) == "true":
                file.flush()
                os.fsync(file.fileno())
        body = b"CrashID=bp-bare\n"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


# -- the server processes -------------------------------------------------------------------
class ServerProcess:
    """A gunicorn server (``script`` with ``args``) on a free port, and its workers' CPU and
    memory."""

    def __init__(self, env: dict[str, str], log_path: Path, script: str,
                 args: tuple[str, ...] = ()):
        self.port = free_port(PORTS)
        self.env = {**env, "CRASHLINE_COLLECTOR_BIND": f"127.0.0.1:{self.port}"}
        self.log_path = log_path
        self.script = script
        self.args = tuple(arg.format(port=self.port) for arg in args)
        self.service: ServiceProcess | None = None

    def __enter__(self) -> ServerProcess:
        # inherit_env: CRASHLINE_* variables of the shell running the benchmark apply too
        self.service = ServiceProcess(self.script, self.env, self.port, self.log_path,
                                      inherit_env=True, args=self.args)
        try:
            self.service.wait_ready(30)
            workers = int(self.env.get("CRASHLINE_COLLECTOR_WORKERS", "1"))
            wait_for(lambda: len(self.workers()) >= workers, 30, f"{workers} {self.script} workers")
        except AssertionError:
            self.service.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.service:
            self.service.stop()

    def workers(self) -> list[int]:
        pid = self.service.proc.pid
        path = Path(f"/proc/{pid}/task/{pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def cpu_seconds(self) -> float:
        """CPU time of the server so far (workers and master)."""
        return process_tree_cpu(self.service.proc.pid)

    def peak_rss_mib(self) -> list[float]:
        """VmHWM (peak resident set) of each worker, in MiB."""
        peaks = []
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return peaks


class CollectorProcess(ServerProcess):
    def __init__(self, env: dict[str, str], log_path: Path):
        super().__init__(env, log_path, "crashline-collector")


def bare_process(env: dict[str, str], log_path: Path, folder: Path, fsync: bool) -> ServerProcess:
    """:func:`bare_app` under the collector's gunicorn worker class, worker count and
    connection settings."""
    folder.mkdir(parents=True, exist_ok=True)
    workers = env["CRASHLINE_COLLECTOR_WORKERS"]
    return ServerProcess(
        {**env, BARE_DIR: str(folder), BARE_FSYNC: str(fsync).lower()}, log_path, "gunicorn",
        ("--worker-class", "crashline.collector.worker.CollectorWorker", "--workers", workers,
         "--worker-connections", "1000", "--keep-alive", "5", "--bind", "127.0.0.1:{port}",
         "--log-level", "warning", "--chdir", str(Path(__file__).resolve().parent),
         "bench_collector:bare_app"))


# -- load -----------------------------------------------------------------------------------
def run_threads(target, count: int) -> None:
    """``target()`` in ``count`` threads at once; returns when all are done."""
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_load(port: int, body: bytes, headers: dict[str, str], clients: int,
             seconds: float, warmup: float = 1.0) -> dict:
    """Figures of the ``seconds`` after ``warmup``; ``served``: every answer, warm-up included
    (for the CPU per request)."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    served = 0
    lock = threading.Lock()
    start_at = time.monotonic() + warmup
    stop_at = start_at + seconds

    def client() -> None:
        nonlocal served
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        outcome: dict[str, int] = {}
        answered = 0
        while True:
            began = time.monotonic()
            if began >= stop_at:
                break
            try:
                conn.request("POST", "/submit", body=body, headers=headers)
                response = conn.getresponse()
                text = response.read()
                key = "accepted" if response.status == 200 and text.startswith(
                    b"CrashID=") else f"{response.status} {text[:40]!r}"
            except (OSError, http.client.HTTPException) as exc:
                key = f"error {type(exc).__name__}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            ended = time.monotonic()
            answered += 1
            if began >= start_at and ended <= stop_at:
                outcome[key] = outcome.get(key, 0) + 1
                if key == "accepted":
                    mine.append(ended - began)
        conn.close()
        with lock:
            served += answered
            latencies.extend(mine)
            for k, v in outcome.items():
                statuses[k] = statuses.get(k, 0) + v

    run_threads(client, clients)
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 \
            if latencies else float("nan")

    return {"rate": statuses.get("accepted", 0) / seconds, "p50": pct(0.50), "p99": pct(0.99),
            "other": {k: v for k, v in statuses.items() if k != "accepted"}, "served": served}


def stream_big_reports(port: int, body: bytes, headers: dict[str, str], connections: int,
                       rounds: int) -> dict[str, int]:
    """``connections`` clients each post the 25 MiB report ``rounds`` times, all at once."""
    results: dict[str, int] = {}
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for _ in range(rounds):
            conn.request("POST", "/submit", body=body, headers=headers)
            response = conn.getresponse()
            text = response.read()
            key = "accepted" if text.startswith(b"CrashID=") else f"{response.status} {text!r}"
            with lock:
                results[key] = results.get(key, 0) + 1
        conn.close()

    run_threads(client, connections)
    return results


# -- where the CPU goes ---------------------------------------------------------------------
def cpu_ms(func: Callable[[], object], calls: int) -> float:
    """CPU time per call of this process (all threads, user and system), best of 5 rounds."""
    func()
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(calls):
            func()
        best = min(best, (time.process_time() - start) / calls)
    return best * 1000


def cpu_budget(body: bytes, headers: dict[str, str], folder: Path, env: dict[str, str],
               calls: int = 100) -> None:
    """The collector's own work on one report, step by step, in this process and without
    HTTP: the floor under the worker CPU per request, whatever the server around it does."""
    from crashline.collector.extract import extract_payload
    from crashline.collector.inflate import Inflater
    from crashline.collector.limits import Limits
    from crashline.common.crashid import create_crash_id
    from crashline.common.queue import QueueNames, RabbitMQ
    from crashline.common.storage import CrashStorage
    from crashline.common.storage.local import LocalObjectStore

    limits = Limits()
    dump = realistic_minidump()
    annotations = realistic_annotations()

    def extract() -> None:
        extract_payload(io.BytesIO(body).read, content_type=headers["Content-Type"],
                        content_encoding="gzip", content_length=len(body), chunked=False,
                        limits=limits).close()

    storage = CrashStorage(LocalObjectStore(folder, fsync=True))
    queue = RabbitMQ(env.get("CRASHLINE_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
                     QueueNames(env["CRASHLINE_QUEUE_PREFIX"]))
    now = dt.datetime.now(dt.UTC)
    steps = {
        "inflate the body (zlib-ng)": lambda: Inflater(limits.max_inflated_size).feed(
            body, lambda piece: None),
        "sha256 of the dump": lambda: hashlib.sha256(dump).hexdigest(),
        "body to annotations and dumps (all the above)": extract,
        "durable local save (dump, names, raw crash)": lambda: storage.save_raw_crash(
            create_crash_id(now), annotations, {"upload_file_minidump": dump}),
        "publish with confirm (pika)": lambda: queue.publish(queue.names.standard,
                                                            create_crash_id(now)),
    }
    print(f"   CPU per report of the collector's own steps (this process, no HTTP, best of 5 "
          f"rounds of {calls}):", flush=True)
    costs = {}
    try:
        for label, step in steps.items():
            costs[label] = cpu_ms(step, calls)
            print(f"      {label:48s} {costs[label]:5.2f} ms", flush=True)
    finally:
        queue.close()
    whole = sum(list(costs.values())[2:])
    print(f"      {'all of it (no HTTP, no server)':48s} {whole:5.2f} ms", flush=True)


# -- main -----------------------------------------------------------------------------------
def cleanup_queues(env: dict[str, str]) -> None:
    from crashline.common.queue import QueueNames, RabbitMQ

    client = RabbitMQ(env.get("CRASHLINE_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
                      QueueNames(env["CRASHLINE_QUEUE_PREFIX"]))
    with contextlib.suppress(Exception):
        for name in client.names.all:
            client.channel.queue_delete(queue=name)
    client.close()


def cleanup_bucket(env: dict[str, str]) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=env["CRASHLINE_S3_ENDPOINT_URL"],
                      aws_access_key_id="testing", aws_secret_access_key="testing",
                      region_name="us-east-1")
    bucket = env["CRASHLINE_S3_BUCKET"]
    with contextlib.suppress(Exception):
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
        s3.delete_bucket(Bucket=bucket)


def measured_run(server: ServerProcess, body: bytes, headers: dict[str, str], clients: int,
                 seconds: float, warmup: float, servers: list[ServerProcess]) -> dict:
    """One run of :func:`run_load`, with the server's worker CPU and this process's (the load
    generator's) per request, and the cores that other processes used meanwhile."""
    def ours() -> float:  # every server of the benchmark and this process
        return sum(s.cpu_seconds() for s in servers) + time.process_time()

    cpu_before, own_before, ours_before = server.cpu_seconds(), time.process_time(), ours()
    began = time.monotonic()
    machine = MachineLoad().start()
    run = run_load(server.port, body, headers, clients, seconds, warmup)
    machine.stop()
    elapsed = time.monotonic() - began
    served = run["served"] or float("nan")
    run["cpu_ms"] = (server.cpu_seconds() - cpu_before) * 1000 / served
    run["client_cpu_ms"] = (time.process_time() - own_before) * 1000 / served
    busy_cores = machine.busy_pct / 100 * (os.cpu_count() or 1)
    run["other_cores"] = max(0.0, busy_cores - (ours() - ours_before) / elapsed)
    run["load_average"] = machine.load_average
    return run


def machine_summary(runs: list[dict]) -> str:
    others = [r["other_cores"] for r in runs]
    loads = [r["load_average"] for r in runs]
    return (f"other processes used {statistics.median(others):.2f} of {os.cpu_count()} cores "
            f"(median; runs {min(others):.2f} to {max(others):.2f}); 1-minute load average "
            f"{min(loads):.1f} to {max(loads):.1f}")


def summary(label: str, clients: int, runs: list[dict]) -> str:
    rates = [r["rate"] for r in runs]
    other: dict[str, int] = {}
    for r in runs:
        for k, v in r["other"].items():
            other[k] = other.get(k, 0) + v
    return (f"   {label:9s} {clients:3d} clients: {statistics.median(rates):6.0f} accepted/s  "
            f"p50 {statistics.median(r['p50'] for r in runs):6.1f} ms  "
            f"p99 {statistics.median(r['p99'] for r in runs):6.1f} ms  "
            f"worker CPU {statistics.median(r['cpu_ms'] for r in runs):4.2f} ms/request  "
            f"(client {statistics.median(r['client_cpu_ms'] for r in runs):4.2f})  "
            f"(runs: {', '.join(f'{x:.0f}' for x in rates)}/s)"
            + (f"  not accepted: {other}" if other else ""))


def bench_backend(name: str, env: dict[str, str], body: bytes, headers: dict[str, str],
                  args, workdir: Path, big: tuple[bytes, dict[str, str]] | None,
                  bare: ServerProcess | None = None) -> None:
    """Every client count, ``args.repeat`` runs; with ``bare``, each run of the collector is
    paired with one of the bare app (taking turns at going first)."""
    print(f"-- {name}: workers={env['CRASHLINE_COLLECTOR_WORKERS']} (gevent)", flush=True)
    every_run: list[dict] = []
    with contextlib.ExitStack() as stack:
        collector = stack.enter_context(CollectorProcess(env, workdir / f"{name}.log"))
        servers = [collector]
        if bare is not None:
            servers.append(stack.enter_context(bare))
        for clients in args.clients:
            ours, limits = [], []
            for i in range(args.repeat):
                order = servers if i % 2 == 0 else servers[::-1]
                for server in order:
                    run = measured_run(server, body, headers, clients, args.seconds,
                                       args.warmup, servers)
                    every_run.append(run)
                    (ours if server is collector else limits).append(run)
            print(summary("collector", clients, ours), flush=True)
            if limits:
                ratios = [o["rate"] / b["rate"] for o, b in zip(ours, limits, strict=True)
                          if b["rate"]]
                print(summary("bare app", clients, limits), flush=True)
                cpu_ratio = (statistics.median(r["cpu_ms"] for r in limits)
                             / statistics.median(r["cpu_ms"] for r in ours))
                print(f"   {'':9s} {clients:3d} clients: collector / bare app "
                      f"{100 * statistics.median(ratios):.0f}% (runs: "
                      f"{', '.join(f'{100 * r:.0f}%' for r in ratios)}); by worker CPU per "
                      f"request {100 * cpu_ratio:.0f}%", flush=True)
        print(f"   machine during these runs: {machine_summary(every_run)}", flush=True)
        print(f"   peak RSS per worker after load: "
              f"{', '.join(f'{m:.0f}' for m in collector.peak_rss_mib())} MiB", flush=True)
        if big is not None:
            big_body, big_headers = big
            started = time.monotonic()
            results = stream_big_reports(collector.port, big_body, big_headers,
                                         args.big_connections, args.big_rounds)
            took = time.monotonic() - started
            print(f"   {args.big_connections} connections x {args.big_rounds} reports of "
                  f"25 MiB in {took:.1f}s: {results}")
            print(f"   peak RSS per worker (25 MiB reports included): "
                  f"{', '.join(f'{m:.0f}' for m in collector.peak_rss_mib())} MiB", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # Short runs, many of them: the collector's and the bare app's runs of a pair are seconds
    # apart, so a change in the machine's load between them is less likely.
    parser.add_argument("--seconds", type=float, default=3.0, help="per run (after warm-up)")
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds before each run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backends", nargs="*", default=["local", "s3"])
    parser.add_argument("--fsync", choices=["true", "false"], default="true")
    parser.add_argument("--bare-fsync", choices=["true", "false"], default="false",
                        help="whether the bare app fsyncs its file")
    parser.add_argument("--big-connections", type=int, default=8)
    parser.add_argument("--big-rounds", type=int, default=3)
    args = parser.parse_args()

    body, headers = report()
    print(f"report: 400 KiB minidump, 40 annotations, gzip: {len(body) / 1024:.0f} KiB on the "
          f"wire ({len(gzip.decompress(body)) / 1024:.0f} KiB inflated); machine: "
          f"{os.cpu_count()} cores, load generator in this process", flush=True)
    run_id = uuid.uuid4().hex[:8]
    workdir = Path(tempfile.mkdtemp(prefix="crashline-bench-collector-"))
    base = {
        "CRASHLINE_QUEUE_PREFIX": f"crashline-bench-{run_id}",
        "CRASHLINE_COLLECTOR_WORKERS": str(args.workers),
        "CRASHLINE_LOG_LEVEL": "WARNING",
        "CRASHLINE_LOG_FORMAT": "text",
        "CRASHLINE_STORAGE_FSYNC": args.fsync,
    }
    big = big_report()
    try:
        try:
            cpu_budget(body, headers, workdir / "budget", base)
        finally:
            cleanup_queues(base)
        for backend in args.backends:
            if backend == "local":
                env = {**base, "CRASHLINE_STORAGE_BACKEND": "local",
                       "CRASHLINE_STORAGE_PATH": str(workdir / "crashes")}
                label = f"local disk (fsync {args.fsync}) + RabbitMQ"
                bare = bare_process(env, workdir / "bare.log", workdir / "bare",
                                    args.bare_fsync == "true")
            else:
                env = {**base, "CRASHLINE_STORAGE_BACKEND": "s3",
                       "CRASHLINE_S3_BUCKET": f"crashline-bench-{run_id}",
                       "CRASHLINE_S3_ENDPOINT_URL": os.environ.get(
                           "CRASHLINE_S3_ENDPOINT_URL", "http://127.0.0.1:5000")}
                label = "S3 (local endpoint) + RabbitMQ"
                bare = None
            try:
                bench_backend(label, env, body, headers, args, workdir,
                              big if backend == "local" else None, bare)
            finally:
                cleanup_queues(env)
                if backend == "s3":
                    cleanup_bucket(env)
    finally:
        # Only now: on ext4, creating files right after deleting many is much slower (the
        # inode allocator skips recently deleted inodes), which would distort later runs.
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
