"""Resolve the caller of every API request from its ``Auth-Token`` header."""

from __future__ import annotations

import logging

import falcon

from crashline.common.database.pool import DatabaseError
from crashline.webapp.auth.principal import ANONYMOUS
from crashline.webapp.auth.store import AccountStore, TokenRejected
from crashline.webapp.errors import forbidden, unavailable

log = logging.getLogger(__name__)

TOKEN_HEADER = "Auth-Token"
# Health checks, metrics and static files answer the same to everyone.
UNAUTHENTICATED_PREFIXES = ("/__", "/metrics", "/static/")


def is_api(req: falcon.Request) -> bool:
    return req.path == "/api" or req.path.startswith("/api/")


class AuthMiddleware:
    def __init__(self, accounts: AccountStore):
        self.accounts = accounts

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.principal = ANONYMOUS
        # Pages authenticate like the API until they have a login of their own.
        if req.method == "OPTIONS" or req.path.startswith(UNAUTHENTICATED_PREFIXES):
            return
        key = req.get_header(TOKEN_HEADER)
        if key is None:
            return
        try:
            req.context.principal = self.accounts.resolve_token(key.strip())
        except TokenRejected as exc:
            raise forbidden(str(exc)) from None
        except DatabaseError as exc:
            log.warning("token lookup failed: %s", exc)
            raise unavailable("The account database") from None
