"""Mounting the pages on the app: routes at the reference's URLs, static files, security
headers, the CSRF check of every form, and HTML error pages."""

from __future__ import annotations

from pathlib import Path

import falcon

from crashline.common.annotations import AnnotationPolicy
from crashline.webapp.auth.audit import AuditLog
from crashline.webapp.auth.sessions import Cookies, SessionStore
from crashline.webapp.auth.store import AccountStore
from crashline.webapp.catalog import Catalog
from crashline.webapp.crashes import CrashService
from crashline.webapp.errors import serialize_error
from crashline.webapp.monitoring import Monitor
from crashline.webapp.pages import accounts, docs, siteadmin
from crashline.webapp.pages.base import PageContext
from crashline.webapp.pages.forms import CsrfMiddleware
from crashline.webapp.pages.monitoring import MonitoringPage
from crashline.webapp.pages.products import HomePage, ProductPage
from crashline.webapp.pages.render import PageHeadersMiddleware, Renderer, html_errors
from crashline.webapp.pages.report import ReportPage, ReprocessPage
from crashline.webapp.pages.search import QuickSearchPage, SearchPage
from crashline.webapp.pages.signature import SignaturePage
from crashline.webapp.pages.sources import SourceLinks
from crashline.webapp.pages.symbols import MissingSymbolsPage
from crashline.webapp.pages.topcrashers import TopCrashersPage
from crashline.webapp.ratelimit import RateLimiter
from crashline.webapp.settings import WebappSettings
from crashline.webapp.sitestatus import SiteStatus
from crashline.webapp.supersearch.service import SuperSearch
from crashline.webapp.symbols import SymbolService

STATIC = Path(__file__).resolve().parent / "static"
TOKEN_ID = "{token_id:int(min=1, max=9223372036854775807)}"  # a bigint: larger ids are 404


def add_pages(app: falcon.App, settings: WebappSettings, search: SuperSearch,
              crashes: CrashService, catalog: Catalog, symbols: SymbolService, *,
              accounts_store: AccountStore,
              sessions: SessionStore, cookies: Cookies, limiter: RateLimiter,
              monitor: Monitor, annotations: AnnotationPolicy, openapi: dict) -> None:
    status = SiteStatus(accounts_store.db, settings.webapp_status_cache_seconds)

    def chrome(req: falcon.Request) -> dict:
        """What the frame of every page shows: who is signed in, the CSRF token of the
        sign-out form, the status banner."""
        session = getattr(req.context, "session", None)
        return {"principal": getattr(req.context, "principal", None),
                "csrf_token": session.csrf_token if session else None,
                "banner": status.current(), "request_path": req.path,
                "request_uri": req.relative_uri}

    renderer = Renderer(chrome)
    ctx = PageContext(settings, renderer, search, crashes, catalog,
                      SourceLinks(settings.webapp_source_urls), accounts_store, sessions,
                      cookies, AuditLog(accounts_store.db), status, limiter, monitor,
                      annotations, openapi)
    app.add_middleware(PageHeadersMiddleware())
    app.add_middleware(CsrfMiddleware(cookies))
    app.set_error_serializer(html_errors(renderer, serialize_error))
    app.add_static_route("/static", str(STATIC))
    app.add_route("/", HomePage(ctx))
    app.add_route("/home/product/{product}", ProductPage(ctx))
    app.add_route("/search", SearchPage(ctx))
    app.add_route("/search/quick", QuickSearchPage(ctx))
    app.add_route("/report/index/{crash_id}", ReportPage(ctx))
    app.add_route("/report/reprocess/{crash_id}", ReprocessPage(ctx))
    app.add_route("/topcrashers", TopCrashersPage(ctx))
    app.add_route("/signature", SignaturePage(ctx))
    app.add_route("/missing-symbols", MissingSymbolsPage(ctx, symbols))

    # Accounts and tokens (the reference's /api/tokens/ is a page).
    app.add_route("/login", accounts.LoginPage(ctx))
    app.add_route("/logout", accounts.LogoutPage(ctx))
    app.add_route("/profile", accounts.ProfilePage(ctx))
    app.add_route("/profile/password", accounts.PasswordPage(ctx))
    app.add_route("/api/tokens", accounts.TokensPage(ctx))
    app.add_route(f"/api/tokens/{TOKEN_ID}/revoke", accounts.TokenRevokePage(ctx))
    # Site administration (admin only).
    app.add_route("/siteadmin", siteadmin.UsersAdmin(ctx))
    app.add_route("/siteadmin/users/create", siteadmin.CreateUser(ctx))
    app.add_route("/siteadmin/users/permissions", siteadmin.UserPermissions(ctx))
    app.add_route("/siteadmin/users/active", siteadmin.UserActive(ctx))
    app.add_route("/siteadmin/tokens", siteadmin.TokensAdmin(ctx))
    app.add_route(f"/siteadmin/tokens/{TOKEN_ID}/revoke", siteadmin.TokenRevokeAdmin(ctx))
    app.add_route("/siteadmin/status", siteadmin.StatusAdmin(ctx))
    app.add_route("/siteadmin/status/clear", siteadmin.StatusClear(ctx))
    app.add_route("/siteadmin/indices", siteadmin.IndicesAdmin(ctx))
    app.add_route("/siteadmin/auditlog", siteadmin.AuditLogAdmin(ctx))
    # Documentation.
    app.add_route("/documentation", docs.DocumentationIndex(ctx))
    app.add_route("/documentation/datadictionary", docs.DataDictionaryPage(ctx))
    app.add_route("/documentation/supersearch", docs.SuperSearchGuide(ctx))
    app.add_route("/documentation/api", docs.ApiReferencePage(ctx))
    app.add_route("/documentation/send-crashes", docs.SendCrashesPage(ctx))
    # Operations.
    app.add_route("/monitoring", MonitoringPage(ctx))
