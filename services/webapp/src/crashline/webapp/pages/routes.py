"""Mounting the pages on the app: routes at the reference's URLs, static files, security
headers and HTML error pages."""

from __future__ import annotations

from pathlib import Path

import falcon

from crashline.webapp.catalog import Catalog
from crashline.webapp.crashes import CrashService
from crashline.webapp.errors import serialize_error
from crashline.webapp.pages.base import PageContext
from crashline.webapp.pages.products import HomePage, ProductPage
from crashline.webapp.pages.render import PageHeadersMiddleware, Renderer, html_errors
from crashline.webapp.pages.report import ReportPage, ReprocessPage
from crashline.webapp.pages.search import QuickSearchPage, SearchPage
from crashline.webapp.pages.signature import SignaturePage
from crashline.webapp.pages.sources import SourceLinks
from crashline.webapp.pages.symbols import MissingSymbolsPage
from crashline.webapp.pages.topcrashers import TopCrashersPage
from crashline.webapp.settings import WebappSettings
from crashline.webapp.supersearch.service import SuperSearch
from crashline.webapp.symbols import SymbolService

STATIC = Path(__file__).resolve().parent / "static"


def add_pages(app: falcon.App, settings: WebappSettings, search: SuperSearch,
              crashes: CrashService, catalog: Catalog, symbols: SymbolService) -> None:
    renderer = Renderer()
    ctx = PageContext(settings, renderer, search, crashes, catalog,
                      SourceLinks(settings.webapp_source_urls))
    app.add_middleware(PageHeadersMiddleware())
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
