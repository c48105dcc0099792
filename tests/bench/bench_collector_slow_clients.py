"""Collector under slow clients (slowloris): heartbeat latency and submission throughput.

Starts ``crashline-collector`` (2 gevent workers, local disk with fsync, the real RabbitMQ)
and, in each run, measures the accepted submissions per second of 8 keep-alive clients
posting the realistic report of ``bench_collector.py``: first alone, then while 256 slow
connections stay open (half trickle a request head, half a body, one byte every 4 s each,
reopened as the collector cuts them off) and ``/__heartbeat__`` is polled 10 times a second.
Prints, as medians of ``--repeat`` runs: the heartbeat p99 (target under 1 s) and the loaded
throughput as a percentage of the unloaded one (target 80% or more). Asserts nothing.

    .venv/bin/python tests/bench/bench_collector_slow_clients.py [--seconds 8] [--repeat 5]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench_collector import CollectorProcess, cleanup_queues, report, run_load

SLOW_HEAD = b"POST /submit HTTP/1.1\r\nHost: bench\r\n"
SLOW_BODY = (b"POST /submit HTTP/1.1\r\nHost: bench\r\n"
             b"Content-Type: multipart/form-data; boundary=B\r\n"
             b"Content-Length: 1000000\r\n\r\n--B\r\n")


class SlowClients:
    """``count`` connections that each send one byte every ``interval`` seconds; one thread
    keeps them all going and reopens those the collector closes."""

    def __init__(self, port: int, count: int, interval: float = 4.0):
        self.port, self.count, self.interval = port, count, interval
        self.reopened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _open(self, i: int) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.sendall(SLOW_HEAD if i % 2 else SLOW_BODY)
        sock.setblocking(False)
        return sock

    def _run(self) -> None:
        socks = [self._open(i) for i in range(self.count)]
        # spread the trickles over the interval, as independent clients would
        due = [time.monotonic() + random.uniform(0, self.interval) for _ in socks]
        while not self._stop.is_set():
            now = time.monotonic()
            for i, sock in enumerate(socks):
                if due[i] > now:
                    continue
                due[i] = now + self.interval
                try:
                    with contextlib.suppress(BlockingIOError):
                        if sock.recv(4096) == b"":  # closed (or answered) by the collector
                            raise ConnectionResetError
                    sock.send(b"a")
                except OSError:
                    sock.close()
                    socks[i] = self._open(i)
                    self.reopened += 1
            self._stop.wait(0.05)
        for sock in socks:
            sock.close()

    def __enter__(self) -> SlowClients:
        self._thread.start()
        time.sleep(1.0)  # all connected
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def poll_heartbeat(port: int, stop: threading.Event, latencies: list[float],
                   failures: list[str]) -> None:
    while not stop.is_set():
        began = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/__heartbeat__")
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status != 200:
                failures.append(str(response.status))
        except (OSError, http.client.HTTPException) as exc:
            failures.append(type(exc).__name__)
        latencies.append(time.monotonic() - began)
        stop.wait(max(0.0, 0.1 - (time.monotonic() - began)))


def p99(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(0.99 * len(values)))] if values else float("nan")


def one_run(port: int, body: bytes, headers: dict[str, str], args) -> dict:
    alone = run_load(port, body, headers, args.clients, args.seconds)
    latencies: list[float] = []
    failures: list[str] = []
    with SlowClients(port, args.slow) as slow:
        stop = threading.Event()
        poller = threading.Thread(target=poll_heartbeat, args=(port, stop, latencies, failures))
        poller.start()
        loaded = run_load(port, body, headers, args.clients, args.seconds)
        stop.set()
        poller.join()
    return {"alone": alone["rate"], "loaded": loaded["rate"],
            "percent": 100 * loaded["rate"] / alone["rate"] if alone["rate"] else float("nan"),
            "heartbeat_p99": p99(latencies) * 1000, "heartbeats": len(latencies),
            "heartbeat_failures": failures, "reopened": slow.reopened,
            "other": {**alone["other"], **loaded["other"]}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per measurement")
    parser.add_argument("--repeat", type=int, default=5, help="runs (medians are printed)")
    parser.add_argument("--clients", type=int, default=8, help="normal clients")
    parser.add_argument("--slow", type=int, default=256, help="slow connections")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    body, headers = report()
    run_id = uuid.uuid4().hex[:8]
    workdir = Path(tempfile.mkdtemp(prefix="crashline-bench-slow-"))
    env = {"CRASHLINE_QUEUE_PREFIX": f"crashline-bench-{run_id}",
           "CRASHLINE_COLLECTOR_WORKERS": str(args.workers),
           "CRASHLINE_LOG_LEVEL": "WARNING", "CRASHLINE_LOG_FORMAT": "text",
           "CRASHLINE_STORAGE_BACKEND": "local",
           "CRASHLINE_STORAGE_PATH": str(workdir / "crashes")}
    print(f"{args.clients} clients posting {len(body) // 1024} KiB gzip reports, alone and with "
          f"{args.slow} slow connections (1 byte / 4 s; half heads, half bodies); "
          f"{args.workers} gevent workers, local disk (fsync), RabbitMQ; {os.cpu_count()} cores, "
          f"load generator in this process", flush=True)
    try:
        with CollectorProcess(env, workdir / "collector.log") as collector:
            runs = []
            for _ in range(args.repeat):
                run = one_run(collector.port, body, headers, args)
                runs.append(run)
                print(f"   run: alone {run['alone']:.0f}/s, with slow clients "
                      f"{run['loaded']:.0f}/s ({run['percent']:.0f}%), heartbeat p99 "
                      f"{run['heartbeat_p99']:.0f} ms over {run['heartbeats']} "
                      f"(failed: {len(run['heartbeat_failures'])}), slow connections "
                      f"reopened: {run['reopened']}"
                      + (f", not accepted: {run['other']}" if run["other"] else ""),
                      flush=True)
            print(f"median of {args.repeat} runs: heartbeat p99 "
                  f"{statistics.median(r['heartbeat_p99'] for r in runs):.0f} ms (target < 1000);"
                  f" throughput with {args.slow} slow connections "
                  f"{statistics.median(r['percent'] for r in runs):.0f}% of "
                  f"{statistics.median(r['alone'] for r in runs):.0f}/s alone (target >= 80%)")
            print(f"   peak RSS per worker: "
                  f"{', '.join(f'{m:.0f}' for m in collector.peak_rss_mib())} MiB", flush=True)
    finally:
        cleanup_queues(env)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
