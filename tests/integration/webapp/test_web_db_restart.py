"""PostgreSQL restarts under load: once it is back, no request fails.

The server restarted here is a private throwaway cluster (``harness.postgres``), never the
shared one of the local stack. Token-authenticated requests exercise the three ways the
webapp uses PostgreSQL: the per-address and per-user rate-limit counters (their own
connections), the token lookup and the endpoint's query (the pool).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

import falcon.testing
import pytest
from harness.postgres import PrivatePostgres, unavailable_reason
from web_integration import settings_from_env

from crashline.common.database import Database, apply_migrations
from crashline.webapp.app import create_app
from crashline.webapp.auth.store import AccountStore
from crashline.webapp.services import Services

pytestmark = pytest.mark.integration

LOAD_THREADS = 6


@pytest.fixture(scope="module")
def private_postgres():
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = PrivatePostgres().start()
    yield server
    server.stop()


@pytest.mark.parametrize("quiet_during_restart", [True, False],
                         ids=["idle-connections", "continuous-load"])
def test_no_request_fails_once_postgres_is_back(private_postgres, web_env, web_services,
                                                caplog, quiet_during_restart):
    db = Database(private_postgres.dsn, minconn=1, maxconn=8)
    apply_migrations(db)
    accounts = AccountStore(db)
    name = f"restart-{uuid.uuid4().hex[:8]}"
    accounts.create_user(name, None)
    key, _ = accounts.create_token(name)
    settings = settings_from_env(web_env, database_url=private_postgres.dsn,
                                 webapp_rate_limit_anonymous=1_000_000,
                                 webapp_rate_limit_authenticated=1_000_000)
    services = Services(settings, db=db, search=web_services.search)
    client = falcon.testing.TestClient(create_app(settings, services))

    results: list[tuple[float, float, int]] = []  # (started, finished, status) of requests
    running, stop = threading.Event(), threading.Event()
    running.set()

    def load():
        while not stop.is_set():
            running.wait()
            started = time.time()
            response = client.simulate_get("/api/Products/", headers={"Auth-Token": key})
            results.append((started, time.time(), response.status_code))

    caplog.set_level(logging.WARNING, logger="crashline")
    threads = [threading.Thread(target=load) for _ in range(LOAD_THREADS)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)  # every thread has its connections by now, and the pool several
        if quiet_during_restart:  # the connections sit idle in the pool while it restarts
            running.clear()
            time.sleep(0.2)
        private_postgres.restart()
        back = time.time()  # pg_ctl -w returned: the server accepts connections
        running.set()
        time.sleep(3.0)
    finally:
        stop.set()
        running.set()
        for t in threads:
            t.join(30)
        db.close()

    before = [status for started, _, status in results if started < back]
    after = [status for started, _, status in results if started >= back]
    assert before.count(200) > LOAD_THREADS  # the load ran before the restart
    assert len(after) > 10 * LOAD_THREADS  # and after it
    assert set(after) == {200}, f"{len(after) - after.count(200)} of {len(after)} failed"
    # Once the requests caught by the restart have ended, nothing logs a database failure.
    settled = max(finished for started, finished, _ in results if started < back)
    late_warnings = [r.getMessage() for r in caplog.records if r.created > settled]
    assert not [m for m in late_warnings if "not limiting" in m or "failed" in m], \
        late_warnings[:5]
