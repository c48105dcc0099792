"""Rate limits per client, shared by every webapp worker through PostgreSQL.

A fixed window per client: one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` counts the
request and tells whether the client is over its limit.

Every API request is counted by address first, before its ``Auth-Token`` is looked up, so
guessing tokens (and the database lookup behind each guess) is limited like anything else:
requests without a token at the anonymous limit, requests with one at the authenticated
limit. A request whose token authenticates is then counted per user too, at the
authenticated limit, wherever it comes from.
"""

from __future__ import annotations

import logging
import math
import threading
import time

import falcon
import psycopg2

from crashline.common.database import Database
from crashline.common.database.pool import DatabaseError, connection_is_dead
from crashline.webapp.auth.middleware import TOKEN_HEADER, is_api
from crashline.webapp.errors import APIError

log = logging.getLogger(__name__)


class RateLimiter:
    """Counts on one autocommit connection per thread: a single round trip per request, and
    no WAL flush to wait for (a lost counter only resets a limit)."""

    def __init__(self, db: Database, window: int):
        self.db = db
        self.window = window
        self._local = threading.local()
        self._last_cleanup = 0.0
        self._lock = threading.Lock()

    def _execute(self, sql: str, args: tuple) -> tuple | None:
        conn = getattr(self._local, "conn", None)
        try:
            if conn is None or connection_is_dead(conn):  # e.g. the server restarted
                if conn is not None:
                    conn.close()
                conn = self._local.conn = psycopg2.connect(self.db.dsn, connect_timeout=5)
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("SET synchronous_commit TO OFF")
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchone() if cur.description else None
        except psycopg2.Error as exc:
            if conn is not None:
                conn.close()
            self._local.conn = None
            raise DatabaseError(f"rate-limit counter failed: {exc}".strip()) from exc

    def hit(self, client: str, now: float | None = None) -> tuple[int, int]:
        """Count one request of ``client``: (requests in this window, seconds until it ends)."""
        now = time.time() if now is None else now
        start = math.floor(now / self.window) * self.window
        (hits,) = self._execute(
            "INSERT INTO rate_limit_counters (client, window_start, hits) "
            "VALUES (%s, to_timestamp(%s), 1) "
            "ON CONFLICT (client, window_start) "
            "DO UPDATE SET hits = rate_limit_counters.hits + 1 RETURNING hits",
            (client, start))
        self._cleanup(now)
        return hits, max(1, math.ceil(start + self.window - now))

    def _cleanup(self, now: float) -> None:
        """Drop finished windows, once per window per process."""
        with self._lock:
            if now - self._last_cleanup < self.window:
                return
            self._last_cleanup = now
        self._execute("DELETE FROM rate_limit_counters WHERE window_start < to_timestamp(%s)",
                      (now - 2 * self.window,))


def client_address(req: falcon.Request, trust_x_real_ip: bool) -> str:
    if trust_x_real_ip:
        real = req.get_header("X-Real-IP")
        if real:
            return real.strip()[:64]
    return req.remote_addr or "unknown"


class RateLimitMiddleware:
    """Place it before the authentication middleware: ``process_request`` (per address) runs
    before the token is resolved, ``process_resource`` (per user) after."""

    def __init__(self, limiter: RateLimiter, anonymous: int, authenticated: int,
                 trust_x_real_ip: bool = False, search_anonymous: int = 0,
                 search_authenticated: int = 0):
        self.limiter = limiter
        self.anonymous = anonymous
        self.authenticated = authenticated
        self.trust_x_real_ip = trust_x_real_ip
        self.search_anonymous = search_anonymous
        self.search_authenticated = search_authenticated

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not is_api(req) or req.method == "OPTIONS":
            return
        address = client_address(req, self.trust_x_real_ip)
        if req.get_header(TOKEN_HEADER) is None:
            self._count(resp, f"ip:{address}", self.anonymous, "anonymous clients",
                        ", or use an API token for a higher limit")
        else:
            self._count(resp, f"token-ip:{address}", self.authenticated,
                        "requests with an API token from one address")

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource,
                         params) -> None:
        principal = getattr(req.context, "principal", None)
        if is_api(req) and principal is not None and principal.authenticated:
            self._count(resp, f"user:{principal.user_id}", self.authenticated, "this user")
        elif getattr(resource, "searches", False) and req.method == "GET":
            if principal is not None and principal.authenticated:
                self._count(resp, f"search-user:{principal.user_id}", self.search_authenticated,
                            "searches from the pages by one user")
            else:
                address = client_address(req, self.trust_x_real_ip)
                self._count(resp, f"search-ip:{address}", self.search_anonymous,
                            "searches from the pages by signed-out visitors from one address",
                            ", or sign in for a higher limit")

    def _count(self, resp: falcon.Response, client: str, limit: int, who: str,
               hint: str = "") -> None:
        if limit == 0:
            return
        try:
            hits, reset = self.limiter.hit(client)
        except DatabaseError as exc:
            # Better to serve without limits for a moment than to refuse everyone.
            log.warning("rate limiter unavailable, not limiting: %s", exc)
            return
        resp.set_header("X-RateLimit-Limit", str(limit))
        resp.set_header("X-RateLimit-Remaining", str(max(0, limit - hits)))
        resp.set_header("X-RateLimit-Reset", str(reset))
        if hits > limit:
            raise APIError(
                falcon.HTTP_429,
                f"Too many requests: the limit is {limit} per {self.limiter.window} seconds "
                f"for {who}; retry in {reset} seconds{hint}",
                headers={"Retry-After": str(reset)})
