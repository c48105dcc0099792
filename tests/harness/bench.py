"""What the processor and pipeline benchmarks share: a private namespace on the local stack,
the corpus dumps, how busy the machine was, and medians of several runs.

Everything a benchmark writes lives in its namespace (queue prefix, index template, storage
folder, the test database), which :func:`cleanup` removes, so a benchmark never touches
``make run``'s data or another run's.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from crashline.common.crashid import create_crash_id
from crashline.common.queue import queue_from_settings
from crashline.common.search import search_from_settings
from crashline.common.settings import CommonSettings
from harness.crashes import store_crash as save_crash
from harness.shared import CORPUS


def corpus_dumps() -> list[tuple[str, bytes]]:
    """The corpus dumps (the synthetic one where the corpus is absent)."""
    if (CORPUS / "minidumps").is_dir():
        return [(p.name, p.read_bytes()) for p in sorted((CORPUS / "minidumps").glob("*.dmp"))]
    from processor_support.minidump import build_minidump

    print("(corpus absent: using a synthetic minidump)")
    return [("synthetic.dmp", build_minidump())]


def namespace_env(work: Path) -> dict[str, str]:
    """``CRASHLINE_*`` settings of a private namespace under ``work``, with the corpus
    symbols, durable local storage and quiet logs."""
    run = uuid.uuid4().hex[:8]
    base = CommonSettings()
    symbols = [str(CORPUS / "symbols")] if (CORPUS / "symbols").is_dir() else []
    return {
        "CRASHLINE_STORAGE_BACKEND": "local",
        "CRASHLINE_STORAGE_PATH": str(work / "crashes"),
        "CRASHLINE_STORAGE_FSYNC": "true",
        "CRASHLINE_QUEUE_PREFIX": f"crashline-bench-{run}",
        "CRASHLINE_SEARCH_INDEX_TEMPLATE": f"crashline-bench-{run}-%Y%W",
        "CRASHLINE_DATABASE_URL": os.environ.get("CRASHLINE_TEST_DATABASE_URL")
        or base.database_url.rsplit("/", 1)[0] + "/crashline_test",
        "CRASHLINE_SYMBOLS_DIRS": ",".join(symbols),
        "CRASHLINE_SYMBOLS_CACHE_DIR": str(work / "symbols-cache"),
        "CRASHLINE_LOG_LEVEL": "WARNING",
        "CRASHLINE_LOG_FORMAT": "text",
    }


def settings_kwargs(env: dict[str, str]) -> dict[str, str]:
    """``env`` as keyword arguments of a settings class."""
    return {k.removeprefix("CRASHLINE_").lower(): v for k, v in env.items()}


def store_crash(storage, dump: bytes, now: dt.datetime | None = None) -> str:
    """Store a crash of product ``Bench`` the way the collector does; its crash id."""
    now = now or dt.datetime.now(dt.UTC)
    crash_id = create_crash_id(now)
    raw = {"ProductName": "Bench", "Version": "1.0", "BuildID": "20250101000000",
           "submitted_timestamp": now.isoformat(), "uuid": crash_id}
    save_crash(storage, crash_id, raw, {"upload_file_minidump": dump})
    return crash_id


def cleanup(env: dict[str, str]) -> None:
    """Delete the namespace's indices and queues."""
    settings = CommonSettings(**settings_kwargs(env))
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


# -- how busy the machine was ---------------------------------------------------------------

def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def process_tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its live descendants and the children it has waited for
    (a service's workers and their stack walkers)."""
    def one(p: int) -> float:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")

    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += one(p)
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            children = []
        todo += [int(c) for c in children]
    return total


@dataclass
class MachineLoad:
    """How busy every core of the machine was between :meth:`start` and :meth:`stop`."""

    busy_pct: float = 0.0  # of all cores together
    load_average: float = 0.0  # 1-minute, at the end
    _begin: tuple[int, int] = (0, 0)

    def start(self) -> MachineLoad:
        self._begin = _cpu_ticks()
        return self

    def stop(self) -> MachineLoad:
        busy, total = _cpu_ticks()
        self.busy_pct = 100 * (busy - self._begin[0]) / max(1, total - self._begin[1])
        self.load_average = os.getloadavg()[0]
        return self


def machine_line() -> str:
    return (f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
            f"at {time.strftime('%H:%M:%S')}")


# -- medians ------------------------------------------------------------------------------

def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def show(title: str, runs: list[dict[str, float]]) -> dict[str, float]:
    med = median_of(runs)
    print(f"{title} (median of {len(runs)} runs)")
    for key, value in med.items():
        spread = ", ".join(f"{r[key]:.2f}" for r in runs)
        print(f"  {key:34s} {value:10.2f}   [{spread}]")
    return med
