"""/api/Monitoring/ and /monitoring/ over the crontabber's tables in PostgreSQL (a schema of
their own: job states and the ledger are one per site), the real RabbitMQ, and services
that answer or do not."""

from __future__ import annotations

import datetime as dt

import pytest
from psycopg2.extras import Json
from site_client import site_app
from web_integration import settings_from_env

from crashline.common.health import serve_health

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC)
HOUR = (NOW - dt.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
MISSING_ID = "0bad0000-0000-4000-8000-000000260101"


@pytest.fixture(scope="module")
def healthy_service():
    """A service whose heartbeat answers (the common health server, as the processor's)."""
    server = serve_health("127.0.0.1", 0, "crashline-test", {"database": lambda: None})
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def site(web_env, web_search, make_schema, healthy_service):
    url = make_schema()
    settings = settings_from_env({**web_env, "CRASHLINE_DATABASE_URL": url},
                                 webapp_heartbeat_cache_seconds=0, webapp_monitor_services={
                                     "processor": healthy_service,
                                     "crontabber": "http://127.0.0.1:9"})
    client, accounts, db = site_app(settings, web_search, url)
    yield client, accounts, db
    db.close()


def add_job(db, name: str, *, last_run: dt.datetime, errors: int = 0,
            last_error: dict | None = None, result: dict | None = None) -> None:
    with db.transaction() as cur:
        cur.execute(
            "INSERT INTO cron_jobs (name, created_at, next_run, last_run, last_success, "
            "error_count, last_error, last_result) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (name, last_run - dt.timedelta(days=1), last_run + dt.timedelta(minutes=4),
             last_run, None if errors else last_run, errors,
             Json(last_error) if last_error else None, Json(result) if result else None))


def test_without_the_crontabber_every_part_says_so(site):
    client, _, _ = site
    body = client.simulate_get("/api/Monitoring/").json
    assert body["ok"] is False
    assert body["crontabber"]["running"] is False and body["crontabber"]["jobs"] == []
    assert "never run" in body["crontabber"]["message"]
    assert body["queues"]["depths"] is not None  # asked of RabbitMQ, not of a job
    assert body["failed"]["crashes"] is None and body["ledger"]["hours"] == []
    page = client.simulate_get("/monitoring/").text
    assert "never run against this database" in page
    assert "unknown until the crontabber's queue-metrics job runs" in page
    assert "The failed-crashes job has not run yet" in page
    assert "the ledger job has not run" in page


def test_jobs_queues_failures_ledger_and_heartbeats(site):
    client, accounts, db = site
    error = {"type": "OperationalError", "value": "could not reach the secret-host",
             "traceback": "Traceback (most recent call last): ...", "at": NOW.isoformat(),
             "slot": NOW.isoformat()}
    add_job(db, "signatures", last_run=NOW - dt.timedelta(minutes=1), errors=3,
            last_error=error)
    add_job(db, "queue-metrics", last_run=NOW - dt.timedelta(minutes=1),
            result={"depths": {}, "oldest_unprocessed_seconds": 754.2})
    add_job(db, "failed-crashes", last_run=NOW - dt.timedelta(minutes=2), result={
        "requeued": 0, "left": 1, "left_by_why": {"permanent": 1},
        "left_crashes": [{"crash_id": MISSING_ID, "why": "permanent",
                          "reason": "KeyError: 'private-annotation'",
                          "failed_at": NOW.isoformat()}]})
    with db.transaction() as cur:
        cur.execute("INSERT INTO ledger_hours VALUES (%s, 3, 3, 0, 2, 2, %s, false, now())",
                    (HOUR, Json({"stored_not_processed": 1})))
        cur.execute("INSERT INTO ledger_differences VALUES (%s, 'stored_not_processed', %s)",
                    (HOUR, MISSING_ID))

    body = client.simulate_get("/api/Monitoring/").json
    assert body["crontabber"]["running"] is True
    jobs = {j["name"]: j for j in body["crontabber"]["jobs"]}
    failing = jobs["signatures"]
    assert failing["status"] == "failing" and failing["error_count"] == 3
    assert failing["retry_at"] == failing["next_run"]
    assert failing["last_error"] == {"type": "OperationalError", "at": error["at"],
                                     "slot": error["slot"]}  # no message for anonymous
    assert "job signatures is failing (3 failures in a row)" in body["problems"]
    assert body["queues"]["oldest_unprocessed_seconds"] == 754.2
    assert body["failed"]["crashes"] == [{"crash_id": MISSING_ID, "why": "permanent",
                                          "failed_at": NOW.isoformat()}]
    [hour] = body["ledger"]["hours"]
    assert hour["differences"] == {"stored_not_processed": {
        "count": 1, "crash_ids": [MISSING_ID], "more": None}}
    assert body["ledger"]["unbalanced"] == 1
    services = body["services"]
    assert services["processor"]["ok"] is True and services["crontabber"]["ok"] is False
    assert "errors" not in services["crontabber"]
    assert services["webapp"]["ok"] is True

    # An admin sees the messages, tracebacks, failure reasons and heartbeat errors.
    accounts.create_user("monitor-admin", None, permissions=["admin"])
    key, _ = accounts.create_token("monitor-admin", ["admin"])
    detail = client.simulate_get("/api/Monitoring/", headers={"Auth-Token": key}).json
    failing = {j["name"]: j for j in detail["crontabber"]["jobs"]}["signatures"]
    assert failing["last_error"]["value"] == "could not reach the secret-host"
    assert failing["last_error"]["traceback"].startswith("Traceback")
    assert detail["failed"]["crashes"][0]["reason"] == "KeyError: 'private-annotation'"
    assert detail["services"]["crontabber"]["errors"][0].startswith("does not answer")

    page = client.simulate_get("/monitoring/").text
    assert 'data-job="signatures" data-status="failing"' in page
    assert f'href="/report/index/{MISSING_ID}"' in page
    assert "secret-host" not in page and "private-annotation" not in page
    admin_page = client.simulate_get("/monitoring/", headers={"Auth-Token": key}).text
    assert "secret-host" in admin_page and "private-annotation" in admin_page


def test_a_crontabber_that_stopped_is_named(site):
    client, _, db = site
    with db.transaction() as cur:
        cur.execute("UPDATE cron_jobs SET last_run = last_run - interval '2 hours'")
    body = client.simulate_get("/api/Monitoring/").json
    assert body["crontabber"]["running"] is False
    assert "the crontabber is not running" in body["crontabber"]["message"]
    assert "the crontabber is not running" in body["problems"]


def test_pages_built_on_the_jobs_say_when_the_crontabber_is_not_running(site):
    """First dates and bugs come from the crontabber's jobs: while it does not run, the
    signature and top crashers pages still answer, and say why those may be missing."""
    client, _, db = site
    with db.transaction() as cur:
        cur.execute("INSERT INTO products (name) VALUES ('Quiet') ON CONFLICT DO NOTHING")
        cur.execute("UPDATE cron_jobs SET last_run = last_run - interval '2 hours'")
    pages = ["/signature/?signature=NoSuchSignature", "/topcrashers/?product=Quiet"]
    for path in pages:
        page = client.simulate_get(path)
        assert page.status_code == 200, (path, page.text[-500:])
        assert 'class="crontabber-note' in page.text, path
        assert "the crontabber is not running" in page.text, path
        assert 'href="/monitoring/"' in page.text, path
    with db.transaction() as cur:
        cur.execute("UPDATE cron_jobs SET last_run = now()")
    for path in pages:
        assert "the crontabber is not running" not in client.simulate_get(path).text, path
