"""The webapp's Falcon application: the JSON API under ``/api/``, the pages, and the health
routes."""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import logging

import falcon
import falcon.media

from crashline.common.annotations import annotation_policy
from crashline.common.database.pool import DatabaseError
from crashline.common.health import Heartbeat, add_health_routes
from crashline.common.queue import QueueError
from crashline.common.search import SearchError
from crashline.common.storage import StorageError
from crashline.webapp.api.base import Resource
from crashline.webapp.api.crashes import (
    CrashVerifyResource,
    ProcessedCrashResource,
    RawCrashResource,
    ReprocessingResource,
)
from crashline.webapp.api.monitoring import MonitoringResource
from crashline.webapp.api.pipeline import (
    LedgerCrashesResource,
    LedgerResource,
    MissingProcessedCrashResource,
)
from crashline.webapp.api.products import ProductsResource, ProductVersionsResource
from crashline.webapp.api.signatures import (
    BugsResource,
    CrashSignatureResource,
    SignatureFirstDateResource,
    SignaturesByBugsResource,
)
from crashline.webapp.api.supersearch import (
    DataDictionaryResource,
    SuperSearchFieldsResource,
    SuperSearchResource,
    SuperSearchUnredactedResource,
)
from crashline.webapp.api.symbols import MissingSymbolsResource, UploadSymbolsResource
from crashline.webapp.api.versions import NoOpResource, VersionStringResource
from crashline.webapp.auth.middleware import TOKEN_HEADER, AuthMiddleware, is_api
from crashline.webapp.auth.sessions import Cookies, SessionStore
from crashline.webapp.auth.store import AccountStore
from crashline.webapp.auth.tokencache import TokenCache
from crashline.webapp.catalog import Catalog
from crashline.webapp.crashes import CrashService
from crashline.webapp.errors import handle_unexpected, not_found, serialize_error, unavailable
from crashline.webapp.metrics import MetricsMiddleware
from crashline.webapp.monitoring import Heartbeats, Monitor
from crashline.webapp.openapi import OpenAPIResource
from crashline.webapp.pages.routes import add_pages
from crashline.webapp.pipeline_records import PipelineRecords
from crashline.webapp.priority import PriorityRequests
from crashline.webapp.ratelimit import RateLimiter, RateLimitMiddleware
from crashline.webapp.services import Services
from crashline.webapp.settings import WebappSettings, get_webapp_settings
from crashline.webapp.supersearch.service import SuperSearch
from crashline.webapp.symbols import SymbolServerResource, SymbolService

log = logging.getLogger(__name__)


def _json_default(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


dumps = functools.partial(json.dumps, default=_json_default, ensure_ascii=False)


class ApiHeadersMiddleware:
    """``nosniff`` everywhere; CORS and ``?pretty=print`` on the API.

    Any origin may read what anonymous callers get (public data). What a token unlocks is
    readable cross-origin only by the origins in ``token_origins``: a page elsewhere that
    holds a user's token must not be able to read protected data with it by default.
    """

    def __init__(self, token_origins: frozenset[str] = frozenset()):
        self.token_origins = token_origins

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource,
                         req_succeeded: bool) -> None:
        resp.set_header("X-Content-Type-Options", "nosniff")
        if not is_api(req):
            return
        origin = req.get_header("Origin")
        trusted = origin is not None and origin in self.token_origins
        if req.method == "OPTIONS":  # a preflight: may the real request carry a token?
            resp.set_header("Access-Control-Allow-Origin", origin if trusted else "*")
            resp.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
            resp.set_header("Access-Control-Allow-Headers",
                            f"{TOKEN_HEADER}, Content-Type" if trusted else "Content-Type")
            resp.set_header("Access-Control-Max-Age", "86400")
            resp.vary = ["Origin"]
        elif getattr(req.context, "session", None) is not None:
            # A signed-in browser reading through the pages' links: same-site only (the
            # cookie is SameSite), never cached by anyone else.
            resp.vary = ["Origin", TOKEN_HEADER, "Cookie"]
            if not resp.cache_control:
                resp.cache_control = ["private", "no-store"]
        elif req.get_header(TOKEN_HEADER) is None:
            resp.set_header("Access-Control-Allow-Origin", "*")
        else:
            if trusted:
                resp.set_header("Access-Control-Allow-Origin", origin)
            resp.vary = ["Origin", TOKEN_HEADER]
            if not resp.cache_control:  # shared caches must not keep what a token unlocked
                resp.cache_control = ["private", "no-store"]
        if req.params.get("pretty") == "print" and resp.text is None and resp.data is None:
            media = resp.media
            if media is not None:
                resp.text = dumps(media, indent=2, sort_keys=True) + "\n"


class UnknownService:
    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        raise not_found(f"No service called '{name}'")

    on_post = on_get


class ApiIndex:
    def __init__(self, resources: list[Resource]):
        self.body = {"openapi": "/api/openapi.json",
                     "endpoints": {r.name: f"/api/{r.name}/" for r in resources}}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.body


def _unavailable(what: str):
    def handler(req, resp, exc, params):
        log.warning("%s failed on %s %s: %s", what, req.method, req.path, exc)
        raise unavailable(what)

    return handler


def create_app(settings: WebappSettings | None = None,
               services: Services | None = None) -> falcon.App:
    settings = settings or get_webapp_settings()
    services = services or Services(settings)
    accounts = AccountStore(services.db, TokenCache(settings.webapp_token_cache_size))
    limiter = RateLimiter(services.db, settings.webapp_rate_limit_window)
    sessions = SessionStore(services.db, dt.timedelta(hours=settings.webapp_session_idle_hours),
                            dt.timedelta(days=settings.webapp_session_max_days))
    cookies = Cookies(settings.webapp_cookie_secure)

    app = falcon.App(middleware=[
        MetricsMiddleware(),
        ApiHeadersMiddleware(frozenset(settings.webapp_cors_token_origins)),
        # Rate limits first: a request is counted before its token costs a lookup.
        RateLimitMiddleware(limiter, settings.webapp_rate_limit_anonymous,
                            settings.webapp_rate_limit_authenticated,
                            settings.webapp_trust_x_real_ip,
                            settings.webapp_rate_limit_search_anonymous,
                            settings.webapp_rate_limit_search_authenticated,
                            known_user=accounts.cached_user),
        AuthMiddleware(accounts, sessions, cookies),
    ])
    app.req_options.strip_url_path_trailing_slash = True
    json_handler = falcon.media.JSONHandler(dumps=dumps)
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    app.set_error_serializer(serialize_error)
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(SearchError, _unavailable("The search engine"))
    app.add_error_handler(DatabaseError, _unavailable("The database"))
    app.add_error_handler(StorageError, _unavailable("Crash storage"))
    app.add_error_handler(QueueError, _unavailable("The queue"))

    annotations = annotation_policy(settings)
    search = SuperSearch(services.search, settings.search_retention_weeks,
                         settings.webapp_index_cache_seconds)
    priority = PriorityRequests(services.db, services.publisher, services.queues.priority,
                                settings.webapp_priority_interval)
    crashes = CrashService(services, priority, annotations)
    catalog = Catalog(services.db)
    records = PipelineRecords(services.db)
    symbols = SymbolService(services, settings, search.indices)
    health_checks = {
        "database": services.db.check,
        "search": services.search.check,
        "storage": lambda: services.storage.check(),
        "queue": services.publisher.check,
    }
    own_health = Heartbeat(health_checks, settings.webapp_heartbeat_cache_seconds)
    monitor = Monitor(
        records, services.publisher.depths, services.queues.failed,
        Heartbeats(settings.webapp_monitor_services, settings.webapp_monitor_timeout,
                   settings.webapp_heartbeat_cache_seconds),
        lambda: own_health.result()[1],
        dt.timedelta(minutes=settings.webapp_crontabber_quiet_minutes))
    resources: list[Resource] = [
        SuperSearchResource(search),
        SuperSearchUnredactedResource(search),
        SuperSearchFieldsResource(),
        DataDictionaryResource(annotations),
        ProcessedCrashResource(crashes),
        RawCrashResource(services, crashes),
        ReprocessingResource(crashes),
        CrashVerifyResource(services),
        CrashSignatureResource(services),
        SignatureFirstDateResource(catalog),
        BugsResource(catalog),
        SignaturesByBugsResource(catalog),
        ProductVersionsResource(catalog),
        ProductsResource(catalog),
        VersionStringResource(search),
        NoOpResource(),
        MissingProcessedCrashResource(records),
        LedgerResource(records),
        LedgerCrashesResource(records),
        UploadSymbolsResource(symbols),
        MissingSymbolsResource(symbols),
        MonitoringResource(monitor),
    ]
    for resource in resources:
        app.add_route(f"/api/{resource.name}", resource)
    openapi = OpenAPIResource(resources)
    app.add_route("/api/openapi.json", openapi)
    app.add_route("/api", ApiIndex(resources))
    app.add_route("/api/{name}", UnknownService())
    app.add_route("/symbols/{debug_file}/{debug_id}/{file_name}", SymbolServerResource(symbols))
    add_pages(app, settings, search, crashes, catalog, symbols, accounts_store=accounts,
              sessions=sessions, cookies=cookies, limiter=limiter, monitor=monitor,
              annotations=annotations, openapi=openapi.document)

    add_health_routes(app, "crashline-webapp", health_checks,
                      heartbeat_cache_seconds=settings.webapp_heartbeat_cache_seconds)
    return app
