"""The pipeline's health in one place, for the monitoring page and ``/api/Monitoring/``.

- the crontabber's jobs, from its ``cron_jobs`` table: last success, next run, back-off and
  the last error; and whether the crontabber runs at all (no job ran for a while: it does
  not, and the page says so rather than showing old state as current);
- the queues' depths, asked of RabbitMQ now; the age of the oldest unprocessed crash and the
  failed crashes with their reasons, as the queue-metrics and failed-crashes jobs last
  found them (with when);
- the ledger's recent hours, with the crash ids behind every difference;
- every service's ``/__heartbeat__``, fetched at once, in parallel, with a short timeout.

Details that may carry infrastructure or crash data (error messages, tracebacks, failure
reasons, heartbeat errors) are only for callers with ``admin``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from crashline.common.queue import QueueError
from crashline.webapp.api.pipeline import ledger_hour
from crashline.webapp.pipeline_records import PipelineRecords

log = logging.getLogger(__name__)

LEDGER_HOURS = 48
IDS_PER_DIFFERENCE = 20
QUEUE_METRICS_JOB = "queue-metrics"
FAILED_CRASHES_JOB = "failed-crashes"
MAX_HEARTBEAT_BYTES = 64 * 1024


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def job_status(row: Mapping) -> str:
    if row["ongoing"] is not None:
        return "running"
    if row["error_count"]:
        return "failing"
    if row["last_success"] is None:
        return "never_succeeded"
    return "ok"


def job_summary(row: Mapping, detail: bool) -> dict:
    """A ``cron_jobs`` row as the page and the API show it."""
    failing = bool(row["error_count"])
    job = {"name": row["name"], "status": job_status(row),
           "last_run": _iso(row["last_run"]), "last_success": _iso(row["last_success"]),
           "next_run": _iso(row["next_run"]), "error_count": row["error_count"],
           # After a failure the runner backs off: next_run is when it tries again.
           "retry_at": _iso(row["next_run"]) if failing else None,
           "running_since": _iso(row["ongoing"])}
    error = row["last_error"]
    if failing and error:
        job["last_error"] = {"type": error.get("type"), "at": error.get("at"),
                             "slot": error.get("slot")}
        if detail:
            job["last_error"].update(value=error.get("value"), traceback=error.get("traceback"))
    return job


def crontabber_state(rows: list[Mapping], now: dt.datetime, quiet: dt.timedelta) -> dict:
    """Whether the crontabber runs: some job ran (or holds its lock) within ``quiet``."""
    times = [t for row in rows for t in (row["last_run"], row["ongoing"]) if t is not None]
    last = max(times, default=None)
    if not rows:
        return {"running": False, "last_activity": None, "message": (
            "The crontabber has never run against this database: no job state, ledger or "
            "failed-crash listing until it does (crashline-crontabber, or crashline "
            "crontabber run from cron).")}
    if last is None or now - last > quiet:
        since = f"since {last:%Y-%m-%d %H:%M} UTC" if last else "ever"
        return {"running": False, "last_activity": _iso(last), "message": (
            f"No job has run {since}: the crontabber is not running, or cannot reach "
            "PostgreSQL. What follows is what its jobs last recorded.")}
    return {"running": True, "last_activity": _iso(last), "message": ""}


def fetch_heartbeat(url: str, timeout: float) -> dict:
    """One service's ``/__heartbeat__``: ok, the HTTP status, and the failed checks."""
    try:
        with urllib.request.urlopen(f"{url}/__heartbeat__", timeout=timeout) as answer:
            status, body = answer.status, answer.read(MAX_HEARTBEAT_BYTES)
    except urllib.error.HTTPError as exc:  # 503: some check failed; the body says which
        status, body = exc.code, exc.read(MAX_HEARTBEAT_BYTES)
    except (OSError, ValueError) as exc:
        return {"ok": False, "status": None, "errors": [f"does not answer: {exc}"]}
    try:
        document = json.loads(body)
    except ValueError:
        document = {}
    errors = [f"{e.get('name')}: {e.get('msg')}" for e in document.get("errors", [])
              if isinstance(e, Mapping)] if isinstance(document, Mapping) else []
    if status != 200 and not errors:
        errors = [f"answered HTTP {status}"]
    return {"ok": status == 200, "status": status, "errors": errors}


class Heartbeats:
    """Every service's heartbeat, fetched in parallel; one round serves all callers for
    ``cache_seconds`` (a page view must not become a burst of requests per service)."""

    def __init__(self, services: Mapping[str, str], timeout: float, cache_seconds: float,
                 fetch: Callable[[str, float], dict] = fetch_heartbeat):
        self.services = dict(services)
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.fetch = fetch
        self._lock = threading.Lock()
        self._result: dict | None = None
        self._at = 0.0

    def result(self) -> dict[str, dict]:
        with self._lock:
            if self._result is None or time.monotonic() - self._at >= self.cache_seconds:
                self._result = self._fetch_all()
                self._at = time.monotonic()
            return self._result

    def _fetch_all(self) -> dict[str, dict]:
        if not self.services:
            return {}
        with ThreadPoolExecutor(max_workers=len(self.services)) as pool:
            futures = {name: pool.submit(self.fetch, url, self.timeout)
                       for name, url in self.services.items()}
            return {name: {"url": self.services[name], **future.result()}
                    for name, future in futures.items()}


class Monitor:
    def __init__(self, records: PipelineRecords, queue_depths: Callable[[], dict[str, int]],
                 failed_queue: str, heartbeats: Heartbeats, own_health: Callable[[], dict],
                 quiet: dt.timedelta,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)):
        self.records = records
        self.queue_depths = queue_depths
        self.failed_queue = failed_queue
        self.heartbeats = heartbeats
        self.own_health = own_health
        self.quiet = quiet
        self.clock = clock

    def snapshot(self, detail: bool) -> dict:
        now = self.clock()
        rows = self.records.cron_jobs()  # DatabaseError: 503, the page cannot say much else
        by_name = {row["name"]: row for row in rows}
        crontabber = crontabber_state(rows, now, self.quiet)
        jobs = [job_summary(row, detail) for row in rows]
        queues = self._queues(by_name.get(QUEUE_METRICS_JOB))
        failed = self._failed(by_name.get(FAILED_CRASHES_JOB), queues.get("depths"), detail)
        services = {"webapp": self._own_health(), **self.heartbeats.result()}
        if not detail:
            for service in services.values():
                service.pop("errors", None)
        ledger = self._ledger(now)
        problems = self._problems(crontabber, jobs, queues, ledger, services)
        return {"checked_at": now.isoformat(), "ok": not problems, "problems": problems,
                "crontabber": {**crontabber, "jobs": jobs}, "queues": queues,
                "failed": failed, "missing": self.records.missing_counts(),
                "ledger": ledger, "services": services}

    def crontabber(self) -> dict:
        """Whether the crontabber runs, for pages that show what its jobs record."""
        return crontabber_state(self.records.cron_jobs(), self.clock(), self.quiet)

    def _own_health(self) -> dict:
        result = self.own_health()
        errors = [f"{e['name']}: {e['msg']}" for e in result.get("errors", [])]
        return {"url": "", "ok": bool(result.get("ok")), "status": 200 if result.get("ok")
                else 503, "errors": errors}

    def _queues(self, queue_metrics: Mapping | None) -> dict:
        queues: dict = {"depths": None, "error": None, "oldest_unprocessed_seconds": None,
                        "oldest_as_of": None}
        try:
            queues["depths"] = self.queue_depths()
        except (QueueError, OSError) as exc:
            log.warning("cannot read the queue depths: %s", exc)
            queues["error"] = "RabbitMQ does not answer"
        result = (queue_metrics or {}).get("last_result") or {}
        if "oldest_unprocessed_seconds" in result:
            queues["oldest_unprocessed_seconds"] = result["oldest_unprocessed_seconds"]
            queues["oldest_as_of"] = _iso(queue_metrics["last_run"])
        return queues

    def _failed(self, job: Mapping | None, depths: Mapping[str, int] | None,
                detail: bool) -> dict:
        failed: dict = {"depth": (depths or {}).get(self.failed_queue), "as_of": None,
                        "left": None, "crashes": None}
        result = (job or {}).get("last_result")
        if result:
            failed["as_of"] = _iso(job["last_run"])
            failed["left"] = result.get("left_by_why", {})
            crashes = result.get("left_crashes", [])
            failed["crashes"] = [
                {"crash_id": c.get("crash_id"), "why": c.get("why"),
                 "failed_at": c.get("failed_at"),
                 **({"reason": c.get("reason")} if detail else {})} for c in crashes]
        return failed

    def _ledger(self, now: dt.datetime) -> dict:
        hours = self.records.ledger_hours(now - dt.timedelta(hours=LEDGER_HOURS), now)
        unbalanced = [h["hour"] for h in hours if not h["balanced"]]
        ids = self.records.difference_samples(unbalanced, IDS_PER_DIFFERENCE)
        return {"hours": [ledger_hour(h, ids) for h in hours],
                "unbalanced": len(unbalanced)}

    @staticmethod
    def _problems(crontabber: dict, jobs: list[dict], queues: dict, ledger: dict,
                  services: dict[str, dict]) -> list[str]:
        problems = []
        if not crontabber["running"]:
            problems.append("the crontabber is not running")
        problems += [f"job {j['name']} is failing ({j['error_count']} failures in a row)"
                     for j in jobs if j["error_count"]]
        if queues["error"]:
            problems.append(queues["error"])
        if ledger["unbalanced"]:
            problems.append(f"{ledger['unbalanced']} hour(s) of the last {LEDGER_HOURS} do "
                            "not balance in the ledger")
        problems += [f"{name} is unhealthy" for name, s in services.items() if not s["ok"]]
        return problems

