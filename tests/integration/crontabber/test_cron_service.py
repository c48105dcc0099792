"""The ``crashline crontabber`` commands and the ``crashline-crontabber`` daemon as processes,
with the real job registry, over the real backends: passes, job states, heartbeat, metrics,
and two daemons sharing the work without running a slot twice."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid

import psycopg2
import pytest
import requests
from crontabber_support.bugzilla import FakeBugzilla
from harness.services import BIN, ServiceProcess, free_port, wait_for

from crashline.common.database import Database
from crashline.crontabber.registry import JOBS

pytestmark = pytest.mark.integration

PORTS = range(19200, 19250)


@pytest.fixture
def env(cron_env, make_schema, tmp_path) -> dict[str, str]:
    """A fresh schema (the registry's jobs start with no state) and storage folder."""
    return {**cron_env, "CRASHLINE_DATABASE_URL": make_schema(),
            "CRASHLINE_STORAGE_PATH": str(tmp_path / "crashes"),
            "CRASHLINE_LOG_LEVEL": "WARNING"}


def crontabber(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("CRASHLINE_")}
    return subprocess.run([str(BIN / "crashline"), "crontabber", *args], env={**full, **env},
                          capture_output=True, text=True, timeout=300)


def states(env: dict[str, str]) -> dict[str, dict]:
    listing = crontabber(env, "list", "--json")
    assert listing.returncode == 0, listing.stderr
    return {row["job"]: row for row in json.loads(listing.stdout)}


def test_the_commands(env, backends):
    first = crontabber(env, "run")
    assert first.returncode == 0, first.stdout + first.stderr
    for job in JOBS:
        assert f"{job.name}: " in first.stdout
    assert "verify-processed: success" in first.stdout
    assert "storage-retention: disabled" in first.stdout

    jobs = states(env)
    assert set(jobs) == {job.name for job in JOBS}
    assert {row["status"] for name, row in jobs.items() if not row["disabled"]} == {"ok"}
    assert jobs["ledger"]["last_success"] and jobs["ledger"]["error_count"] == 0
    assert jobs["bug-associations"]["status"] == "disabled"
    assert jobs["verify-processed"]["depends_on"] == ["republish-pending"]
    table = crontabber(env, "list").stdout
    assert "LAST SUCCESS" in table and "CRASHLINE_CRONTABBER_BUGZILLA_URL" in table

    assert crontabber(env, "run-job", "prune-log").stdout.strip() == "prune-log: not_due"
    forced = crontabber(env, "run-job", "prune-log", "--force")
    assert forced.returncode == 0 and "prune-log: success" in forced.stdout

    marked = crontabber(env, "mark-success", "search-maintenance")
    assert marked.returncode == 0 and "marked successful" in marked.stdout
    assert crontabber(env, "reset", "prune-log").returncode == 0
    jobs = states(env)
    assert jobs["prune-log"]["status"] == "new" and jobs["prune-log"]["last_success"] is None

    unknown = crontabber(env, "run-job", "nope")
    assert unknown.returncode == 2 and "no job named 'nope'" in unknown.stderr


def test_a_failing_job_is_listed_broken_with_its_error(env, backends):
    broken = {**env, "CRASHLINE_CRONTABBER_BUGZILLA_URL": "http://127.0.0.1:1/rest"}
    ran = crontabber(broken, "run-job", "bug-associations")
    assert ran.returncode == 1 and "bug-associations: failure" in ran.stdout
    assert "BugzillaError" in ran.stdout
    job = states(broken)["bug-associations"]
    assert job["status"] == "broken" and job["error_count"] == 1
    assert job["last_error"]["type"] == "BugzillaError"
    assert job["backoff_until"] is not None
    table = crontabber(broken, "list").stdout
    assert "backing off until" in table and "last error: BugzillaError" in table


def test_an_unmigrated_database_is_named(crashline_env, env):
    schema = f"crontabber_bare_{uuid.uuid4().hex[:8]}"
    base = crashline_env["CRASHLINE_DATABASE_URL"]
    with psycopg2.connect(base) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
    try:
        bare = {**env, "CRASHLINE_DATABASE_URL": f"{base}?options=-csearch_path%3D{schema}"}
        result = crontabber(bare, "list")
        assert result.returncode == 2 and "run `crashline migrate`" in result.stderr
    finally:
        conn = psycopg2.connect(base)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()


def start_daemon(env: dict[str, str], tmp_path, name: str) -> ServiceProcess:
    port = free_port(PORTS)
    return ServiceProcess("crashline-crontabber", {
        **env, "CRASHLINE_METRICS_PORT": str(port),
        "CRASHLINE_CRONTABBER_POLL_SECONDS": "0.2"}, port, tmp_path / f"{name}.log")


def test_daemon_heartbeat_and_metrics(env, backends, tmp_path):
    with FakeBugzilla() as bugzilla:
        env = {**env, "CRASHLINE_CRONTABBER_BUGZILLA_URL": bugzilla.url}
        daemon = start_daemon(env, tmp_path, "daemon").wait_ready()
        try:
            wait_for(lambda: states(env)["bug-associations"]["last_success"], 60,
                     "the first pass")
            health = requests.get(f"{daemon.url}/__heartbeat__", timeout=10)
            assert health.status_code == 200, health.text
            assert health.json()["checks"]["jobs"]["ok"]
            assert requests.get(f"{daemon.url}/__version__", timeout=10).json()["name"] == \
                "crashline-crontabber"

            # the tracker fails; made due at once, the job breaks and the heartbeat says so
            bugzilla.status = 500
            assert crontabber(env, "reset", "bug-associations").returncode == 0

            def failing():
                answer = requests.get(f"{daemon.url}/__heartbeat__", timeout=10)
                return answer.json() if answer.status_code == 503 else None

            [error] = wait_for(failing, 60, "the heartbeat to fail")["errors"]
            assert error["name"] == "jobs" and "bug-associations broken" in error["msg"]
            broken = 'crashline_crontabber_job_broken{cron_job="bug-associations"} 1.0'

            def exported():  # job states are exported at the end of each pass
                text = requests.get(f"{daemon.url}/metrics", timeout=10).text
                return text if broken in text else None

            metrics = wait_for(exported, 30, "the broken job's gauge")
            assert 'crashline_crontabber_runs_total{cron_job="bug-associations",result="failure"}' \
                in metrics
            assert re.search(r'crashline_crontabber_runs_total\{cron_job="ledger",'
                             r'result="success"\} [1-9]', metrics)
            assert "crashline_queue_depth{" in metrics
        finally:
            assert daemon.stop() == 0, daemon.logs()


def test_two_daemons_never_run_a_slot_twice(env, backends, tmp_path):
    daemons = [start_daemon(env, tmp_path, f"daemon-{n}") for n in range(2)]
    try:
        for daemon in daemons:
            daemon.wait_ready()
        wanted = {job.name for job in JOBS} - {"storage-retention", "bug-associations"}

        def all_ran():
            return all(row["last_success"] for name, row in states(env).items()
                       if name in wanted)

        wait_for(all_ran, 90, "every job to run")
    finally:
        for daemon in daemons:
            assert daemon.stop() == 0, daemon.logs()
    db = Database(env["CRASHLINE_DATABASE_URL"])
    try:
        with db.transaction() as cur:
            cur.execute("SELECT name, slot, count(*) AS runs FROM cron_log "
                        "GROUP BY name, slot HAVING count(*) > 1")
            assert cur.fetchall() == []
            cur.execute("SELECT count(DISTINCT name) AS jobs FROM cron_log")
            assert cur.fetchone()["jobs"] == len(wanted)
    finally:
        db.close()
