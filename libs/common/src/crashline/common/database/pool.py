"""A thread-safe psycopg2 connection pool with a transaction context manager."""

from __future__ import annotations

import contextlib
import select
import threading
from collections.abc import Iterator

import psycopg2
import psycopg2.extras
import psycopg2.pool

from crashline.common.settings import CommonSettings, get_settings


class DatabaseError(Exception):
    """PostgreSQL could not be reached or refused a statement."""


def connection_is_dead(conn: psycopg2.extensions.connection) -> bool:
    """True for an idle connection the server has dropped. A restarting server closes every
    connection (with a last error message), so its socket turns readable while a live idle
    connection has nothing to read: one ``select`` with no wait, no round trip."""
    if conn.closed:
        return True
    try:
        readable, _, _ = select.select([conn], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class Database:
    def __init__(self, dsn: str, minconn: int = 1, maxconn: int = 8):
        self.dsn = dsn
        self.minconn = minconn
        self.maxconn = maxconn
        self._pool: psycopg2.pool.ThreadedConnectionPool | None = None
        # Created on first use (a database that is down must not stop a service from
        # starting), by one thread only: a second pool would leak its connections.
        self._pool_lock = threading.Lock()

    def _get_pool(self) -> psycopg2.pool.ThreadedConnectionPool:
        pool = self._pool
        if pool is not None:
            return pool
        with self._pool_lock:
            if self._pool is None:
                try:
                    self._pool = psycopg2.pool.ThreadedConnectionPool(
                        self.minconn, self.maxconn, self.dsn, connect_timeout=5
                    )
                except psycopg2.Error as exc:
                    raise DatabaseError(f"cannot connect to PostgreSQL: {exc}".strip()) from exc
            return self._pool

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor in one transaction: committed on success, rolled back on error.

        A connection that broke is discarded rather than returned to the pool.
        """
        pool = self._get_pool()
        try:
            conn = self._checkout(pool)
        except psycopg2.pool.PoolError as exc:
            raise DatabaseError(f"no free PostgreSQL connection: {exc}") from exc
        except psycopg2.OperationalError as exc:  # opening a new connection failed
            raise DatabaseError(f"cannot connect to PostgreSQL: {exc}".strip()) from exc
        broken = False
        try:
            # `with conn` commits or rolls back; it does not close the connection.
            with conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                yield cur
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            broken = True
            raise DatabaseError(f"PostgreSQL connection failed: {exc}".strip()) from exc
        finally:
            pool.putconn(conn, close=broken or conn.closed != 0)

    def _checkout(self, pool: psycopg2.pool.ThreadedConnectionPool):
        """A live connection: pooled ones that died while idle (say, the server restarted)
        are closed and the next one tried, then a fresh one, so no caller pays for them."""
        for _ in range(self.maxconn):
            conn = pool.getconn()
            if not connection_is_dead(conn):
                return conn
            pool.putconn(conn, close=True)
        return pool.getconn()  # every pooled one was dead: this one is new

    def fetch_all(self, sql: str, args: tuple | dict = ()) -> list[dict]:
        """The rows of one read-only statement, in a transaction of its own."""
        with self.transaction() as cur:
            cur.execute(sql, args)
            return cur.fetchall()

    def check(self) -> None:
        with self.transaction() as cur:
            cur.execute("SELECT 1")

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.closeall()
                self._pool = None


def database_from_settings(settings: CommonSettings | None = None) -> Database:
    settings = settings or get_settings()
    return Database(settings.database_url, settings.database_pool_min, settings.database_pool_max)
