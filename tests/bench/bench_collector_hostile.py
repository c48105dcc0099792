"""Collector memory under hostile requests: the peak RSS of a worker stays under a bound.

For each hostile request (refused or accepted), starts a fresh ``crashline-collector``
(2 gevent workers, local disk, the real RabbitMQ), sends it 4 at once, ``--rounds`` times,
and prints each worker's peak resident memory (VmHWM) and its resident memory afterwards.
The bound documented in services/collector/README.md is 150 MiB per worker for any request
the collector accepts or refuses. Figures are medians over ``--repeat`` fresh collectors.
Asserts nothing.

    .venv/bin/python tests/bench/bench_collector_hostile.py [--repeat 3] [--rounds 2]
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

from bench_collector import CollectorProcess, cleanup_queues, run_threads

MiB = 1024 * 1024
BOUNDARY = "hostile-boundary"
FORM = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
BOUND_MIB = 150


def part(name: str | None, value: bytes, *, filename: str | None = None,
         content_type: str = "text/plain") -> bytes:
    disposition = "form-data" + (f'; name="{name}"' if name is not None else "")
    if filename is not None:
        disposition += f'; filename="{filename}"'
    return (f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode() + value + b"\r\n"


def body_of(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def dump_part(name: str, value: bytes, filename: str = "d.dmp") -> bytes:
    return part(name, value, filename=filename, content_type="application/octet-stream")


def gzipped(body: bytes) -> tuple[bytes, dict[str, str]]:
    return gzip.compress(body, 6), {**FORM, "Content-Encoding": "gzip"}


# -- the hostile requests -------------------------------------------------------------------
def json_balloon():  # the reported one: 7.8 MB of empty lists under one key
    return body_of(part("extra", b'{"a":[' + b"[]," * 2_600_000 + b"[]]}",
                        content_type="application/json")), FORM


def deep_json():
    return body_of(part("extra", b'{"a":' + b"[" * 500_000 + b"]" * 500_000 + b"}",
                        content_type="application/json")), FORM


def widest_accepted_json():  # 19,000 strings of 400 bytes in one list: within every bound
    value = json.dumps({"ProductName": "F", "a": ["x" * 400] * 19_000}).encode()
    return body_of(part("extra", value, content_type="application/json")), FORM


def max_annotations():  # 1000 text annotations of 8000 bytes: 8 MB of annotations
    return body_of(*(part(f"A{i}", b"v" * 8000) for i in range(1000))), FORM


def gzip_bomb():  # 400 KB of gzip that would inflate to 400 MiB of zeros
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [compressor.compress(part("ProductName", b"F") + dump_part("upload_file_minidump",
                                                                      b""))]
    zeros = bytes(MiB)
    out += [compressor.compress(zeros) for _ in range(400)]
    out.append(compressor.compress(f"\r\n--{BOUNDARY}--\r\n".encode()) + compressor.flush())
    return b"".join(out), {**FORM, "Content-Encoding": "gzip"}


def inflated_cap():  # about 16:1, under the ratio cap, up to the 100 MiB inflated cap
    compressor = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [compressor.compress(part("ProductName", b"F") + dump_part("upload_file_minidump",
                                                                      b""))]
    noise = os.urandom(64 * 1024)
    out += [compressor.compress(noise + bytes(MiB - len(noise))) for _ in range(101)]
    out.append(compressor.compress(f"\r\n--{BOUNDARY}--\r\n".encode()) + compressor.flush())
    return b"".join(out), {**FORM, "Content-Encoding": "gzip"}


def tiny_dumps():  # 100 tiny dumps, each in its own inflated piece (accepted)
    filler = os.urandom(40 * 1024) + bytes(300 * 1024)  # skipped parts, ratio about 8:1
    parts = [part("ProductName", b"F")]
    for i in range(100):
        parts += [part(None, filler), dump_part(f"d{i}", b"x" * 10)]
    return gzipped(body_of(*parts))


def long_part_headers():  # 99 dumps with 16 KB part headers, all different (accepted)
    parts = [part("ProductName", b"F")]
    parts += [dump_part(f"d{i}", b"MDMP", filename=f"{i}-" + "x" * 16_000) for i in range(99)]
    return body_of(*parts), FORM


def largest_body():  # 25 MiB on the wire, one incompressible dump (accepted)
    head = part("ProductName", b"F") + part("Version", b"1")
    empty = body_of(head, dump_part("upload_file_minidump", b""))
    return body_of(head, dump_part("upload_file_minidump",
                                   os.urandom(25 * MiB - len(empty)))), FORM


CASES: dict[str, Callable[[], tuple[bytes, dict[str, str]]]] = {
    "json balloon (7.8 MB of [])": json_balloon,
    "deep json (500,000 levels)": deep_json,
    "widest accepted json": widest_accepted_json,
    "1000 annotations of 8 KB": max_annotations,
    "gzip bomb (400 KB -> 400 MiB)": gzip_bomb,
    "inflated to the 100 MiB cap": inflated_cap,
    "100 tiny dumps, gzip": tiny_dumps,
    "99 dumps, 16 KB part headers": long_part_headers,
    "largest body (25 MiB)": largest_body,
}


def send_all(port: int, body: bytes, headers: dict[str, str], concurrency: int,
             rounds: int) -> dict[str, int]:
    answers: dict[str, int] = {}
    lock = threading.Lock()

    def client() -> None:
        for _ in range(rounds):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            try:
                conn.request("POST", "/submit", body=body,
                             headers={**headers, "Content-Length": str(len(body))})
                response = conn.getresponse()
                text = response.read()[:80].decode(errors="replace").strip()
                if text.startswith("CrashID="):
                    text = "CrashID=bp-..."
                key = f"{response.status} {text}"
            except (OSError, http.client.HTTPException) as exc:
                key = type(exc).__name__
            finally:
                conn.close()
            with lock:
                answers[key] = answers.get(key, 0) + 1

    run_threads(client, concurrency)
    return answers


def rss_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh collectors per case")
    parser.add_argument("--rounds", type=int, default=2, help="requests per connection")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--cases", nargs="+", default=list(CASES))
    args = parser.parse_args()

    run_id = uuid.uuid4().hex[:8]
    workdir = Path(tempfile.mkdtemp(prefix="crashline-bench-hostile-"))
    env = {"CRASHLINE_QUEUE_PREFIX": f"crashline-bench-{run_id}",
           "CRASHLINE_COLLECTOR_WORKERS": "2", "CRASHLINE_LOG_LEVEL": "ERROR",
           "CRASHLINE_LOG_FORMAT": "text", "CRASHLINE_STORAGE_BACKEND": "local",
           "CRASHLINE_STORAGE_PATH": str(workdir / "crashes"),
           "CRASHLINE_STORAGE_FSYNC": "false"}
    print(f"{args.concurrency} at once x {args.rounds} rounds per case, fresh collector "
          f"(2 gevent workers) each time; peak RSS (VmHWM) of the busiest worker and RSS "
          f"after, MiB, medians of {args.repeat}; bound {BOUND_MIB} MiB", flush=True)
    worst = 0.0
    try:
        for name in args.cases:
            body, headers = CASES[name]()
            peaks, afters, answers = [], [], {}
            for i in range(args.repeat):
                with CollectorProcess(env, workdir / f"collector-{i}.log") as collector:
                    answers = send_all(collector.port, body, headers, args.concurrency,
                                       args.rounds)
                    workers = collector.workers()
                    peaks.append(max(rss_mib(pid, "VmHWM") for pid in workers))
                    afters.append(max(rss_mib(pid, "VmRSS") for pid in workers))
                shutil.rmtree(workdir / "crashes", ignore_errors=True)
            worst = max(worst, statistics.median(peaks))
            print(f"   {name:32s} {len(body) / MiB:6.1f} MiB sent: peak "
                  f"{statistics.median(peaks):4.0f}, after {statistics.median(afters):4.0f} "
                  f"(peaks {', '.join(f'{p:.0f}' for p in peaks)})  answers {answers}",
                  flush=True)
        print(f"highest median peak: {worst:.0f} MiB per worker (bound {BOUND_MIB} MiB)")
    finally:
        cleanup_queues(env)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
