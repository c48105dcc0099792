"""The missing-symbols report (``/missing-symbols/``): which symbol files crashes missed, most
crashes first, with their products and versions, and whether the store has them by now."""

from __future__ import annotations

import falcon

from crashline.webapp.api.symbols import MissingSymbolsParams
from crashline.webapp.pages.base import Page, PageContext
from crashline.webapp.symbols import SymbolService

WINDOWS = (1, 3, 7, 14, 28)


class MissingSymbolsPage(Page):
    searches = True  # an aggregation over every crash of the window

    def __init__(self, ctx: PageContext, symbols: SymbolService):
        super().__init__(ctx)
        self.symbols = symbols

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params, _ = self.read(req, MissingSymbolsParams)
        report = self.symbols.missing(params.days, params.product or [], params.limit)
        self.render(req, resp, "missing_symbols.html", report=report, params=params,
                    windows=sorted({*WINDOWS, params.days}),
                    products=[p["name"] for p in self.ctx.catalog.products()])
