"""Cross-site request forgery: every form POST to a page must come from one of our pages.

Two checks, both needed:

- the browser's ``Origin`` (else ``Referer``) names this host, when it sends one;
- the form carries the CSRF token: a signed-in user's is bound to their session (see
  ``sessions``); the sign-in form, which has no session yet, pairs a hidden field with a
  cookie that other sites can neither read nor set (``__Host-``, SameSite=Strict).

A request that authenticates with an ``Auth-Token`` header is exempt: a browser never adds
that header to a cross-site request, so it cannot be forged from another site.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

import falcon

from crashline.webapp.auth.middleware import TOKEN_HEADER
from crashline.webapp.auth.sessions import Cookies
from crashline.webapp.errors import forbidden

FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFUSED = ("This form did not come from this site, or it has expired (the CSRF check "
           "failed). Reload the page and try again.")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_origin(req: falcon.Request) -> bool:
    """Whether the browser says the request comes from a page of this host (True when it
    says nothing: the token decides then)."""
    source = req.get_header("Origin") or req.get_header("Referer")
    if not source:
        return True
    if source == "null":  # sandboxed frames, data: URLs, some redirects
        return False
    host = (req.get_header("Host") or "").lower()
    return urlsplit(source).netloc.lower() == host


def expected_token(req: falcon.Request, cookies: Cookies) -> str | None:
    session = getattr(req.context, "session", None)
    if session is not None:
        return session.csrf_token
    return cookies.read(req, cookies.login_csrf)


def check(req: falcon.Request, form: dict[str, list[str]], cookies: Cookies) -> None:
    """Refuse (403) a state-changing page request that may come from another site."""
    if req.method in SAFE_METHODS or req.get_header(TOKEN_HEADER) is not None:
        return
    expected = expected_token(req, cookies)
    given = form.get(FIELD, [""])
    if (not same_origin(req) or expected is None or len(given) != 1
            or not hmac.compare_digest(given[0].encode(), expected.encode())):
        raise forbidden(REFUSED)
