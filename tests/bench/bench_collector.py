"""Collector benchmark: accepted crashes per second, latency, and memory per worker.

Starts ``crashline-collector`` (gunicorn, the recommended gevent workers for 2 cores) with
local-disk storage and then with S3 (the local stack's endpoint), publishing to the real
RabbitMQ, and drives it from this process: threads on keep-alive connections posting a
pre-built realistic report (one 400 KB minidump of realistic entropy, 40 annotations,
gzip, about 200 KB on the wire) for a bounded time at 1, 8 and 32 concurrent clients. Then
several connections stream 25 MiB reports at once and the peak resident memory (VmHWM) of
each worker is read. Prints figures; asserts nothing. Each figure is the median of
``--repeat`` runs (the machine is shared: expect noise).

    .venv/bin/python tests/bench/bench_collector.py [--seconds 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import http.client
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from crashline.collector.client import build_request, encode_multipart

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for harness
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


# -- the collector process ------------------------------------------------------------------
class CollectorProcess:
    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_port(PORTS)
        self.env = {**env, "CRASHLINE_COLLECTOR_BIND": f"127.0.0.1:{self.port}"}
        self.log_path = log_path
        self.service: ServiceProcess | None = None

    def __enter__(self) -> CollectorProcess:
        # inherit_env: CRASHLINE_* variables of the shell running the benchmark apply too
        self.service = ServiceProcess("crashline-collector", self.env, self.port,
                                      self.log_path, inherit_env=True)
        try:
            self.service.wait_ready(30)
            workers = int(self.env.get("CRASHLINE_COLLECTOR_WORKERS", "1"))
            wait_for(lambda: len(self.workers()) >= workers, 30, f"{workers} collector workers")
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
        """User + system CPU time of all workers so far."""
        total = 0.0
        for pid in self.workers():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def peak_rss_mib(self) -> list[float]:
        """VmHWM (peak resident set) of each worker, in MiB."""
        peaks = []
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return peaks


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
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    start_at = time.monotonic() + warmup
    stop_at = start_at + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        outcome: dict[str, int] = {}
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
            if began >= start_at and ended <= stop_at:
                outcome[key] = outcome.get(key, 0) + 1
                if key == "accepted":
                    mine.append(ended - began)
        conn.close()
        with lock:
            latencies.extend(mine)
            for k, v in outcome.items():
                statuses[k] = statuses.get(k, 0) + v

    run_threads(client, clients)
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 \
            if latencies else float("nan")

    return {"rate": statuses.get("accepted", 0) / seconds, "p50": pct(0.50), "p99": pct(0.99),
            "other": {k: v for k, v in statuses.items() if k != "accepted"}}


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


def bench_backend(name: str, env: dict[str, str], body: bytes, headers: dict[str, str],
                  args, workdir: Path, big: tuple[bytes, dict[str, str]] | None) -> None:
    print(f"-- {name}: workers={env['CRASHLINE_COLLECTOR_WORKERS']} (gevent)", flush=True)
    with CollectorProcess(env, workdir / f"{name}.log") as collector:
        for clients in args.clients:
            runs = []
            for _ in range(args.repeat):
                cpu_before = collector.cpu_seconds()
                run = run_load(collector.port, body, headers, clients, args.seconds)
                # warm-up included in the CPU time: per crash, it is slightly overstated
                accepted = run["rate"] * args.seconds
                run["cpu_ms"] = ((collector.cpu_seconds() - cpu_before) * 1000 / accepted
                                 if accepted else float("nan"))
                runs.append(run)
            rates = [r["rate"] for r in runs]
            other = {}
            for r in runs:
                for k, v in r["other"].items():
                    other[k] = other.get(k, 0) + v
            print(f"   {clients:3d} clients: {statistics.median(rates):6.0f} accepted/s  "
                  f"p50 {statistics.median(r['p50'] for r in runs):6.1f} ms  "
                  f"p99 {statistics.median(r['p99'] for r in runs):6.1f} ms  "
                  f"worker CPU {statistics.median(r['cpu_ms'] for r in runs):4.1f} ms/crash  "
                  f"(runs: {', '.join(f'{x:.0f}' for x in rates)}/s)"
                  + (f"  not accepted: {other}" if other else ""), flush=True)
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
    parser.add_argument("--seconds", type=float, default=6.0, help="per run (after warm-up)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backends", nargs="+", default=["local", "s3"])
    parser.add_argument("--fsync", choices=["true", "false"], default="true")
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
        for backend in args.backends:
            if backend == "local":
                env = {**base, "CRASHLINE_STORAGE_BACKEND": "local",
                       "CRASHLINE_STORAGE_PATH": str(workdir / "crashes")}
                label = f"local disk (fsync {args.fsync}) + RabbitMQ"
            else:
                env = {**base, "CRASHLINE_STORAGE_BACKEND": "s3",
                       "CRASHLINE_S3_BUCKET": f"crashline-bench-{run_id}",
                       "CRASHLINE_S3_ENDPOINT_URL": os.environ.get(
                           "CRASHLINE_S3_ENDPOINT_URL", "http://127.0.0.1:5000")}
                label = "S3 (local endpoint) + RabbitMQ"
            try:
                bench_backend(label, env, body, headers, args, workdir,
                              big if backend == "local" else None)
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
