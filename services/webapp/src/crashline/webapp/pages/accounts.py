"""Signing in and out, the profile page and the user's own API tokens (``/api/tokens/``,
the reference's URL).

A failed sign-in says the same whatever failed (no such user, an inactive one, a wrong
password) and costs the same time (one Argon2 verification in every case). Attempts are
counted per client address and per account name (hashed: a password typed into the name
field is never stored), through the API's rate-limit counters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

import falcon

from crashline.webapp.auth import csrf
from crashline.webapp.auth.principal import PERMISSIONS
from crashline.webapp.auth.store import AccountError
from crashline.webapp.errors import APIError, bad_param, forbidden, not_found
from crashline.webapp.pages.base import Page
from crashline.webapp.pages.render import url
from crashline.webapp.ratelimit import client_address

log = logging.getLogger(__name__)

SIGN_IN_FAILED = "Wrong username or password."
MAX_NEXT = 2000


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this site only (never another host)."""
    if (not value or len(value) > MAX_NEXT or not value.startswith("/")
            or value.startswith(("//", "/\\")) or not value.isprintable()):
        return "/"
    return value


def account_key(username: str) -> str:
    """The rate-limit counter of an account name, whatever the name (existing or not)."""
    digest = hashlib.sha256(username.strip().lower().encode("utf-8")).hexdigest()
    return f"login-user:{digest[:32]}"


def count_password_attempt(page: Page, req: falcon.Request, username: str) -> str:
    """Count a password check of ``username`` (signing in, or confirming a password change)
    per client address and per account; 429 past either limit. The client's address."""
    settings = page.ctx.settings
    address = client_address(req, settings.webapp_trust_x_real_ip)
    limits = {client: limit for client, limit in (
        (f"login-ip:{address}", settings.webapp_login_rate_limit_client),
        (account_key(username), settings.webapp_login_rate_limit_account)) if limit}
    if not limits:
        return address
    hits, reset, _ = page.ctx.limiter.hit(*limits)
    for client, limit in limits.items():
        if hits[client] > limit:
            # The same answer for either limit, and for names that exist or not.
            raise APIError(falcon.HTTP_429, "Too many sign-in attempts: try again in "
                                            f"{reset} seconds.",
                           headers={"Retry-After": str(reset)})
    return address


class LoginPage(Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        next_path = safe_next(req.get_param("next"))
        if req.context.session is not None:
            self.see_other(resp, next_path)
            return
        self._form(req, resp, next_path)

    def _form(self, req: falcon.Request, resp: falcon.Response, next_path: str, *,
              username: str = "", error: str = "",
              status: str = falcon.HTTP_200) -> None:
        # The sign-in form has no session to bind its CSRF token to: it pairs a cookie
        # with the hidden field instead (see auth/csrf.py).
        token = csrf.new_token()
        self.ctx.cookies.set_login_csrf(resp, token)
        self.render(req, resp, "login.html", status=status, login_csrf=token,
                    next_path=next_path, username=username, error=error,
                    cookies_refused=self._cookies_refused(req))

    def _cookies_refused(self, req: falcon.Request) -> bool:
        """Whether browsers will refuse our secure cookies here: plain http to a host that
        is not this machine (signing in would then seem to work and not stick)."""
        host = (req.forwarded_host or "").rsplit(":", 1)[0].strip("[]").lower()
        return (self.ctx.cookies.secure and req.forwarded_scheme == "http"
                and host not in ("localhost", "127.0.0.1", "::1"))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = self.form(req)  # the CSRF check has passed (pages/forms.py)
        username = self.field(form, "username").strip()
        password = self.field(form, "password")
        next_path = safe_next(self.field(form, "next"))
        address = count_password_attempt(self, req, username)
        user = self.ctx.accounts.authenticate(username, password) if username else None
        if user is None:
            log.info("sign-in failed from %s", address)
            self._form(req, resp, next_path, username=username, error=SIGN_IN_FAILED,
                       status=falcon.HTTP_400)
            return
        session_id = self.ctx.sessions.create(user.id)
        log.info("%s signed in from %s", user.username, address)
        self.ctx.cookies.set_session(resp, session_id)
        self.ctx.cookies.clear_login_csrf(resp)
        self.see_other(resp, next_path)


class LogoutPage(Page):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        session_id = self.ctx.cookies.read(req, self.ctx.cookies.session)
        if session_id:
            self.ctx.sessions.delete(session_id)
        self.ctx.cookies.clear_session(resp)
        self.see_other(resp, "/")


class ProfilePage(Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.signed_in(req)
        self._show(req, resp, notice={"password": "Your password is changed; your other "
                                                  "sessions have ended."}.get(
                       req.get_param("changed") or ""))

    def _show(self, req: falcon.Request, resp: falcon.Response, *, notice: str | None = None,
              error: str | None = None, status: str = falcon.HTTP_200) -> None:
        principal = self.principal(req)
        accounts = self.ctx.accounts
        self.render(req, resp, "profile.html", status=status,
                    user=accounts.get_user(principal.username),
                    descriptions=accounts.permission_descriptions(),
                    permissions=PERMISSIONS, admins=accounts.administrators(),
                    access_request=self.ctx.settings.webapp_access_request,
                    sessions=self.ctx.sessions.count(principal.user_id),
                    notice=notice, error=error)


class PasswordPage(ProfilePage):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        principal, session = self.signed_in(req)
        form = self.form(req)
        current, new, again = (self.field(form, n) for n in ("current", "new", "again"))
        count_password_attempt(self, req, principal.username)  # no brute force from here
        error = None
        if self.ctx.accounts.authenticate(principal.username, current) is None:
            error = "The current password is wrong."
        elif new != again:
            error = "The two new passwords differ."
        else:
            try:
                self.ctx.accounts.set_password(principal.username, new,
                                               actor=principal.username,
                                               keep_session=session.id_hash)
            except AccountError as exc:
                error = f"{exc}."
        if error:
            self._show(req, resp, error=error, status=falcon.HTTP_400)
            return
        self.see_other(resp, "/profile/?changed=password")


class TokensPage(Page):
    """The user's tokens: create one (its key shown once, in the answer to the form),
    list them, revoke them."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.signed_in(req)
        revoked = req.get_param("revoked")
        self._show(req, resp, notice=f"Token {revoked} is revoked: it no longer works."
                   if revoked and revoked.isdigit() else None)

    def _show(self, req: falcon.Request, resp: falcon.Response, *, new_key: str | None = None,
              new_token=None, notice: str | None = None, error: str | None = None,
              status: str = falcon.HTTP_200) -> None:
        principal = self.principal(req)
        settings = self.ctx.settings
        now = dt.datetime.now(dt.UTC)
        self.render(req, resp, "tokens.html", status=status,
                    tokens=self.ctx.accounts.list_tokens(principal.username), now=now,
                    grantable=[p for p in PERMISSIONS if principal.has(p)],
                    default_days=min(settings.webapp_token_days, settings.webapp_token_max_days),
                    max_days=settings.webapp_token_max_days, new_key=new_key,
                    site_url=req.forwarded_prefix,
                    new_token=new_token, notice=notice, error=error)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        principal, _ = self.signed_in(req)
        form = self.form(req)
        wanted = set(form.get("permission", []))
        unknown = sorted(wanted - set(PERMISSIONS))
        if unknown:
            raise bad_param("permission", f"unknown permission(s): {', '.join(unknown)}")
        beyond = sorted(wanted - principal.permissions)
        if beyond:
            # Never more than the user has: a token is a subset of its owner.
            raise forbidden(f"A token cannot carry {', '.join(beyond)}: you do not have "
                            f"{'it' if len(beyond) == 1 else 'them'}.")
        days_text = self.field(form, "days", str(self.ctx.settings.webapp_token_days))
        max_days = self.ctx.settings.webapp_token_max_days
        if not days_text.isdigit() or not 1 <= int(days_text) <= max_days:
            raise bad_param("days", f"a token lives 1 to {max_days} days")
        notes = self.field(form, "notes").strip()
        try:
            key, token = self.ctx.accounts.create_token(
                principal.username, wanted, int(days_text), notes, actor=principal.username)
        except AccountError as exc:
            self._show(req, resp, error=f"{exc}.", status=falcon.HTTP_400)
            return
        self._show(req, resp, new_key=key, new_token=token)


class TokenRevokePage(Page):
    def on_post(self, req: falcon.Request, resp: falcon.Response, token_id: int) -> None:
        principal, _ = self.signed_in(req)
        try:
            # Only the user's own token: another id answers as if it did not exist.
            self.ctx.accounts.delete_token(token_id, owner=principal.username,
                                           actor=principal.username)
        except AccountError:
            raise not_found(f"You have no token {token_id}.") from None
        self.see_other(resp, url("/api/tokens/", revoked=token_id))
