"""The admin pages (``/siteadmin/``, ``admin`` permission only): users and their
permissions, every user's tokens, the site-wide status message, the search indices, and the
audit log every change made here (or with ``crashline admin``) is written to.

An admin grants only permissions they have themselves, and cannot take their own ``admin``
away or deactivate themselves (the site would be left without anyone to undo it).
"""

from __future__ import annotations

import datetime as dt

import falcon

from crashline.webapp.auth.principal import ADMIN, PERMISSIONS, Principal
from crashline.webapp.auth.store import AccountError
from crashline.webapp.errors import bad_param, forbidden, not_found
from crashline.webapp.pages.base import Page
from crashline.webapp.pages.render import url
from crashline.webapp.sitestatus import SEVERITIES, StatusError

AUDIT_PAGE = 100


def check_grant(actor: Principal, target: str, current: frozenset[str],
                wanted: frozenset[str]) -> tuple[list[str], list[str]]:
    """(to grant, to revoke) to give ``target`` exactly ``wanted``; raises 403 for what the
    actor may not do."""
    unknown = sorted(wanted - set(PERMISSIONS))
    if unknown:
        raise bad_param("permission", f"unknown permission(s): {', '.join(unknown)}")
    grant, revoke = sorted(wanted - current), sorted(current - wanted)
    beyond = [p for p in grant if not actor.has(p)]
    if beyond:
        raise forbidden(f"You cannot grant {', '.join(beyond)}: you do not have "
                        f"{'it' if len(beyond) == 1 else 'them'} yourself.")
    if target == actor.username and ADMIN in revoke:
        raise forbidden("You cannot take your own admin permission away; ask another admin.")
    return grant, revoke


class AdminPage(Page):
    section = ""

    def render_admin(self, req: falcon.Request, resp: falcon.Response, template: str,
                     **context: object) -> None:
        self.render(req, resp, template, section=self.section, **context)


class UsersAdmin(AdminPage):
    section = "users"

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.admin(req)
        self._show(req, resp, notice=req.get_param("done"))

    def _show(self, req, resp, *, notice: str | None = None, error: str | None = None,
              status: str = falcon.HTTP_200) -> None:
        self.render_admin(req, resp, "siteadmin/users.html", status=status,
                          users=self.ctx.accounts.list_users(), permissions=PERMISSIONS,
                          notice=notice, error=error)


class CreateUser(UsersAdmin):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor, _ = self.admin(req)
        form = self.form(req)
        username = self.field(form, "username").strip()
        wanted = frozenset(form.get("permission", []))
        grant, _ = check_grant(actor, username, frozenset(), wanted)
        try:
            self.ctx.accounts.create_user(username, self.field(form, "password") or None,
                                          self.field(form, "email").strip() or None, grant,
                                          actor=actor.username)
        except AccountError as exc:
            self._show(req, resp, error=f"{exc}.", status=falcon.HTTP_400)
            return
        self.see_other(resp, url("/siteadmin/", done=f"User {username} created."))


class UserPermissions(UsersAdmin):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor, _ = self.admin(req)
        form = self.form(req)
        username = self.field(form, "username")
        try:
            user = self.ctx.accounts.get_user(username)
        except AccountError:
            raise not_found(f"There is no user {username!r}.") from None
        grant, revoke = check_grant(actor, username, user.permissions,
                                    frozenset(form.get("permission", [])))
        accounts = self.ctx.accounts
        if grant:
            accounts.grant(username, grant, actor=actor.username)
        if revoke:  # also strips them from the user's tokens
            accounts.revoke(username, revoke, actor=actor.username)
        changes = [f"+{p}" for p in grant] + [f"-{p}" for p in revoke]
        self.see_other(resp, url("/siteadmin/", done=f"{username}: "
                                 f"{', '.join(changes) or 'no change'}."))


class UserActive(UsersAdmin):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor, _ = self.admin(req)
        form = self.form(req)
        username = self.field(form, "username")
        active = self.field(form, "active")
        if active not in ("true", "false"):
            raise bad_param("active", "true or false")
        if username == actor.username and active == "false":
            raise forbidden("You cannot deactivate yourself; ask another admin.")
        try:
            self.ctx.accounts.set_active(username, active == "true", actor=actor.username)
        except AccountError:
            raise not_found(f"There is no user {username!r}.") from None
        what = "activated" if active == "true" else "deactivated (signed out everywhere)"
        self.see_other(resp, url("/siteadmin/", done=f"{username} {what}."))


class TokensAdmin(AdminPage):
    section = "tokens"

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.admin(req)
        self.render_admin(req, resp, "siteadmin/tokens.html",
                          tokens=self.ctx.accounts.list_tokens(), now=dt.datetime.now(dt.UTC),
                          notice=req.get_param("done"))


class TokenRevokeAdmin(AdminPage):
    def on_post(self, req: falcon.Request, resp: falcon.Response, token_id: int) -> None:
        actor, _ = self.admin(req)
        try:
            self.ctx.accounts.delete_token(token_id, actor=actor.username)
        except AccountError:
            raise not_found(f"There is no token {token_id}.") from None
        self.see_other(resp, url("/siteadmin/tokens/", done=f"Token {token_id} revoked."))


class StatusAdmin(AdminPage):
    section = "status"

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.admin(req)
        self._show(req, resp)

    def _show(self, req, resp, *, error: str | None = None,
              status: str = falcon.HTTP_200) -> None:
        self.render_admin(req, resp, "siteadmin/status.html", status=status,
                          severities=SEVERITIES, history=self.ctx.status.recent(),
                          error=error)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor, _ = self.admin(req)
        form = self.form(req)
        try:
            self.ctx.status.post(self.field(form, "message"), self.field(form, "severity"),
                                 actor.username)
        except StatusError as exc:
            self._show(req, resp, error=f"{exc}.", status=falcon.HTTP_400)
            return
        self.see_other(resp, "/siteadmin/status/")


class StatusClear(AdminPage):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor, _ = self.admin(req)
        self.ctx.status.clear(actor.username)
        self.see_other(resp, "/siteadmin/status/")


class IndicesAdmin(AdminPage):
    section = "indices"

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.admin(req)
        indices = self.ctx.search.backend.index_stats()
        self.render_admin(req, resp, "siteadmin/indices.html", indices=indices,
                          retention=self.ctx.settings.search_retention_weeks,
                          index_template=self.ctx.settings.search_index_template,
                          total_docs=sum(i["docs"] for i in indices),
                          total_bytes=sum(i["bytes"] for i in indices))


class AuditLogAdmin(AdminPage):
    section = "auditlog"

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.admin(req)
        page_text = req.get_param("page") or "1"
        if not page_text.isdigit() or not 1 <= int(page_text) <= 1_000_000:
            raise bad_param("page", "a page number from 1")
        page = int(page_text)
        total, entries = self.ctx.audit.entries(AUDIT_PAGE, (page - 1) * AUDIT_PAGE)
        self.render_admin(req, resp, "siteadmin/auditlog.html", entries=entries, total=total,
                          page=page, pages=max(1, -(-total // AUDIT_PAGE)))
