"""The fault matrix: crashes through the real stack while its parts fail, then a count.

    python tests/reliability/matrix.py [--crashes 10000] [--storage s3|local] [--scale 1]

(``make test-reliability`` runs the full matrix; ``tests/reliability/test_fault_matrix.py``
runs a slice in ``make test``.) What one run does:

1. starts backends of its own (``backends.py``: nothing shared is ever stopped), then the
   collector, the processors and the webapp under a supervisor (``fleet.py``);
2. sends ``--crashes`` reports from ``--clients`` crash reporters at a steady rate, which
   keep each report until it is accepted (``reporters.py``);
3. meanwhile plays the faults one after another, then combined (``faults.py``);
4. once the last fault is over and every report is accepted, runs the crontabber's jobs
   until every accepted crash is settled: republish-pending and failed-crashes as their
   schedule would, verify-processed when nothing is left in the queues (see
   :class:`Crontabber` for the clock they run with);
5. counts (``audit.py``): accepted, stored, processed, indexed, failed, lost, duplicated;
   checks the crontabber's own ledger, and greps every log, metric page and anonymous API
   answer of the run for the secrets planted in the crashes (``leaks.py``).

Prints the counts, the wall time and the time to drain after the last fault.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # this folder, run as a script
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for harness

from audit import Audit, audit, failed_reasons  # noqa: E402
from backends import PrivateBackends  # noqa: E402
from disk import SmallDisk  # noqa: E402
from faults import Scene, Target, play, schedule  # noqa: E402
from fleet import COLLECTOR_PORTS, PROCESSOR_PORTS, Fleet  # noqa: E402
from harness.bench import MachineLoad, corpus_dumps, settings_kwargs  # noqa: E402
from harness.services import stackwalker_command  # noqa: E402
from harness.shared import CORPUS  # noqa: E402
from leaks import Leaks, find_leaks  # noqa: E402
from reporters import SECRET_PREFIX, Reporters, build_reports, run_id  # noqa: E402

from crashline.common.database import apply_migrations, database_from_settings  # noqa: E402
from crashline.common.queue import queue_from_settings  # noqa: E402
from crashline.common.search import search_from_settings  # noqa: E402
from crashline.common.storage import storage_from_settings  # noqa: E402
from crashline.crontabber.crashes import indexed_among  # noqa: E402
from crashline.crontabber.registry import JOBS  # noqa: E402
from crashline.crontabber.runner import Runner  # noqa: E402
from crashline.crontabber.settings import CrontabberSettings  # noqa: E402

MiB = 1024 * 1024
WEBAPP_PORTS = range(18350, 18400)


@dataclass
class MatrixConfig:
    crashes: int = 1000
    storage: str = "s3"  # or "local": on a disk of its own (disk.py), with the disk faults
    scale: float = 1.0  # fault durations
    rate: float | None = None  # crashes per second; None: spread over the fault schedule
    clients: int = 16
    processors: int = 2
    calm: float = 10.0  # seconds between scenes (scaled)
    drain_timeout: float = 1800.0
    keep: bool = False  # keep the backends' folder (logs) afterwards
    scenes: list[Scene] | None = None  # default: faults.schedule(storage)


@dataclass
class MatrixResult:
    config: MatrixConfig
    audit: Audit
    leaks: Leaks
    reporters: str = ""
    wall_seconds: float = 0.0
    drain_seconds: float = 0.0  # from the end of the last fault until every crash settled
    drained: bool = False
    rate: float = 0.0
    deaths: dict[str, dict[str, int]] = field(default_factory=dict)
    refused_to_start: dict[str, int] = field(default_factory=dict)
    scene_errors: list[str] = field(default_factory=list)
    ledger: dict = field(default_factory=dict)
    jobs: dict[str, int] = field(default_factory=dict)  # crontabber runs by job and outcome
    machine: str = ""

    def summary(self) -> list[str]:
        lines = [
            f"fault matrix: {self.audit.accepted} crashes accepted of {self.config.crashes} "
            f"sent by {self.config.clients} clients at {self.rate:.1f}/s, storage "
            f"{self.config.storage}, fault durations x{self.config.scale:g}",
            self.audit.line(),
            self.audit.extra_line(),
            f"clients: {self.reporters}",
            f"wall time {self.wall_seconds:.0f}s; time to drain after the last fault "
            f"{self.drain_seconds:.0f}s{'' if self.drained else ' (NOT drained)'}",
            f"crontabber jobs run: {self.jobs}",
            f"crontabber ledger: {self.ledger}",
            f"services that died: {self.deaths or 'none'}; "
            f"refused to start while a backend was down: {self.refused_to_start or 'none'}",
            f"secrets found: {self.leaks.line()}",
            f"machine: {self.machine}",
        ]
        if self.audit.lost_ids:
            lines.append(f"lost: {dict(list(self.audit.lost_ids.items())[:20])}")
        if self.audit.failed_ids:
            lines.append(f"failed: {dict(list(self.audit.failed_ids.items())[:20])}")
        if self.scene_errors:
            lines.append(f"faults that went wrong: {self.scene_errors}")
        return lines


class Crontabber:
    """The crontabber's jobs, run the way ``crashline crontabber run-job JOB --force`` runs
    them, in this process, with the clock one day ahead: verify-processed only checks
    closed days and the ledger closed hours, so this is the state of the next morning,
    after their daily and hourly runs (and past the failed crashes' cooldown)."""

    AHEAD = dt.timedelta(days=1)

    def __init__(self, settings: CrontabberSettings):
        self.settings = settings
        self.db = database_from_settings(self.settings)
        self.runner = Runner(JOBS, self.settings, self.db,
                             clock=lambda: dt.datetime.now(dt.UTC) + self.AHEAD)
        self.outcomes: Counter = Counter()  # "job outcome" of every run

    def run(self, *jobs: str) -> None:
        for name in jobs:
            report = self.runner.run(self.runner.job(name), force=True)
            self.outcomes[f"{name} {report.outcome.value}"] += 1

    def ledger(self, since: dt.datetime) -> dict:
        rows = self.db.fetch_all(
            "SELECT received, stored, deferred, processed, indexed, differences "
            "FROM ledger_hours WHERE hour >= %s", (since.replace(minute=0, second=0,
                                                                microsecond=0),))
        totals = {k: sum(r[k] for r in rows)
                  for k in ("received", "stored", "deferred", "processed", "indexed")}
        differences: dict[str, int] = {}
        for row in rows:
            for kind, n in row["differences"].items():
                differences[kind] = differences.get(kind, 0) + n
        return {"hours": sum(1 for r in rows if r["received"] or r["stored"]), **totals,
                "differences": {k: n for k, n in differences.items() if n}}

    def close(self) -> None:
        self.runner.backends.close()
        self.db.close()


def service_env(backends: PrivateBackends, storage: str, disk: SmallDisk | None,
                direct: bool = False) -> dict[str, str]:
    env = {
        **backends.env(direct=direct),
        "CRASHLINE_LOG_FORMAT": "json",
        "CRASHLINE_LOG_LEVEL": "INFO",
        "CRASHLINE_STORAGE_BACKEND": storage,
        "CRASHLINE_STORAGE_FSYNC": "true",
    }
    if disk is not None:
        env["CRASHLINE_STORAGE_PATH"] = str(disk.path / "crashes")
    return env


def start_fleet(backends: PrivateBackends, config: MatrixConfig, disk: SmallDisk | None,
                logs: Path) -> tuple[Fleet, list[str]]:
    env = service_env(backends, config.storage, disk)
    fleet = Fleet(logs)
    # The webapp reads the engine directly: the partition is the processors' alone.
    webapp = fleet.add("webapp", "crashline-webapp", {
        **env, "CRASHLINE_SEARCH_URL": backends.search_url(direct=True),
        "CRASHLINE_WEBAPP_RATE_LIMIT_ANONYMOUS": "0",
        "CRASHLINE_WEBAPP_RATE_LIMIT_AUTHENTICATED": "0"}, WEBAPP_PORTS,
        "CRASHLINE_WEBAPP_BIND")
    fleet.add("collector", "crashline-collector", {
        **env,
        # The disk of its own is small: refuse (503) only when it is really full.
        "CRASHLINE_COLLECTOR_MIN_FREE_DISK": str(MiB)}, COLLECTOR_PORTS,
        "CRASHLINE_COLLECTOR_BIND")
    symbols = [str(CORPUS / "symbols")] if (CORPUS / "symbols").is_dir() else []
    processors = [f"processor-{i + 1}" for i in range(config.processors)]
    for name in processors:
        fleet.add(name, "crashline-processor", {
            **env, "CRASHLINE_SYMBOLS_STORE_URL": f"{webapp}/symbols/",
            "CRASHLINE_SYMBOLS_DIRS": ",".join(symbols),
            "CRASHLINE_SYMBOLS_CACHE_DIR": str(logs.parent / "symbols-cache"),
            "CRASHLINE_STACKWALKER_COMMAND": stackwalker_command()},
            PROCESSOR_PORTS, "CRASHLINE_METRICS_PORT")
    return fleet.start(), processors


def default_rate(config: MatrixConfig, scenes: list[Scene]) -> float:
    """Spread the crashes over the fault schedule, as an estimate of its length: each
    scene's longest fault, a backend's restart, and the calm after it."""
    seconds = 10 * config.scale + sum(
        max(f.seconds for f in scene.faults) * config.scale + 10 + config.calm * config.scale
        for scene in scenes)
    return config.crashes / seconds


def settle(accepted: set[str], crontabber: Crontabber, timeout: float,
           say: Callable[[str], None]) -> bool:
    """Run the crontabber's jobs until every accepted crash is indexed or failed."""
    settings = crontabber.settings
    search = search_from_settings(settings)
    unsettled = set(accepted)
    deadline = time.monotonic() + timeout
    idle_rounds = 0
    while time.monotonic() < deadline:
        crontabber.run("republish-pending", "failed-crashes")
        unsettled -= indexed_among(search, search.existing_indices(), unsettled)
        if not unsettled:
            return True
        queue = queue_from_settings(settings)
        try:
            waiting = sum(queue.depth(name) for name in
                          (queue.names.standard, queue.names.priority,
                           queue.names.reprocessing))
        finally:
            queue.close()
        if waiting == 0:
            unsettled -= set(failed_reasons(queue_from_settings(settings)))
            if not unsettled:
                return True
            idle_rounds += 1
            if idle_rounds >= 3:  # nothing queued, nothing moving: ask verify-processed
                say(f"  {len(unsettled)} crashes neither indexed nor failed with empty "
                    f"queues: running verify-processed")
                crontabber.run("verify-processed")
                idle_rounds = 0
        else:
            idle_rounds = 0
        time.sleep(5)
    say(f"  still unsettled after {timeout:.0f}s: {len(unsettled)}")
    return False


def run_matrix(config: MatrixConfig, say: Callable[[str], None] = print) -> MatrixResult:
    begun = time.monotonic()
    machine = MachineLoad().start()
    started_at = dt.datetime.now(dt.UTC)
    backends = PrivateBackends(keep=config.keep).start()
    say(f"backends of our own in {backends.root} (ports {backends.ports}), "
        f"up in {time.monotonic() - begun:.0f}s")
    disk = fleet = crontabber = None
    try:
        if config.storage == "local":
            # Room for every crash: a corpus crash takes about 100 KB stored.
            disk = SmallDisk(backends.root / "disk", max(256 * MiB, config.crashes * 200_000))
        # The harness's own reads and the crontabber's jobs go to the backends directly.
        own = CrontabberSettings(**settings_kwargs(service_env(backends, config.storage, disk,
                                                               direct=True)))
        apply_migrations(database_from_settings(own))
        fleet, processors = start_fleet(backends, config, disk, backends.root / "services")
        scenes = config.scenes if config.scenes is not None else schedule(config.storage)
        rate = config.rate or default_rate(config, scenes)
        reports = build_reports(config.crashes, corpus_dumps(), run_id())
        say(f"services up; sending {config.crashes} crashes at {rate:.1f}/s from "
            f"{config.clients} clients; {len(scenes)} scenes of faults")
        reporters = Reporters(lambda: fleet.url("collector"), reports, rate=rate,
                              clients=config.clients).start()
        target = Target(backends, fleet, processors, disk)
        time.sleep(10 * config.scale)
        play(scenes, target, config.scale, config.calm, say)
        last_fault = time.monotonic()
        say(f"faults over at {last_fault - begun:.0f}s; {reporters.stats.line()}")
        if not reporters.wait(config.drain_timeout):
            say("some reports are still being sent")
        crontabber = Crontabber(own)
        accepted = reporters.accepted_ids()
        drained = settle(set(accepted), crontabber, config.drain_timeout, say)
        drain_seconds = time.monotonic() - last_fault
        say(f"settled {drain_seconds:.0f}s after the last fault" if drained else
            "NOT settled")
        crontabber.run("verify-processed", "ledger")
        counted = audit(accepted, storage_from_settings(own), search_from_settings(own),
                        queue_from_settings(own))
        leaks = find_leaks(SECRET_PREFIX, fleet, backends, sorted(accepted)[:100])
        result = MatrixResult(
            config, counted, leaks, reporters.stats.line(),
            wall_seconds=time.monotonic() - begun, drain_seconds=drain_seconds,
            drained=drained, rate=rate, deaths=fleet.deaths(),
            refused_to_start=fleet.refusals(),
            scene_errors=[e for scene in scenes for e in scene.errors],
            ledger=crontabber.ledger(started_at), jobs=dict(crontabber.outcomes))
    finally:
        if crontabber is not None:
            crontabber.close()
        if fleet is not None:
            fleet.close()
        if disk is not None:
            disk.close()
        backends.close()
    machine.stop()
    result.machine = (f"{os.cpu_count()} cores, {machine.busy_pct:.0f}% busy during the run, "
                      f"load average {machine.load_average:.1f} at the end")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crashes", type=int, default=10_000)
    parser.add_argument("--storage", choices=["s3", "local"], default="s3")
    parser.add_argument("--scale", type=float, default=1.0, help="fault durations")
    parser.add_argument("--rate", type=float, help="crashes per second (default: spread "
                        "over the fault schedule)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--processors", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the backends' folder")
    args = parser.parse_args()
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - started:7.1f}s] {text}", flush=True)

    result = run_matrix(MatrixConfig(crashes=args.crashes, storage=args.storage,
                                     scale=args.scale, rate=args.rate, clients=args.clients,
                                     processors=args.processors, keep=args.keep), say)
    print("\n".join(result.summary()))
    ok = result.audit.lost == 0 and result.audit.duplicated == 0 and not result.leaks.found \
        and not result.deaths and result.drained and not result.scene_errors
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
