"""The home page (products and their active versions) and each product's page (crash volume
per version, links into top crashers)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import falcon
from pydantic import BaseModel, ConfigDict, Field

from crashline.webapp.errors import not_found
from crashline.webapp.pages.base import Page, exact, newest_first
from crashline.webapp.pages.charts import histogram_chart
from crashline.webapp.params import NoParams


class ProductParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: Literal["7", "30"] = Field("7", description="Window of the graph, in days")


class HomePage(Page):
    searches = True

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.read(req, NoParams)
        catalog = self.ctx.catalog
        versions: dict[str, list[str]] = {}
        for row in catalog.product_versions(active_days=self.ctx.settings.webapp_active_days):
            versions.setdefault(row["product"], []).append(row["version"])
        week = self.search(req, {"_results_number": ["0"], "_facets": ["product"],
                                 "_facets_size": ["1000"]})
        counts = {f["term"]: f["count"] for f in week["facets"].get("product", [])}
        products = [{"name": p["name"], "versions": newest_first(sorted(set(
            versions.get(p["name"], [])))), "week": counts.get(p["name"], 0)}
            for p in catalog.products()]
        self.render(req, resp, "home.html", products=products)


class ProductPage(Page):
    searches = True

    def on_get(self, req: falcon.Request, resp: falcon.Response, product: str) -> None:
        params, _ = self.read(req, ProductParams)
        if product not in {p["name"] for p in self.ctx.catalog.products()}:
            raise not_found(f"No crash report has come from a product called {product!r}.")
        days = int(params.days)
        end = dt.datetime.now(dt.UTC)
        start = (end - dt.timedelta(days=days - 1)).replace(hour=0, minute=0, second=0,
                                                             microsecond=0)
        result = self.search(req, {
            "product": [exact(product)], "date": [f">={start.isoformat()}"],
            "_results_number": ["0"], "_facets": ["version", "process_type"],
            "_facets_size": ["100"], "_histogram.date": ["version"],
            "_histogram_interval.date": ["day"]})
        chart = histogram_chart(f"{product}: crashes per day and version, last {days} days",
                                result["facets"].get("histogram_date", []), "version",
                                start, end)
        active = {r["version"] for r in self.ctx.catalog.product_versions(
            [product], active_days=self.ctx.settings.webapp_active_days)}
        window_counts = {f["term"]: f["count"] for f in result["facets"].get("version", [])}
        versions = [{"version": v, "count": window_counts.get(v, 0)}
                    for v in newest_first(sorted(active | set(window_counts)))]
        process_types = [f["term"] for f in result["facets"].get("process_type", [])]
        self.render(req, resp, "product.html", product=product, days=days, chart=chart,
                    total=result["total"], versions=versions, process_types=process_types)
