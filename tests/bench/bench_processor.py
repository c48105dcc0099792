"""Processor benchmark (run: python tests/bench/bench_processor.py; needs the local stack).

Prints, as medians of several runs:
1. overhead: per crash, the time spent outside minidump-stackwalk as a share of the stack
   walker's own time (target: under 15%), measured in-process, one crash at a time, on the
   corpus dumps: CPU time of the processor itself against the walkers' CPU time, and wall
   time split into the rules (reading the crash, writing the dump out, parsing the walker's
   output, every other rule) and the saves (storage with fsync, then search and PostgreSQL
   side by side); also in milliseconds per crash. Then the same on a heavy synthetic crash
   (``--heavy-threads`` threads of ``--heavy-frames`` frames, about 1 MB of stack-walker
   JSON, like a real browser crash), where the JSON work of the processor shows;
2. throughput: crashes per second of one worker process (default 4 threads) draining a
   queue of corpus crashes, and per core (crashes per CPU-second of the worker and its stack
   walkers);
3. latency: submit-to-searchable p50/p95 at a steady 20 crashes per second, through the
   collector when ``crashline-collector`` is installed (else storage write + publish), with
   two worker processes (what ``make run`` starts). Target p95 under 5 s.

Everything runs in a private namespace (queue prefix, index template, storage folder, the
test database) that is removed at the end, so it never touches ``make run``'s data.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import itertools
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from crashline.common.crashid import create_crash_id
from crashline.common.database import apply_migrations, database_from_settings
from crashline.common.queue import queue_from_settings
from crashline.common.search import search_from_settings
from crashline.common.storage import storage_from_settings
from crashline.processor.settings import ProcessorSettings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from harness.crashes import store_crash as save_crash  # noqa: E402
from harness.services import BIN, ServiceProcess, free_port  # noqa: E402
from harness.shared import CORPUS  # noqa: E402


def corpus_dumps() -> list[tuple[str, bytes]]:
    """The corpus dumps (the synthetic one where the corpus is absent)."""
    if (CORPUS / "minidumps").is_dir():
        return [(p.name, p.read_bytes()) for p in sorted((CORPUS / "minidumps").glob("*.dmp"))]
    from processor_support.minidump import build_minidump

    print("(corpus absent: using a synthetic minidump)")
    return [("synthetic.dmp", build_minidump())]


def namespace_env(work: Path) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    base = ProcessorSettings()
    symbols = [str(CORPUS / "symbols")] if (CORPUS / "symbols").is_dir() else []
    return {
        "CRASHLINE_STORAGE_BACKEND": "local",
        "CRASHLINE_STORAGE_PATH": str(work / "crashes"),
        "CRASHLINE_STORAGE_FSYNC": "true",
        "CRASHLINE_QUEUE_PREFIX": f"crashline-bench-{run}",
        "CRASHLINE_SEARCH_INDEX_TEMPLATE": f"crashline-bench-{run}-%Y%W",
        "CRASHLINE_DATABASE_URL": base.database_url.rsplit("/", 1)[0] + "/crashline_test",
        "CRASHLINE_SYMBOLS_DIRS": ",".join(symbols),
        "CRASHLINE_SYMBOLS_CACHE_DIR": str(work / "symbols-cache"),
        "CRASHLINE_LOG_LEVEL": "WARNING",
        "CRASHLINE_LOG_FORMAT": "text",
    }


def settings_for(env: dict[str, str]) -> ProcessorSettings:
    return ProcessorSettings(**{k.removeprefix("CRASHLINE_").lower(): v for k, v in env.items()})


def store_crash(storage, dump: bytes, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    crash_id = create_crash_id(now)
    raw = {"ProductName": "Bench", "Version": "1.0", "BuildID": "20250101000000",
           "submitted_timestamp": now.isoformat(), "uuid": crash_id}
    save_crash(storage, crash_id, raw, {"upload_file_minidump": dump})
    return crash_id


# -- 1. overhead -------------------------------------------------------------------------

def heavy_dump(work: Path, threads: int, frames: int) -> tuple[dict[str, str], list]:
    """A synthetic crash with many threads and deep stacks, and symbols for it."""
    from processor_support.minidump import MinidumpSpec, build_minidump, symbol_file

    symbols = work / "synthetic-symbols"
    symbol_file(symbols)
    dump = build_minidump(MinidumpSpec(threads=threads, frames=frames))
    return {"CRASHLINE_SYMBOLS_DIRS": str(symbols)}, [("synthetic-heavy.dmp", dump)]


def bench_overhead(env: dict[str, str], dumps, crashes: int) -> dict[str, float]:
    from crashline.processor import app as app_module
    from crashline.processor.processor import Job

    settings = settings_for(env)
    app = app_module.build_processor(settings, with_metrics=False)
    walker = app.stackwalker
    walked: list[float] = []
    original = walker.walk

    def timed_walk(*args, **kwargs):
        result = original(*args, **kwargs)
        walked.append(result.seconds)
        return result

    walker.walk = timed_walk
    storage = storage_from_settings(settings)
    ids = [store_crash(storage, dumps[i % len(dumps)][1]) for i in range(crashes)]
    app.processor.handle(Job(ids[0]))  # warm up: index creation, connections
    walked.clear()
    processing = saving = 0.0
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for crash_id in ids[1:]:
        begun = time.perf_counter()
        processed = app.processor.process(crash_id)
        middle = time.perf_counter()
        app.processor.save(crash_id, processed)
        processing += middle - begun
        saving += time.perf_counter() - middle
    walk = sum(walked)
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)

    def cpu(after, before):
        return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime

    walker_cpu = cpu(children_after, children_before)
    own_cpu = cpu(self_after, self_before)
    getattr(app.processor, "close", lambda: None)()  # (older processors had no pool)
    count = len(walked)
    return {
        "stackwalk_ms": 1000 * walk / count,
        "walker_cpu_ms": 1000 * walker_cpu / count,
        "processor_cpu_ms": 1000 * own_cpu / count,
        "wall_outside_walker_ms": 1000 * (processing + saving - walk) / count,
        "saving_ms": 1000 * saving / count,
        "cpu_outside_walker_pct": 100 * own_cpu / walker_cpu,
        "rules_outside_walker_pct": 100 * (processing - walk) / walk,
        "saving_pct": 100 * saving / walk,
        "total_outside_walker_pct": 100 * (processing + saving - walk) / walk,
    }


# -- workers -----------------------------------------------------------------------------

def start(script: str, env: dict[str, str], port: int, log: Path) -> ServiceProcess:
    # inherit_env: CRASHLINE_* variables of the shell running the benchmark apply too
    service = ServiceProcess(script, env, port, log, inherit_env=True)
    try:
        return service.wait_ready(60)
    except AssertionError:
        service.stop(60)
        raise


WORKER_LOGS = itertools.count()


def start_worker(env: dict[str, str], work: Path, **extra: str) -> ServiceProcess:
    port = free_port(range(19150, 19200))
    return start("crashline-processor", {**env, "CRASHLINE_METRICS_PORT": str(port), **extra},
                 port, work / f"worker-{next(WORKER_LOGS)}.log")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process and of its waited-for children (the stack walkers)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ticks / os.sysconf("SC_CLK_TCK")


# -- 2. throughput -----------------------------------------------------------------------

def bench_throughput(env: dict[str, str], work: Path, dumps, crashes: int) -> dict[str, float]:
    settings = settings_for(env)
    storage = storage_from_settings(settings)
    client = queue_from_settings(settings)
    ids = [store_crash(storage, dumps[i % len(dumps)][1]) for i in range(crashes)]
    worker = start_worker(env, work)
    try:
        time.sleep(0.5)
        cpu_before = cpu_seconds(worker.proc.pid)
        begun = time.monotonic()
        for crash_id in ids:
            client.publish(client.names.standard, crash_id)
        pending = set(ids)
        while pending:
            pending = {c for c in pending if not storage.has_processed_crash(c)}
            if time.monotonic() - begun > 600:
                raise RuntimeError(f"{len(pending)} crashes not processed in 600 s")
            time.sleep(0.05)
        # the last saves (search, PostgreSQL) follow storage within milliseconds
        while client.depth(client.names.standard):
            time.sleep(0.05)
        elapsed = time.monotonic() - begun
        cpu = cpu_seconds(worker.proc.pid) - cpu_before
    finally:
        worker.stop(60)
        client.close()
    return {"crashes_per_s_per_worker": crashes / elapsed, "crashes_per_cpu_s": crashes / cpu,
            "cpu_share_of_elapsed": cpu / elapsed}


# -- 3. latency --------------------------------------------------------------------------

def bench_latency(env: dict[str, str], work: Path, dumps, rate: float, seconds: float,
                  via_collector: bool) -> dict[str, float]:
    settings = settings_for(env)
    search = search_from_settings(settings)
    workers = [start_worker(env, work) for _ in range(2)]
    collector = None
    if via_collector:
        from crashline.collector.client import submit

        port = free_port(range(18050, 18100))
        url = f"http://127.0.0.1:{port}"
        collector = start("crashline-collector",
                          {**env, "CRASHLINE_COLLECTOR_BIND": f"127.0.0.1:{port}"}, port,
                          work / "collector.log")
    storage = storage_from_settings(settings)
    client_local = threading.local()

    def send(i: int) -> str:
        dump = dumps[i % len(dumps)][1]
        started = time.monotonic()
        if via_collector:
            result = submit(f"{url}/submit", {"ProductName": "Bench", "Version": "1.0"},
                            {"upload_file_minidump": dump}, timeout=30)
            if not result.crash_id:
                raise RuntimeError(f"collector answered {result.status}: {result.body}")
            crash_id = result.crash_id.removeprefix("bp-")
        else:
            if not hasattr(client_local, "q"):
                client_local.q = queue_from_settings(settings)
            crash_id = store_crash(storage, dump)
            client_local.q.publish(client_local.q.names.standard, crash_id)
        submitted[crash_id] = started  # the poller watches for it from now on
        return crash_id

    submitted: dict[str, float] = {}
    seen: dict[str, float] = {}
    index = search.namer.for_date(dt.datetime.now(dt.UTC))
    done = threading.Event()

    def poll() -> None:
        while not done.is_set() or len(seen) < len(submitted):
            pending = [c for c in list(submitted) if c not in seen]
            if pending:
                try:
                    hits = search.search([index], {
                        "size": len(pending), "_source": False,
                        "query": {"terms": {"crash_id": pending[:1000]}}})["hits"]["hits"]
                except Exception:  # index not created yet
                    hits = []
                now = time.monotonic()
                for hit in hits:
                    seen.setdefault(hit["_id"], now)
            if done.is_set() and time.monotonic() - stop_at > 120:
                break
            time.sleep(0.05)

    stop_at = float("inf")
    poller = threading.Thread(target=poll)
    poller.start()
    try:
        total = int(rate * seconds)
        begun = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            futures = []
            for i in range(total):
                delay = begun + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(send, i))
            for future in futures:
                future.result()
        stop_at = time.monotonic()
        done.set()
        poller.join()
    finally:
        done.set()
        for worker in workers:
            worker.stop(60)
        if collector is not None:
            collector.stop(60)
    latencies = sorted(seen[c] - submitted[c] for c in submitted if c in seen)
    if len(latencies) < len(submitted):
        print(f"  warning: {len(submitted) - len(latencies)} crashes never became searchable")
    q = statistics.quantiles(latencies, n=100)
    return {"p50_s": q[49], "p95_s": q[94], "max_s": latencies[-1]}


# -- running it --------------------------------------------------------------------------

def cleanup(env: dict[str, str]) -> None:
    settings = settings_for(env)
    try:
        search = search_from_settings(settings)
        for name in search.existing_indices():
            search.delete_index(name)
    except Exception as exc:
        print(f"(could not delete bench indices: {exc})")
    try:
        client = queue_from_settings(settings)
        for name in client.names.all:
            client.channel.queue_delete(queue=name)
        client.close()
    except Exception as exc:
        print(f"(could not delete bench queues: {exc})")


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def show(title: str, runs: list[dict[str, float]]) -> None:
    med = median_of(runs)
    print(f"{title} (median of {len(runs)} runs)")
    for key, value in med.items():
        spread = ", ".join(f"{r[key]:.2f}" for r in runs)
        print(f"  {key:28s} {value:10.2f}   [{spread}]")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--overhead-crashes", type=int, default=101)
    parser.add_argument("--heavy-crashes", type=int, default=16)
    parser.add_argument("--heavy-threads", type=int, default=60)
    parser.add_argument("--heavy-frames", type=int, default=60)
    parser.add_argument("--throughput-crashes", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--only", choices=["overhead", "heavy", "throughput", "latency"])
    args = parser.parse_args()

    if not shutil.which(ProcessorSettings().stackwalker_command):
        print("minidump-stackwalk is not installed; skipping the processor benchmark")
        return 0
    dumps = corpus_dumps()
    work = Path(tempfile.mkdtemp(prefix="crashline-bench-processor-"))
    env = namespace_env(work)
    apply_migrations(database_from_settings(settings_for(env)))
    via_collector = (BIN / "crashline-collector").exists()
    print(f"processor benchmark: {len(dumps)} dumps ({', '.join(n for n, _ in dumps)}), "
          f"{os.cpu_count()} cores, work dir {work}")
    try:
        if args.only in (None, "overhead"):
            show("1. time outside minidump-stackwalk, % of the stack walker's own time",
                 [bench_overhead(env, dumps, args.overhead_crashes) for _ in range(args.runs)])
        if args.only in (None, "heavy") and args.heavy_crashes > 1:
            extra, heavy = heavy_dump(work, args.heavy_threads, args.heavy_frames)
            show(f"1b. the same on a heavy synthetic crash ({args.heavy_threads} threads of "
                 f"{args.heavy_frames} frames)",
                 [bench_overhead({**env, **extra}, heavy, args.heavy_crashes)
                  for _ in range(args.runs)])
        if args.only in (None, "throughput"):
            show("2. throughput, one worker process (4 threads)",
                 [bench_throughput(env, work, dumps, args.throughput_crashes)
                  for _ in range(args.runs)])
        if args.only in (None, "latency"):
            how = "collector" if via_collector else "storage write + publish"
            show(f"3. submit-to-searchable latency at {args.rate:g}/s for {args.seconds:g} s, "
                 f"2 workers, submitted via {how}",
                 [bench_latency(env, work, dumps, args.rate, args.seconds, via_collector)
                  for _ in range(args.runs)])
    finally:
        cleanup(env)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
