"""Redaction and JSON-body bounds benchmark: what the webapp spends per request on them.

- ``redact_processed`` (the registry's allowlist tree walked through the whole processed
  crash) on the real stack-walker output of the corpus's Windows dump, and on a large
  synthetic one (64 threads of 250 frames, every frame with registers), against
  ``json.dumps`` of the same crash (what serialising the answer costs anyway);
- ``loads_bounded`` (depth and element scan on the bytes, then ``json.loads``) against
  plain ``json.loads`` on a 2 MB CrashSignature-like body.

Prints the median of ``--repeat`` runs, in milliseconds.

    .venv/bin/python tests/bench/bench_redaction.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from crashline.common.jsonlimits import loads_bounded
from crashline.webapp.redaction import redact_processed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for harness
from harness.shared import CORPUS  # noqa: E402


def frame(n: int) -> dict:
    return {"frame": n, "trust": "cfi", "module": "libapp.so", "offset": f"0x{n:016x}",
            "module_offset": f"0x{n:08x}", "function": f"app::Thing::method{n}(int)",
            "file": "src/thing.cc", "line": n, "function_offset": "0x10",
            "missing_symbols": False,
            "registers": {r: f"0x{n:016x}" for r in ("rax", "rbx", "rcx", "rdx", "rsp",
                                                     "rbp", "rip", "r8", "r9", "r10")}}


def large_crash() -> dict:
    threads = [{"thread_name": f"t{t}", "frame_count": 250,
                "frames": [frame(n) for n in range(250)]} for t in range(64)]
    return {"signature": "app::Thing::method0", "uuid": "x", "json_dump": {
        "status": "OK", "threads": threads, "crashing_thread": {**threads[0], "threads_index": 0},
        "modules": [{"filename": f"lib{m}.so", "debug_id": "0" * 33} for m in range(200)],
        "handles": [{"handle": h} for h in range(500)]}}


def corpus_crash() -> dict | None:
    path = CORPUS / "expected" / "windows-x86-test_app.stackwalk.json"
    if not path.exists():
        return None
    return {"signature": "(anonymous namespace)::CrashFunction", "json_dump": json.loads(
        path.read_text())}


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    crashes = {"corpus windows dump": corpus_crash(), "64 threads x 250 frames": large_crash()}
    print("redact_processed vs json.dumps of the same crash (median ms)")
    for name, crash in crashes.items():
        if crash is None:
            print(f"  {name}: skipped (no corpus)")
            continue
        size = len(json.dumps(crash))
        redact = median_ms(lambda c=crash: redact_processed(c), args.repeat)
        dump = median_ms(lambda c=crash: json.dumps(c), args.repeat)
        print(f"  {name} ({size / 1e6:.2f} MB): redact {redact:.2f}, dumps {dump:.2f}")
    body = json.dumps({"jobs": [large_crash()["json_dump"]["crashing_thread"]] * 8}).encode()
    bounded = median_ms(lambda: loads_bounded(body, 64, 500_000), args.repeat)
    plain = median_ms(lambda: json.loads(body), args.repeat)
    print(f"loads_bounded vs json.loads, {len(body) / 1e6:.2f} MB body (median ms): "
          f"{bounded:.2f} vs {plain:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
