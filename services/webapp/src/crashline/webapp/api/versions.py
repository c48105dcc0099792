"""VersionString and NoOp, two small endpoints of the reference's API."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

import falcon
from pydantic import BaseModel, ConfigDict, Field

from crashline.webapp.api.base import Operation, Resource
from crashline.webapp.auth.principal import ANONYMOUS
from crashline.webapp.errors import bad_param
from crashline.webapp.supersearch.dates import MAX_DAYS
from crashline.webapp.supersearch.service import SuperSearch

MAX_VERSIONS = 1000
_BETA_CHANNELS = ("beta", "aurora")
_BETA_RE = re.compile(r"\db\d*$")   # 120.0b3
_RC_RE = re.compile(r"rc\d*$")      # 120.0rc1


class VersionStringParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product: Annotated[str, Field(min_length=1, max_length=200, description="Product name")]
    channel: Annotated[str, Field(min_length=1, max_length=200, description="Release channel")]
    build_id: Annotated[str, Field(pattern=r"^[0-9]{1,18}$", description=(
        "Build id (YYYYMMDDhhmmss)"))]


def version_strings(versions: list[str], channel: str) -> list[str]:
    """The reference's rule for betas: a build that shipped as a beta (``b``) is that beta,
    not its release candidates; one that did not is only its ``rc`` versions."""
    if channel.lower() not in _BETA_CHANNELS:
        return versions
    betas = [v for v in versions if _BETA_RE.search(v)]
    if betas:
        return [v for v in versions if not _RC_RE.search(v)]
    return [v for v in versions if _RC_RE.search(v)]


class VersionStringResource(Resource):
    name = "VersionString"
    operations = (Operation(
        "GET", "The version strings of a build", params=VersionStringParams,
        responses={200: "{hits: [{version_string}], total}"},
        description=("The versions that crash reports of this product, channel and build id "
                     "carried (over the retained search indices, up to a year). On beta and "
                     "aurora channels, bNN versions hide rcNN ones; without a bNN, only "
                     "rcNN ones count.")),)

    def __init__(self, search: SuperSearch):
        self.search = search

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = self.read_params(req, VersionStringParams)
        now = dt.datetime.now(dt.UTC)
        start = now - min(self.search.retention, dt.timedelta(days=MAX_DAYS))
        result = self.search.run({
            "product": [f"={params.product}"], "release_channel": [f"={params.channel}"],
            "build_id": [params.build_id], "date": [f">={start.isoformat()}"],
            "_results_number": ["0"], "_facets": ["version"],
            "_facets_size": [str(MAX_VERSIONS)],
        }, ANONYMOUS, now)
        versions = sorted(row["term"] for row in result["facets"]["version"])
        hits = [{"version_string": v} for v in version_strings(versions, params.channel)]
        resp.media = {"hits": hits, "total": len(hits)}


class NoOpParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product: str | None = Field(None, max_length=200, description=(
        "Anything but \"bad\" (which answers 400, to test error handling)"))


class NoOpResource(Resource):
    name = "NoOp"
    operations = (Operation(
        "GET", "Does nothing (for testing clients)", params=NoOpParams,
        responses={200: "{hits: [], total: 0}", 400: "product=bad"}),)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = self.read_params(req, NoOpParams)
        if params.product == "bad":
            raise bad_param("product", "Bad value for parameter 'product'")
        resp.media = {"hits": [], "total": 0}
