"""The signature report: who is affected and since when, in one search (summary facets,
the chosen aggregation, crashes per day split by a chosen field, and a page of reports),
plus first sighting, bugs and, for ``view_pii``, the users' comments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import falcon
from pydantic import BaseModel, ConfigDict, Field

from crashline.common.fields import FIELDS, get_field
from crashline.webapp.auth.principal import VIEW_PII
from crashline.webapp.errors import ParamError, bad_param
from crashline.webapp.pages.base import Page, exact
from crashline.webapp.pages.charts import histogram_chart, horizontal_bars
from crashline.webapp.pages.render import url
from crashline.webapp.pages.search import refine_value
from crashline.webapp.supersearch.params import MAX_WINDOW
from crashline.webapp.supersearch.query import parse_search, visibility

PER_PAGE = 50
REPORT_COLUMNS = ["uuid", "date", "product", "version", "build_id", "platform", "reason",
                  "address", "uptime", "install_time", "startup_crash"]
SUMMARY_FACETS = {"platform": "Operating system", "product": "Product",
                  "process_type": "Process type", "cpu_arch": "Architecture",
                  "report_type": "Report type"}
# (upper bound in seconds, label); the last is open-ended
UPTIME_BUCKETS = ((60, "< 1 min"), (300, "1–5 min"), (900, "5–15 min"), (3600, "15–60 min"),
                  (None, "> 1 h"))
# The page's own parameters; everything else is a Super Search filter.
OWN = frozenset({"signature", "page", "_graph", "_aggregation"})
SEARCH_META = frozenset({"_columns", "_sort"})


class SignatureParams(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    signature: str = Field(min_length=1, max_length=10_000)
    page: int = Field(1, ge=1, le=MAX_WINDOW // PER_PAGE)
    graph: str = Field("product", alias="_graph", max_length=100,
                       description="Field splitting the crashes-per-day graph")
    aggregation: str = Field("version", alias="_aggregation", max_length=100,
                             description="Field of the aggregation table")


def _is_search_param(name: str) -> bool:
    return name not in OWN and (not name.startswith("_") or name in SEARCH_META)


def uptime_buckets(histogram: Sequence[Mapping]) -> list[tuple[str, int]]:
    """Counts per uptime range from a 60-second ``histogram_uptime`` facet."""
    counts = [0] * len(UPTIME_BUCKETS)
    for bucket in histogram:
        start = bucket.get("term")
        if not isinstance(start, int | float):
            continue
        index = next(i for i, (limit, _) in enumerate(UPTIME_BUCKETS)
                     if limit is None or start < limit)
        counts[index] += int(bucket["count"])
    return [(label, n) for (_, label), n in zip(UPTIME_BUCKETS, counts, strict=True)]


class SignaturePage(Page):
    searches = True

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params, filters = self.read(req, SignatureParams, extra=_is_search_param)
        signature = params.signature
        principal = self.principal(req)
        visible = visibility(principal)
        search_params = {**filters, "signature": [exact(signature)]}
        try:
            window = parse_search(search_params, principal, dt.datetime.now(dt.UTC)).window
        except ParamError as exc:
            raise bad_param(exc.param, exc.message) from None
        result = self.search(req, {
            **search_params,
            "_columns": ["uuid", *(filters.get("_columns") or REPORT_COLUMNS)],
            "_sort": filters.get("_sort") or ["-date"],
            "_results_number": [str(PER_PAGE)],
            "_results_offset": [str((params.page - 1) * PER_PAGE)],
            "_facets": [*SUMMARY_FACETS, params.aggregation, "_histogram.uptime",
                        "_cardinality.install_time", "signature_moved_from"],
            "_aggs.product.version": ["_cardinality.install_time"],
            "_histogram.date": [params.graph],
            "_histogram_interval.date": ["day"],
            "_histogram_interval.uptime": ["60"],
            "_facets_size": ["50"]})
        facets = result["facets"]
        summary = [(title, facets.get(name, [])) for name, title in SUMMARY_FACETS.items()]
        chart = histogram_chart(f"Crashes per day by {params.graph}",
                                facets.get("histogram_date", []), params.graph,
                                window.start, window.end)
        aggregation = facets.get(params.aggregation, [])
        aggregation_chart = horizontal_bars(
            f"Crashes by {params.aggregation}", [(str(f["term"]), f["count"])
                                                 for f in aggregation[:15]],
            x_label="Crashes", y_label=params.aggregation)
        # Where crashes went when a reprocessing changed their signature (symbols that
        # arrived late): the crashes now elsewhere that had this one before.
        moved_away = self.search(req, {
            **filters, "signature_moved_from": [exact(signature)], "_results_number": ["0"],
            "_facets": ["signature"], "_facets_size": ["20"]})["facets"].get("signature", [])
        comments = None
        if principal.has(VIEW_PII):
            comments = self.search(req, {
                **search_params, "user_comments": ["!__null__"],
                "_columns": ["uuid", "date", "useragent_locale", "user_comments"],
                "_sort": ["-date"], "_results_number": ["50"], "_facets_size": ["0"]})["hits"]
        catalog = self.ctx.catalog
        first = next(iter(catalog.signature_first_dates([signature])), None)
        bugs: dict[int, list[str]] = {}
        for row in catalog.bugs_of_signatures([signature]):
            bugs.setdefault(int(row["bug_id"]), []).append(row["signature"])
        columns = filters.get("_columns") or REPORT_COLUMNS
        agg_field = get_field(params.aggregation)
        own = {"signature": [signature], "_graph": [params.graph],
               "_aggregation": [params.aggregation]}

        def aggregation_link(term: object) -> str | None:
            value = refine_value(agg_field, term) if agg_field else None
            return value and url("/search/", search_params, **{params.aggregation: value})

        self.render(
            req, resp, "signature.html", signature=signature, params=params,
            filters=filters, window=window, total=result["total"], hits=result["hits"],
            columns=["uuid", *[c for c in columns if c != "uuid"]], summary=summary,
            page=params.page, sort=(filters.get("_sort") or ["-date"])[0],
            list_path="/signature/", list_params={**filters, **own},
            refine_params=search_params, get_field=get_field, refine=refine_value,
            aggregation_link=aggregation_link,
            facet_fields=[f for f in FIELDS if f.facetable and visible(f)],
            products=facets.get("product", []),
            installs=(facets.get("cardinality_install_time") or {}).get("value", 0),
            uptime=uptime_buckets(facets.get("histogram_uptime", [])), chart=chart,
            aggregation=aggregation, aggregation_chart=aggregation_chart,
            moved_here=facets.get("signature_moved_from", []), moved_away=moved_away,
            comments=comments, first=first, bugs=sorted(bugs.items(), reverse=True),
            crontabber=self.ctx.monitor.crontabber(),
            pages=-(-min(result["total"], MAX_WINDOW) // PER_PAGE), per_page=PER_PAGE)
