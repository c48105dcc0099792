"""Resolve the caller of every request: an ``Auth-Token`` header, else a sign-in session
cookie, on pages and on the API's reads (the raw crash and dump links of the crash page).
The API's POST endpoints never read the cookie: no change through the API can be forged
from another site (the pages' forms have their CSRF check)."""

from __future__ import annotations

import logging

import falcon

from crashline.common.database.pool import DatabaseError
from crashline.webapp.auth.principal import ANONYMOUS
from crashline.webapp.auth.sessions import Cookies, SessionStore
from crashline.webapp.auth.store import AccountStore, TokenRejected
from crashline.webapp.errors import forbidden, unavailable

log = logging.getLogger(__name__)

TOKEN_HEADER = "Auth-Token"
# Health checks, metrics and static files answer the same to everyone.
UNAUTHENTICATED_PREFIXES = ("/__", "/metrics", "/static/")
SAFE = frozenset({"GET", "HEAD"})
# Pages that keep the reference's URLs under /api/.
PAGES_UNDER_API = ("/api/tokens",)


def is_api(req: falcon.Request) -> bool:
    path = req.path
    if path in PAGES_UNDER_API or path.startswith(tuple(p + "/" for p in PAGES_UNDER_API)):
        return False
    return path == "/api" or path.startswith("/api/")


class AuthMiddleware:
    def __init__(self, accounts: AccountStore, sessions: SessionStore | None = None,
                 cookies: Cookies | None = None):
        self.accounts = accounts
        self.sessions = sessions
        self.cookies = cookies

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.principal = ANONYMOUS
        req.context.session = None
        if req.method == "OPTIONS" or req.path.startswith(UNAUTHENTICATED_PREFIXES):
            return
        try:
            key = req.get_header(TOKEN_HEADER)
            if key is not None:
                req.context.principal = self.accounts.resolve_token(
                    key.strip(), generation=getattr(req.context, "accounts_generation", None))
            elif self.sessions is not None and (not is_api(req) or req.method in SAFE):
                self._resolve_session(req, resp)
        except TokenRejected as exc:
            raise forbidden(str(exc)) from None
        except DatabaseError as exc:
            log.warning("account lookup failed: %s", exc)
            raise unavailable("The account database") from None

    def _resolve_session(self, req: falcon.Request, resp: falcon.Response) -> None:
        session_id = self.cookies.read(req, self.cookies.session)
        if not session_id:
            return
        found = self.sessions.resolve(session_id)
        if found is None:  # ended, expired, or its user deactivated: forget the cookie
            self.cookies.clear_session(resp)
            return
        req.context.principal, req.context.session = found
