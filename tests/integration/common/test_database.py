"""PostgreSQL: migrations applied in order, recorded, and safe to run twice."""

from __future__ import annotations

import threading
import uuid

import pytest
from harness.services import wait_for
from psycopg2.extensions import make_dsn

from crashline.common.database import apply_migrations, pending_migrations
from crashline.common.database.migrations_runner import available_migrations
from crashline.common.database.pool import Database, DatabaseError

pytestmark = pytest.mark.integration


def test_migrations_twice(database):
    apply_migrations(database)
    assert apply_migrations(database) == []
    assert pending_migrations(database) == []
    with database.transaction() as cur:
        cur.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        recorded = [(r["version"], r["name"]) for r in cur.fetchall()]
    assert recorded == [(m.version, m.name) for m in available_migrations()]


def test_migrations_are_ordered_and_unique():
    versions = [m.version for m in available_migrations()]
    assert versions == sorted(versions)
    assert len(versions) == len(set(versions))
    assert versions[0] == 1


def test_concurrent_runners_do_not_collide(database, settings):
    errors = []

    def run():
        db = Database(settings.database_url)
        try:
            apply_migrations(db)
        except Exception as exc:  # collect for the assertion below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_transaction_rolls_back_on_error(database):
    with database.transaction() as cur:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS t_rollback (x int)")
    with pytest.raises(ZeroDivisionError), database.transaction() as cur:
        cur.execute("INSERT INTO products (name) VALUES ('rollback-probe')")
        raise ZeroDivisionError
    with database.transaction() as cur:
        cur.execute("SELECT count(*) AS n FROM products WHERE name = 'rollback-probe'")
        assert cur.fetchone()["n"] == 0


def test_unreachable_database_is_a_clear_error():
    db = Database("postgresql://crashline:crashline@127.0.0.1:1/crashline")
    with pytest.raises(DatabaseError, match="cannot connect"):
        db.check()


def _connections_named(database, name: str) -> int:
    with database.transaction() as cur:
        cur.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = %s",
                    (name,))
        return cur.fetchone()["n"]


def test_first_use_from_many_threads_makes_one_pool(database, settings):
    name = f"crashline-pool-race-{uuid.uuid4().hex[:8]}"
    db = Database(make_dsn(settings.database_url, application_name=name), minconn=2, maxconn=8)
    start = threading.Barrier(8)
    pools = []

    def first_use():
        start.wait()
        pools.append(db._get_pool())

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(pool) for pool in pools}) == 1
    assert _connections_named(database, name) == 2  # minconn of the one pool
    db.close()
    # Nothing leaked (a closed connection's server process takes a moment to go).
    wait_for(lambda: _connections_named(database, name) == 0, 10, "the connections to close")


def test_fetch_all_reads_rows_as_dicts(database):
    rows = database.fetch_all("SELECT n, n * 2 AS double FROM generate_series(1, %s) AS n", (3,))
    assert rows == [{"n": 1, "double": 2}, {"n": 2, "double": 4}, {"n": 3, "double": 6}]
