"""Processor benchmark (run: python tests/bench/bench_processor.py; needs the local stack).

Prints, as medians of several runs, on the corpus dumps and then on a heavy synthetic crash
(``--heavy-threads`` threads of ``--heavy-frames`` frames, about 1 MB of stack-walker JSON,
like a real browser crash, where the processor's JSON work shows):

1. load: the per-core cost of a crash. The processor runs in this process exactly as a
   worker does (the queue consumer and its worker threads, ``CRASHLINE_PROCESSOR_WORKERS``
   of them) and drains a queue of crashes. Per crash: the CPU time of the stack walkers and
   of the processor itself (everything outside the walker: reading the crash, the rules, the
   signature, JSON, the saves' client side, the consumer), the processor's as a share of the
   walkers' (target: at most 30% on the corpus dumps, 5% on the heavy one), crashes per
   CPU-second of both (crashes/s per core), and the durable writes per crash (search
   requests, PostgreSQL transactions). The search engine's and PostgreSQL's own CPU is not
   in these figures: bench_pipeline.py measures the whole machine.
2. latency: one crash at a time, wall time outside the walker as a share of the walk, split
   into the rules (reading the crash, writing the dump out, parsing the walker's output,
   every other rule) and the saves (storage with fsync, then search and PostgreSQL side by
   side); also in milliseconds per crash. With one crash at a time nothing can be batched:
   this is the latency of one crash, not its cost per core.
3. throughput (corpus only): crashes per second of one worker process (a
   ``crashline-processor``, default 4 threads) draining a queue, and per core (crashes per
   CPU-second of the worker and its stack walkers).

Also prints how busy the machine was during each run (all cores, every process on it).
Everything runs in a private namespace (queue prefix, index template, storage folder, the
test database) that is removed at the end, so it never touches ``make run``'s data.
"""

from __future__ import annotations

import argparse
import collections
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from crashline.common.database import apply_migrations, database_from_settings
from crashline.common.queue import queue_from_settings
from crashline.common.storage import storage_from_settings
from crashline.processor.settings import ProcessorSettings

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
    store_crash,
)
from harness.services import ServiceProcess, free_port  # noqa: E402


def settings_for(env: dict[str, str]) -> ProcessorSettings:
    return ProcessorSettings(**settings_kwargs(env))


def heavy_dump(work: Path, threads: int, frames: int) -> tuple[dict[str, str], list]:
    """A synthetic crash with many threads and deep stacks, and symbols for it."""
    from processor_support.minidump import MinidumpSpec, build_minidump, symbol_file

    symbols = work / "synthetic-symbols"
    symbol_file(symbols)
    dump = build_minidump(MinidumpSpec(threads=threads, frames=frames))
    return {"CRASHLINE_SYMBOLS_DIRS": str(symbols)}, [("synthetic-heavy.dmp", dump)]


def _cpu(after, before) -> float:
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


class Instrumented:
    """A processor built as a worker builds it, counting its walks and durable writes."""

    def __init__(self, settings: ProcessorSettings):
        from crashline.processor import app as app_module

        self.app = app_module.build_processor(settings, with_metrics=False)
        self.walked: list[float] = []
        self.writes: collections.Counter[str] = collections.Counter()
        walker = self.app.stackwalker
        walk = walker.walk

        def timed_walk(*args, **kwargs):
            result = walk(*args, **kwargs)
            self.walked.append(result.seconds)
            return result

        walker.walk = timed_walk
        search = self.app.search
        request = search._request

        def counted_request(method, path, *args, **kwargs):
            if method != "HEAD":  # index checks happen once per index
                self.writes["search"] += 1
            return request(method, path, *args, **kwargs)

        search._request = counted_request
        for destination in self.app.processor.destinations:
            database = getattr(destination, "database", None)
            if database is not None:
                transaction = database.transaction

                def counted_transaction(transaction=transaction):
                    self.writes["database"] += 1
                    return transaction()

                database.transaction = counted_transaction

    def reset(self) -> None:
        self.walked.clear()
        self.writes.clear()

    def close(self) -> None:
        self.app.processor.close()


# -- 1. load: the per-core cost ----------------------------------------------------------

def bench_load(env: dict[str, str], dumps, crashes: int) -> dict[str, float]:
    from crashline.processor.app import build_consumer
    from crashline.processor.processor import Job

    settings = settings_for(env)
    bench = Instrumented(settings)
    storage = bench.app.processor.storage
    ids = [store_crash(storage, dumps[i % len(dumps)][1]) for i in range(crashes + 1)]
    bench.app.processor.handle(Job(ids.pop()))  # warm up: index creation, connections
    client = queue_from_settings(settings)
    for crash_id in ids:
        client.publish(client.names.standard, crash_id)
    client.close()

    consumer = build_consumer(bench.app)
    results: collections.Counter[str] = collections.Counter()

    def on_result(queue, outcome):
        results[outcome.result.value] += 1
        if sum(results.values()) == len(ids):
            consumer.stop()

    consumer.on_result = on_result
    bench.reset()
    machine = MachineLoad().start()
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begun = time.monotonic()
    consumer.run()
    elapsed = time.monotonic() - begun
    own_cpu = _cpu(resource.getrusage(resource.RUSAGE_SELF), self_before)
    walker_cpu = _cpu(resource.getrusage(resource.RUSAGE_CHILDREN), children_before)
    machine.stop()
    bench.close()
    if results["saved"] != len(ids):
        raise RuntimeError(f"not every crash was saved: {dict(results)}")
    count = len(ids)
    return {
        "crashes_per_s_in_process": count / elapsed,
        "walk_wall_ms": 1000 * sum(bench.walked) / count,
        "walker_cpu_ms": 1000 * walker_cpu / count,
        "processor_cpu_ms": 1000 * own_cpu / count,
        "cpu_outside_walker_pct": 100 * own_cpu / walker_cpu,
        "crashes_per_cpu_s": count / (own_cpu + walker_cpu),
        "search_requests_per_crash": bench.writes["search"] / count,
        "db_transactions_per_crash": bench.writes["database"] / count,
        "machine_busy_pct": machine.busy_pct,
    }


# -- 2. latency: one crash at a time ----------------------------------------------------

def bench_latency(env: dict[str, str], dumps, crashes: int) -> dict[str, float]:
    from crashline.processor.processor import Job, Result

    bench = Instrumented(settings_for(env))
    processor = bench.app.processor
    ids = [store_crash(processor.storage, dumps[i % len(dumps)][1]) for i in range(crashes)]
    processor.handle(Job(ids[0]))  # warm up: index creation, connections
    bench.reset()
    processing = saving = 0.0
    machine = MachineLoad().start()
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for crash_id in ids[1:]:
        begun = time.perf_counter()
        processed = processor.process(crash_id)
        middle = time.perf_counter()
        outcome = processor.handle(Job(crash_id, processed=processed))  # saves only
        if outcome.result is not Result.SAVED:
            raise RuntimeError(f"crash {crash_id} not saved: {outcome.reason}")
        processing += middle - begun
        saving += time.perf_counter() - middle
    own_cpu = _cpu(resource.getrusage(resource.RUSAGE_SELF), self_before)
    walker_cpu = _cpu(resource.getrusage(resource.RUSAGE_CHILDREN), children_before)
    machine.stop()
    bench.close()
    walk = sum(bench.walked)
    count = len(bench.walked)
    return {
        "stackwalk_ms": 1000 * walk / count,
        "walker_cpu_ms": 1000 * walker_cpu / count,
        "processor_cpu_ms": 1000 * own_cpu / count,
        "wall_outside_walker_ms": 1000 * (processing + saving - walk) / count,
        "saving_ms": 1000 * saving / count,
        "rules_outside_walker_pct": 100 * (processing - walk) / walk,
        "saving_pct": 100 * saving / walk,
        "total_outside_walker_pct": 100 * (processing + saving - walk) / walk,
        "machine_busy_pct": machine.busy_pct,
    }


# -- 3. throughput of a worker process -----------------------------------------------------

def start_worker(env: dict[str, str], work: Path) -> ServiceProcess:
    port = free_port(range(19150, 19200))
    # inherit_env: CRASHLINE_* variables of the shell running the benchmark apply too
    worker = ServiceProcess("crashline-processor", {**env, "CRASHLINE_METRICS_PORT": str(port)},
                            port, work / f"worker-{port}.log", inherit_env=True)
    try:
        return worker.wait_ready(60)
    except AssertionError:
        worker.stop(60)
        raise


def bench_throughput(env: dict[str, str], work: Path, dumps, crashes: int) -> dict[str, float]:
    settings = settings_for(env)
    storage = storage_from_settings(settings)
    client = queue_from_settings(settings)
    ids = [store_crash(storage, dumps[i % len(dumps)][1]) for i in range(crashes)]
    worker = start_worker(env, work)
    try:
        time.sleep(0.5)
        machine = MachineLoad().start()
        cpu_before = process_tree_cpu(worker.proc.pid)
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
        cpu = process_tree_cpu(worker.proc.pid) - cpu_before
        machine.stop()
    finally:
        worker.stop(60)
        client.close()
    return {"crashes_per_s_per_worker": crashes / elapsed, "crashes_per_cpu_s": crashes / cpu,
            "cpu_share_of_elapsed": cpu / elapsed, "machine_busy_pct": machine.busy_pct}


# -- running it --------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--load-crashes", type=int, default=400)
    parser.add_argument("--latency-crashes", type=int, default=101)
    parser.add_argument("--heavy-crashes", type=int, default=24)
    parser.add_argument("--heavy-threads", type=int, default=60)
    parser.add_argument("--heavy-frames", type=int, default=60)
    parser.add_argument("--throughput-crashes", type=int, default=300)
    parser.add_argument("--only", choices=["load", "latency", "throughput"])
    parser.add_argument("--dumps", choices=["corpus", "heavy"])
    parser.add_argument("--corpus-dump", metavar="NAME",
                        help="only the corpus dumps whose file name contains NAME")
    args = parser.parse_args()

    if not shutil.which(ProcessorSettings().stackwalker_command):
        print("minidump-stackwalk is not installed; skipping the processor benchmark")
        return 0
    dumps = [(name, data) for name, data in corpus_dumps()
             if not args.corpus_dump or args.corpus_dump in name]
    if not dumps:
        parser.error(f"no corpus dump matches {args.corpus_dump!r}")
    work = Path(tempfile.mkdtemp(prefix="crashline-bench-processor-"))
    env = namespace_env(work)
    apply_migrations(database_from_settings(settings_for(env)))
    workers = settings_for(env).processor_workers
    print(f"processor benchmark: {len(dumps)} dumps ({', '.join(n for n, _ in dumps)}), "
          f"{workers} worker threads, {machine_line()}, work dir {work}")
    extra, heavy = heavy_dump(work, args.heavy_threads, args.heavy_frames)
    heavy_env = {**env, **extra}
    heavy_name = f"the heavy synthetic crash ({args.heavy_threads} threads of " \
                 f"{args.heavy_frames} frames)"
    sets = [("the corpus dumps", env, dumps, args.load_crashes, args.latency_crashes),
            (heavy_name, heavy_env, heavy, args.heavy_crashes, args.heavy_crashes)]
    if args.dumps:
        sets = [sets[0] if args.dumps == "corpus" else sets[1]]
    try:
        for name, set_env, set_dumps, load_crashes, latency_crashes in sets:
            if args.only in (None, "load"):
                show(f"1. load, {name}: per-crash CPU, {workers} worker threads in-process",
                     [bench_load(set_env, set_dumps, load_crashes) for _ in range(args.runs)])
            if args.only in (None, "latency"):
                show(f"2. latency, {name}: one crash at a time, wall time outside the "
                     "walker as % of the walk",
                     [bench_latency(set_env, set_dumps, latency_crashes)
                      for _ in range(args.runs)])
        if args.only in (None, "throughput") and args.dumps in (None, "corpus"):
            show(f"3. throughput, corpus dumps, one worker process ({workers} threads)",
                 [bench_throughput(env, work, dumps, args.throughput_crashes)
                  for _ in range(args.runs)])
        print(f"done: {machine_line()}")
    finally:
        cleanup(env)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
