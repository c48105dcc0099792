"""Rate limits per client, shared by every webapp worker through PostgreSQL.

A fixed window per client: one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` counts the
request and tells whether the client is over its limit.

Every API request is counted by address first, before its ``Auth-Token`` is looked up, so
guessing tokens (and the database lookup behind each guess) is limited like anything else:
requests without a token at the anonymous limit, requests with one at the authenticated
limit. A request whose token authenticates is then counted per user too, at the
authenticated limit, wherever it comes from; once its token is cached, in the same
statement as its address, which also reads the accounts' generation (auth/tokencache.py):
one round trip to PostgreSQL for the whole request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

import falcon
import psycopg2

from crashline.common.database import Database
from crashline.common.database.pool import DatabaseError, connection_is_dead
from crashline.webapp.auth.middleware import TOKEN_HEADER, is_api
from crashline.webapp.errors import APIError

log = logging.getLogger(__name__)


class Counted(NamedTuple):
    hits: dict[str, int]  # requests in this window, by client
    reset: int  # seconds until the window ends
    accounts_generation: int


class RateLimiter:
    """Counts on one autocommit connection per thread: a single round trip per request, and
    no WAL flush to wait for (a lost counter only resets a limit)."""

    def __init__(self, db: Database, window: int):
        self.db = db
        self.window = window
        self._local = threading.local()
        self._last_cleanup = 0.0
        self._lock = threading.Lock()

    def _execute(self, sql: str, args: tuple) -> list[tuple] | None:
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
                return cur.fetchall() if cur.description else None
        except psycopg2.Error as exc:
            if conn is not None:
                conn.close()
            self._local.conn = None
            raise DatabaseError(f"rate-limit counter failed: {exc}".strip()) from exc

    def hit(self, *clients: str, now: float | None = None) -> Counted:
        """Count one request of each of ``clients``, in one statement that also reads the
        accounts' generation (auth/tokencache.py: a cached token costs no round trip)."""
        now = time.time() if now is None else now
        start = math.floor(now / self.window) * self.window
        rows = self._execute(
            "WITH counted AS ("
            "  INSERT INTO rate_limit_counters (client, window_start, hits) "
            "  SELECT client, to_timestamp(%s), 1 FROM unnest(%s::text[]) AS client "
            "  ON CONFLICT (client, window_start) "
            "  DO UPDATE SET hits = rate_limit_counters.hits + 1 RETURNING client, hits) "
            "SELECT client, hits, (SELECT generation FROM account_generation) FROM counted",
            (start, sorted(set(clients))))  # one lock order for every statement
        self._cleanup(now)
        return Counted({client: hits for client, hits, _ in rows},
                       max(1, math.ceil(start + self.window - now)), rows[0][2])

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
    before the token is resolved, ``process_resource`` (per user) after. A token the cache
    already knows (``known_user``) is counted per user in ``process_request`` too, in the
    same statement as its address: one round trip for the whole request."""

    def __init__(self, limiter: RateLimiter, anonymous: int, authenticated: int,
                 trust_x_real_ip: bool = False, search_anonymous: int = 0,
                 search_authenticated: int = 0,
                 known_user: Callable[[str], int | None] = lambda key: None):
        self.limiter = limiter
        self.anonymous = anonymous
        self.authenticated = authenticated
        self.trust_x_real_ip = trust_x_real_ip
        self.search_anonymous = search_anonymous
        self.search_authenticated = search_authenticated
        self.known_user = known_user

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.rate_counted_user = None
        req.context.accounts_generation = None
        if not is_api(req) or req.method == "OPTIONS":
            return
        address = client_address(req, self.trust_x_real_ip)
        key = req.get_header(TOKEN_HEADER)
        if key is None:
            self._count(resp, [(f"ip:{address}", self.anonymous, "anonymous clients",
                                ", or use an API token for a higher limit")])
            return
        counters = [(f"token-ip:{address}", self.authenticated,
                     "requests with an API token from one address", "")]
        user_id = self.known_user(key.strip())
        if user_id is not None:
            counters.append((f"user:{user_id}", self.authenticated, "this user", ""))
            req.context.rate_counted_user = user_id
        counted = self._count(resp, counters)
        if counted is not None:
            req.context.accounts_generation = counted.accounts_generation

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource,
                         params) -> None:
        principal = getattr(req.context, "principal", None)
        if is_api(req) and principal is not None and principal.authenticated:
            if principal.user_id != getattr(req.context, "rate_counted_user", None):
                self._count(resp, [(f"user:{principal.user_id}", self.authenticated,
                                    "this user", "")])
        elif getattr(resource, "searches", False) and req.method == "GET":
            if principal is not None and principal.authenticated:
                self._count(resp, [(f"search-user:{principal.user_id}",
                                    self.search_authenticated,
                                    "searches from the pages by one user", "")])
            else:
                address = client_address(req, self.trust_x_real_ip)
                self._count(resp, [(f"search-ip:{address}", self.search_anonymous,
                                    "searches from the pages by signed-out visitors from "
                                    "one address", ", or sign in for a higher limit")])

    def _count(self, resp: falcon.Response, counters: list[tuple[str, int, str, str]]
               ) -> Counted | None:
        """Count each (client, limit, who, hint) with a limit; 429 past the first exceeded.
        The headers tell the tightest of them."""
        counters = [counter for counter in counters if counter[1]]
        if not counters:
            return None
        try:
            counted = self.limiter.hit(*(client for client, *_ in counters))
        except DatabaseError as exc:
            # Better to serve without limits for a moment than to refuse everyone.
            log.warning("rate limiter unavailable, not limiting: %s", exc)
            return None
        hits, reset = counted.hits, counted.reset
        client, limit, *_ = min(counters, key=lambda c: c[1] - hits[c[0]])  # the tightest
        remaining = limit - hits[client]
        resp.set_header("X-RateLimit-Limit", str(limit))
        resp.set_header("X-RateLimit-Remaining", str(max(0, remaining)))
        resp.set_header("X-RateLimit-Reset", str(reset))
        for client, limit, who, hint in counters:
            if hits[client] > limit:
                raise APIError(
                    falcon.HTTP_429,
                    f"Too many requests: the limit is {limit} per {self.limiter.window} "
                    f"seconds for {who}; retry in {reset} seconds{hint}",
                    headers={"Retry-After": str(reset)})
        return counted
