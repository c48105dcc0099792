"""``crashline crontabber``: run, inspect and steer the periodic jobs.

``run``                  one pass: every due job runs (for system cron, every few minutes)
``daemon``               passes forever, serving health and metrics (``crashline-crontabber``)
``list [--json]``        every job's state: last success, next run, errors, back-off
``reset JOB``            forget a job's state: it runs at once, as if new
``mark-success JOB``     record the job's latest slot as done without running it
``run-job JOB [--force]``  run one job if it is due (``--force``: now, dependencies ignored)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence

import psycopg2

from crashline.common.database import Database, database_from_settings, pending_migrations
from crashline.common.database.pool import DatabaseError
from crashline.common.health import serve_health
from crashline.common.logs import setup_logging
from crashline.crontabber.health import DISTRIBUTION, checks
from crashline.crontabber.registry import JOBS
from crashline.crontabber.runner import Outcome, Runner, RunReport, UnknownJob
from crashline.crontabber.settings import CrontabberSettings
from crashline.crontabber.state import JobState

log = logging.getLogger("crashline.crontabber")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crashline crontabber",
                                     description="The periodic jobs (settings: CRASHLINE_*).")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="one pass: run every job that is due")
    daemon = sub.add_parser("daemon", help="run passes until SIGTERM, serving health/metrics")
    daemon.add_argument("--metrics-port", type=int,
                        help="health/metrics port (CRASHLINE_METRICS_PORT; 0 picks one)")
    listing = sub.add_parser("list", help="every job's state")
    listing.add_argument("--json", action="store_true", help="as JSON")
    for name, text in (("reset", "forget a job's state: it runs at once, as if new"),
                       ("mark-success", "record the latest slot as done without running it")):
        sub.add_parser(name, help=text).add_argument("job")
    run_job = sub.add_parser("run-job", help="run one job if it is due")
    run_job.add_argument("job")
    run_job.add_argument("--force", action="store_true",
                         help="run now, due or not, whatever its dependencies say")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = CrontabberSettings()
    if args.command == "daemon" and args.metrics_port is not None:
        settings = settings.model_copy(update={"metrics_port": args.metrics_port})
    log_format = settings.log_format if args.command == "daemon" else "text"
    setup_logging(settings.service_name, settings.log_level, log_format)
    db = database_from_settings(settings)
    try:
        problem = _schema_problem(db)
        if problem:
            print(f"crashline crontabber: {problem}", file=sys.stderr)
            return 2
        runner = Runner(JOBS, settings, db)
        try:
            return _COMMANDS[args.command](runner, args)
        except UnknownJob as exc:
            print(f"crashline crontabber: {exc}", file=sys.stderr)
            return 2
        finally:
            runner.close()
    except (DatabaseError, psycopg2.Error) as exc:
        print(f"crashline crontabber: PostgreSQL: {exc}".strip(), file=sys.stderr)
        return 2
    finally:
        db.close()


def _schema_problem(db: Database) -> str:
    pending = pending_migrations(db)
    if pending:
        return (f"the database lacks {len(pending)} migration(s) "
                f"({', '.join(m.name for m in pending)}): run `crashline migrate`")
    return ""


def _print_reports(reports: list[RunReport]) -> int:
    failed = False
    for report in reports:
        slots = ", ".join(slot.isoformat(timespec="minutes") for slot in report.slots)
        line = f"{report.job}: {report.outcome.value}"
        if slots:
            line += f" ({slots})"
        if report.detail:
            line += f": {report.detail}"
        print(line)
        failed |= report.outcome in (Outcome.FAILURE, Outcome.LOST_LOCK)
    return 1 if failed else 0


def _run(runner: Runner, args) -> int:
    reports = [r for r in runner.run_pending() if r.outcome is not Outcome.NOT_DUE]
    if not reports:
        print("nothing was due")
    return _print_reports(reports)


def _run_job(runner: Runner, args) -> int:
    report = runner.run(runner.job(args.job), force=args.force)
    runner.export_state()
    return _print_reports([report])


def _reset(runner: Runner, args) -> int:
    job = runner.job(args.job)
    known = runner.state.reset(job.name)
    print(f"{job.name}: reset; it runs at its next pass" if known
          else f"{job.name}: had no state")
    return 0


def _mark_success(runner: Runner, args) -> int:
    job = runner.job(args.job)
    slot = runner.mark_success(job)
    print(f"{job.name}: marked successful for {slot.isoformat(timespec='minutes')}")
    return 0


def job_rows(runner: Runner) -> list[dict]:
    """What ``list`` shows, one dict per job."""
    states = runner.state.all()
    problems = runner.problems(states)
    now = runner.clock()
    rows = []
    for job in runner.jobs:
        state: JobState | None = states.get(job.name)
        disabled = job.disabled(runner.settings)
        row = {
            "job": job.name,
            "schedule": job.schedule.describe(),
            "backfill": job.backfill,
            "depends_on": list(job.depends_on),
            "status": _status(state, disabled, problems.get(job.name, "")),
            "disabled": disabled,
            "last_success": state.last_success if state else None,
            "last_run": state.last_run if state else None,
            "next_run": state.next_run if state else None,
            "error_count": state.error_count if state else 0,
            "backoff_until": (state.next_run if state and state.error_count
                              and state.next_run > now else None),
            "last_error": state.last_error if state else None,
            "waiting_for": runner.waiting_for(job, states) if not disabled else "",
            "running_by": state.ongoing_by if state else None,
            "last_result": state.last_result if state else None,
            "problem": problems.get(job.name),
        }
        rows.append(row)
    return rows


def _status(state: JobState | None, disabled: str | None, problem: str) -> str:
    if disabled:
        return "disabled"
    if problem:
        return problem.split(":", 1)[0]  # broken, stale
    if state is None or state.last_run is None:
        return "new"
    return "running" if state.ongoing else "ok"


def _when(value: dt.datetime | None) -> str:
    return value.isoformat(timespec="minutes") if value else "-"


def _list(runner: Runner, args) -> int:
    rows = job_rows(runner)
    if args.json:
        json.dump(rows, sys.stdout, indent=2, default=str)
        print()
        return 0
    print(f"{'JOB':<20} {'STATUS':<9} {'SCHEDULE':<12} {'LAST SUCCESS':<23} "
          f"{'NEXT RUN':<23} ERRORS")
    for row in rows:
        print(f"{row['job']:<20} {row['status']:<9} {row['schedule']:<12} "
              f"{_when(row['last_success']):<23} {_when(row['next_run']):<23} "
              f"{row['error_count']}")
        if row["disabled"]:
            print(f"    disabled: {row['disabled']}")
        if row["backoff_until"]:
            print(f"    backing off until {_when(row['backoff_until'])}")
        if row["last_error"] and row["error_count"]:
            error = row["last_error"]
            print(f"    last error: {error.get('type')}: {error.get('value')}")
        if row["waiting_for"]:
            print(f"    waiting: {row['waiting_for']}")
        if row["running_by"]:
            print(f"    running: {row['running_by']}")
    return 0


def _daemon(runner: Runner, args) -> int:
    settings = runner.settings
    try:
        serve_health(settings.metrics_host, settings.metrics_port, DISTRIBUTION,
                     checks(runner))
    except OSError as exc:
        log.error("cannot serve health on %s:%d: %s", settings.metrics_host,
                  settings.metrics_port, exc)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    log.info("crontabber starting: %d jobs, a pass every %gs", len(runner.jobs),
             settings.crontabber_poll_seconds)
    while not stop.is_set():
        try:
            runner.run_pending(stop)
        except Exception:  # PostgreSQL away: say so and try again at the next pass
            log.exception("pass failed")
        stop.wait(settings.crontabber_poll_seconds)
    log.info("crontabber stopped")
    return 0


_COMMANDS = {"run": _run, "daemon": _daemon, "list": _list, "reset": _reset,
             "mark-success": _mark_success, "run-job": _run_job}


def daemon_main() -> int:
    """``crashline-crontabber``: the daemon."""
    return main(["daemon", *sys.argv[1:]])
