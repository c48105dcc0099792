"""Products and their versions, as the processor records them."""

from __future__ import annotations

import falcon
from pydantic import BaseModel, ConfigDict, Field

from crashline.webapp.api.base import Operation, Resource
from crashline.webapp.catalog import Catalog


class ProductVersionsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product: list[str] | None = Field(None, max_length=100, description="Only these products")
    release_channel: list[str] | None = Field(None, max_length=100,
                                              description="Only these release channels")
    active_days: int | None = Field(None, ge=1, le=3650, description=(
        "Only versions with a crash in the last N days"))


class ProductVersionsResource(Resource):
    name = "ProductVersions"
    operations = (Operation(
        "GET", "Product versions seen in crash reports", params=ProductVersionsParams,
        responses={200: "{hits: [{product, version, release_channel, first_date, last_date}], "
                        "total}, newest first"}),)

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = self.read_params(req, ProductVersionsParams)
        rows = self.catalog.product_versions(params.product, params.release_channel,
                                             params.active_days)
        hits = [{**r, "first_date": r["first_date"].isoformat(),
                 "last_date": r["last_date"].isoformat()} for r in rows]
        resp.media = {"hits": hits, "total": len(hits)}


class ProductsResource(Resource):
    name = "Products"
    operations = (Operation("GET", "Products seen in crash reports",
                            params=type("NoParams", (BaseModel,),
                                        {"model_config": ConfigDict(extra="forbid")}),
                            responses={200: "{hits: [{product, sort_order, first_seen}], "
                                            "total}"}),)

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.read_params(req, self.operations[0].params)
        hits = [{"product": r["name"], "sort_order": r["sort_order"],
                 "first_seen": r["first_seen"].isoformat()} for r in self.catalog.products()]
        resp.media = {"hits": hits, "total": len(hits)}
