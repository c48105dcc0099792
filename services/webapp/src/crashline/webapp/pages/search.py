"""The Super Search page: a form over every field of the registry, results with facets,
paging and refine links, and the equivalent API URL. All its state is the query string,
in the API's own parameters, so a page URL and its API URL differ only in the path.

Without JavaScript a form cannot write ``date=>=...`` or ``field=<operator><value>``
itself: it submits plain inputs (``_from``, ``_to``, rows of ``_field``/``_op``/``_value``)
and the page answers with a redirect to the canonical URL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import falcon

from crashline.common.crashid import is_valid_crash_id, strip_breakpad_prefix
from crashline.common.fields import FIELDS, FieldDef, FieldType, get_field
from crashline.webapp.auth.principal import Principal
from crashline.webapp.errors import APIError, bad_param
from crashline.webapp.pages.base import Page, exact
from crashline.webapp.pages.charts import horizontal_bars
from crashline.webapp.pages.render import url
from crashline.webapp.params import query_params
from crashline.webapp.supersearch.params import MAX_WINDOW
from crashline.webapp.supersearch.values import split_operator

PER_PAGE = 50            # crashes per page unless _results_number says otherwise
MAX_PER_PAGE = 200
DEFAULT_COLUMNS = ["date", "signature", "product", "version", "build_id", "platform"]
DEFAULT_FACETS = ["signature"]
DEFAULT_SORT = ["-date"]
SIMPLE_FIELDS = ("product", "version", "platform", "process_type")
FORM_PARAMS = frozenset({"_form", "_from", "_to", "_field", "_op", "_value"})
PAGE_PARAMS = frozenset({"page"})
BLANK_ROWS = 3
SHORTCUTS = (("24 hours", dt.timedelta(days=1)), ("3 days", dt.timedelta(days=3)),
             ("7 days", dt.timedelta(days=7)), ("14 days", dt.timedelta(days=14)),
             ("1 month", dt.timedelta(days=30)), ("3 months", dt.timedelta(days=91)),
             ("6 months", dt.timedelta(days=182)))

# Operator menu: value prefix -> label (a "!" prefix negates).
OPERATORS = (
    ("", "matches"), ("!", "does not match"), ("=", "is exactly"), ("!=", "is not exactly"),
    ("~", "contains"), ("!~", "does not contain"), ("^", "starts with"),
    ("!^", "does not start with"), ("$", "ends with"), ("!$", "does not end with"),
    ("@", "matches regex"), ("!@", "does not match regex"), (">", ">"), (">=", ">="),
    ("<", "<"), ("<=", "<="), ("!__null__", "exists"), ("__null__", "does not exist"),
    ("__true__", "is true"), ("!__true__", "is false"),
)
_TOKEN_OPS = frozenset({"__null__", "!__null__", "__true__", "!__true__"})
_KNOWN_OPS = frozenset(op for op, _ in OPERATORS)


@dataclass(frozen=True)
class FilterRow:
    field: str
    op: str
    value: str


def normalise(params: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """The canonical query string of a submitted form: plain inputs turned into the API's
    parameters, empty ones dropped, the page reset to the first."""
    pairs: list[tuple[str, str]] = []
    for name, values in params.items():
        if name in FORM_PARAMS or name in PAGE_PARAMS:
            continue
        pairs.extend((name, v.strip()) for v in values if v.strip())
    for name, op in (("_from", ">="), ("_to", "<")):
        for value in params.get(name, []):
            if value.strip():
                pairs.append(("date", op + value.strip()))
    fields, ops, values = (params.get(n, []) for n in ("_field", "_op", "_value"))
    for field, op, value in zip(fields, ops, values, strict=False):
        if not field or op not in _KNOWN_OPS:
            continue
        if op in _TOKEN_OPS:
            pairs.append((field, op))
        elif value.strip():
            pairs.append((field, op + value.strip()))
    return pairs


def refine_value(fdef: FieldDef, value: object) -> str | None:
    """The filter value that keeps only crashes with ``value`` in ``fdef`` (None: none)."""
    if value is None or value == "" or fdef.type is FieldType.DATE:
        return None
    if fdef.type is FieldType.BOOLEAN:
        truth = value in (True, "T", "true", 1)
        return "__true__" if truth else "!__true__"
    return exact(str(value))


class SearchForm:
    """What the form shows for the current query string."""

    def __init__(self, params: Mapping[str, list[str]], principal: Principal):
        self.visible = [f for f in FIELDS if f.public or principal.has(f.permission)]
        self.simple: dict[str, str] = {}
        self.rows: list[FilterRow] = []
        # Filters on fields this user may not see: the search ignores them, the page says so.
        self.ignored = sorted(name for name in params
                              if (f := get_field(name)) and f not in self.visible)
        self.date_from = self.date_to = ""
        for raw in params.get("date", []):
            _, op, text = split_operator(raw)
            if op in (">", ">="):
                self.date_from = text
            elif op in ("<", "<="):
                self.date_to = text
        for name, values in params.items():
            fdef = get_field(name)
            if fdef is None or name == "date":
                continue
            if name in SIMPLE_FIELDS and len(values) == 1:
                negated, op, text = split_operator(values[0])
                if not negated and op in ("has", "="):
                    self.simple[name] = text
                    continue
            for raw in values:
                negated, op, text = split_operator(raw)
                prefix = ("!" if negated else "") + ("" if op == "has" else op)
                self.rows.append(FilterRow(name, prefix, text))
        self.blank_rows = BLANK_ROWS
        shown = {f.name for f in self.visible}
        self.columns = [c for c in params.get("_columns") or DEFAULT_COLUMNS
                        if c in shown and c != "uuid"]
        self.facets = params.get("_facets") or DEFAULT_FACETS
        self.sort = (params.get("_sort") or DEFAULT_SORT)[0]


class SearchPage(Page):
    searches = True

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = query_params(req)
        if FORM_PARAMS & params.keys():
            raise falcon.HTTPSeeOther(url("/search/", normalise(params)))
        per_page = _number(params, "_results_number", PER_PAGE, 1, MAX_PER_PAGE)
        page = _number(params, "page", 1, 1, MAX_WINDOW // per_page)
        params.pop("page", None)
        principal = self.principal(req)
        columns = [c for c in params.get("_columns") or DEFAULT_COLUMNS if c != "uuid"]
        query = {**params, "_columns": ["uuid", *columns],
                 "_facets": params.get("_facets") or DEFAULT_FACETS,
                 "_sort": params.get("_sort") or DEFAULT_SORT,
                 "_results_number": [str(per_page)],
                 "_results_offset": [str((page - 1) * per_page)]}
        form = SearchForm(params, principal)
        try:
            result = self.search(req, query)
            error = None
        except APIError as exc:
            if exc.status_code != 400:
                raise
            result, error = None, exc.message
        charts, bugs = {}, {}
        if result:
            for name, rows in result["facets"].items():
                if isinstance(rows, list) and rows:
                    charts[name] = horizontal_bars(
                        f"Crashes by {name}", [(str(r["term"]), r["count"]) for r in rows[:10]],
                        x_label="Crashes", y_label=name)
            signatures = [r["term"] for r in result["facets"].get("signature", [])]
            if signatures:
                for row in self.ctx.catalog.bugs_of_signatures(signatures):
                    bugs.setdefault(row["signature"], []).append(int(row["bug_id"]))
        api_query = {k: v for k, v in query.items() if k != "_facets_size"}
        now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0, tzinfo=None)
        shortcuts = [(label, url("/search/", params, date=f">={(now - delta).isoformat()}"))
                     for label, delta in SHORTCUTS]
        self.render(req, resp, "search.html", status=falcon.HTTP_400 if error else
                    falcon.HTTP_200, params=params, form=form, result=result, error=error,
                    page=page, per_page=per_page, charts=charts, bugs=bugs,
                    api_url=url("/api/SuperSearch/", api_query), operators=OPERATORS,
                    shortcuts=shortcuts, refine=refine_value, get_field=get_field,
                    simple_fields=SIMPLE_FIELDS,
                    pages=-(-min(result["total"], MAX_WINDOW) // per_page) if result else 0)


def _number(params: Mapping[str, list[str]], name: str, default: int, low: int,
            high: int) -> int:
    values = params.get(name, [str(default)])
    try:
        value = int(values[0]) if len(values) == 1 else low - 1
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise bad_param(name, f"a whole number from {low} to {high}")
    return value


class QuickSearchPage(Page):
    """The header's search box: a crash id opens its report, anything else searches
    signatures containing it."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        query = (req.get_param("query") or "").strip()
        crash_id = strip_breakpad_prefix(query)
        if is_valid_crash_id(crash_id):
            raise falcon.HTTPSeeOther(f"/report/index/{crash_id}")
        raise falcon.HTTPSeeOther(url("/search/", {"signature": [f"~{query}"]} if query
                                      else None))
