"""Top crashers: the signatures of a product (versions, process type, platform) ranked by
count over a window, with the change of rank and share against the window before it.

Two searches compute it: the window, with per-signature facets (platforms, startup
crashes, uptime, installs, garbage collection), and the preceding window of the same
length, twice as deep, for the previous ranks. A signature absent from the previous list is
"new" (as in the reference, a signature ranked beyond it there counts as new too).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import falcon
from pydantic import BaseModel, ConfigDict, Field, field_validator

from crashline.webapp.errors import bad_param
from crashline.webapp.pages.base import Page, exact, newest_first
from crashline.webapp.pages.render import url
from crashline.webapp.params import query_params

WINDOWS = (1, 3, 7, 14, 28)
SIZES = (50, 100, 200, 300)
ANY = "any"
OS_COLUMNS = 4
STARTUP_UPTIME = 60   # seconds: a crash this early counts toward the "startup window"

SIGNATURE_FACETS = ["platform", "startup_crash", "is_garbage_collecting",
                    "_cardinality.install_time", "_histogram.uptime"]


class TopCrashersParams(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    product: str = Field(min_length=1, max_length=200)
    version: list[str] | None = Field(None, max_length=50)
    days: int = Field(7, description="Window: 1, 3, 7, 14 or 28 days")
    process_type: str = Field("parent", min_length=1, max_length=100,
                              description="A process type, or any")
    platform: str | None = Field(None, max_length=100, description="An OS name")
    facets_size: int = Field(50, alias="_facets_size", description="50, 100, 200 or 300")

    @field_validator("days", "facets_size")
    @classmethod
    def _one_of(cls, value: int, info) -> int:
        allowed = WINDOWS if info.field_name == "days" else SIZES
        if value not in allowed:
            name = "days" if info.field_name == "days" else "_facets_size"
            raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}")
        return value


@dataclass
class Row:
    rank: int
    signature: str
    count: int
    share: float                       # percent of all crashes of the window
    previous_rank: int | None = None   # None: new
    previous_share: float | None = None
    os_counts: list[int] = field(default_factory=list)
    installs: int = 0
    gc_count: int = 0
    startup: str = ""                  # "startup", "potential startup" or ""
    startup_window: bool = False
    first_date: dt.datetime | None = None
    first_build: int | None = None
    bugs: list[int] = field(default_factory=list)

    @property
    def is_new(self) -> bool:
        return self.previous_rank is None

    @property
    def rank_change(self) -> int | None:
        """Places moved up (positive) or down (negative) since the previous window."""
        return None if self.previous_rank is None else self.previous_rank - self.rank

    @property
    def share_change(self) -> float | None:
        return None if self.previous_share is None else self.share - self.previous_share


def _term_count(facet: Sequence[Mapping], term: object) -> int:
    return sum(int(f["count"]) for f in facet if f.get("term") == term)


def rank(current: Mapping, previous: Mapping, os_names: Sequence[str]) -> list[Row]:
    """Rows from the two search results (``signature`` facets with the sub-facets above)."""
    total = current.get("total") or 0
    previous_total = previous.get("total") or 0
    before = {f["term"]: (i + 1, f["count"])
              for i, f in enumerate(previous.get("facets", {}).get("signature", []))}
    rows = []
    for i, facet in enumerate(current.get("facets", {}).get("signature", [])):
        sub = facet.get("facets") or {}
        count = int(facet["count"])
        row = Row(i + 1, facet["term"], count, 100 * count / total if total else 0.0)
        if facet["term"] in before:
            row.previous_rank, previous_count = before[facet["term"]]
            row.previous_share = (100 * previous_count / previous_total
                                  if previous_total else 0.0)
        row.os_counts = [_term_count(sub.get("platform", []), name) for name in os_names]
        row.installs = int((sub.get("cardinality_install_time") or {}).get("value") or 0)
        row.gc_count = _term_count(sub.get("is_garbage_collecting", []), "T")
        startups = _term_count(sub.get("startup_crash", []), "T")
        row.startup = ("startup" if startups == count else
                       "potential startup" if startups else "")
        early = sum(int(b["count"]) for b in sub.get("histogram_uptime", [])
                    if isinstance(b.get("term"), int | float) and b["term"] < STARTUP_UPTIME)
        row.startup_window = early * 2 > count
        rows.append(row)
    return rows


class TopCrashersPage(Page):
    searches = True

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params, _ = self.read(req, TopCrashersParams)
        catalog = self.ctx.catalog
        if params.product not in {p["name"] for p in catalog.products()}:
            raise bad_param("product", f"no crash report has come from {params.product!r}")
        active = newest_first(sorted({r["version"] for r in catalog.product_versions(
            [params.product], active_days=self.ctx.settings.webapp_active_days)}))
        if params.version is None and active:
            # The reference's behaviour: a link without a version means the newest one.
            raise falcon.HTTPFound(url("/topcrashers/", query_params(req), version=active[0]))

        end = dt.datetime.now(dt.UTC).replace(microsecond=0)
        start = end - dt.timedelta(days=params.days)
        filters: dict[str, list[str]] = {"product": [exact(params.product)]}
        if params.version:
            filters["version"] = [exact(v) for v in params.version]
        if params.process_type != ANY:
            filters["process_type"] = [exact(params.process_type)]
        if params.platform:
            filters["platform"] = [exact(params.platform)]

        def window(since: dt.datetime, until: dt.datetime) -> list[str]:
            return [f">={since.isoformat()}", f"<{until.isoformat()}"]

        size = params.facets_size
        current = self.search(req, {
            **filters, "date": window(start, end), "_results_number": ["0"],
            "_facets": ["signature", "platform"], "_facets_size": [str(size)],
            "_aggs.signature": SIGNATURE_FACETS,
            "_histogram_interval.uptime": [str(STARTUP_UPTIME)]})
        previous = self.search(req, {
            **filters, "date": window(start - (end - start), start),
            "_results_number": ["0"], "_facets": ["signature"],
            "_facets_size": [str(2 * size)]})
        os_names = [f["term"] for f in current["facets"].get("platform", [])][:OS_COLUMNS]
        rows = rank(current, previous, os_names)
        self._add_history(rows)
        shown = sum(r.count for r in rows)
        self.render(req, resp, "topcrashers.html", params=params, rows=rows,
                    os_names=os_names, start=start, end=end, total=current["total"],
                    shown=shown, versions=active, windows=WINDOWS, sizes=SIZES,
                    signature_filters=_signature_filters(params, start, end),
                    crontabber=self.ctx.monitor.crontabber())

    def _add_history(self, rows: list[Row]) -> None:
        signatures = [r.signature for r in rows]
        if not signatures:
            return
        first = {r["signature"]: r for r in self.ctx.catalog.signature_first_dates(signatures)}
        bugs: dict[str, list[int]] = {}
        for r in self.ctx.catalog.bugs_of_signatures(signatures):
            bugs.setdefault(r["signature"], []).append(int(r["bug_id"]))
        for row in rows:
            if row.signature in first:
                row.first_date = first[row.signature]["first_date"]
                row.first_build = first[row.signature]["first_build"]
            row.bugs = sorted(bugs.get(row.signature, []), reverse=True)


def _signature_filters(params: TopCrashersParams, start: dt.datetime,
                       end: dt.datetime) -> list[tuple[str, str]]:
    """The filters a signature link carries, so its report covers the same crashes."""
    pairs = [("product", exact(params.product))]
    pairs += [("version", exact(v)) for v in params.version or []]
    if params.process_type != ANY:
        pairs.append(("process_type", exact(params.process_type)))
    if params.platform:
        pairs.append(("platform", exact(params.platform)))
    pairs += [("date", f">={start.isoformat()}"), ("date", f"<{end.isoformat()}")]
    return pairs
