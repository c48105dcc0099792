"""A validated Super Search request and the engine query it becomes.

Filters combine as the reference does: different fields AND; within one field, ranges AND
and every other value OR; a ``!`` value excludes. Parameters that name a field the caller
may not see are dropped silently (filters, columns, sorts, facets), as the reference does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from crashline.common.fields import FIELDS, FieldDef, FieldType, get_field
from crashline.webapp.auth.principal import Principal
from crashline.webapp.errors import ParamError
from crashline.webapp.params import validate
from crashline.webapp.supersearch.aggregations import (
    AGGS_PREFIX,
    HISTOGRAM_PREFIX,
    INTERVAL_PREFIX,
    Agg,
    AggParser,
    aggs_body,
    merge,
)
from crashline.webapp.supersearch.dates import DateWindow, date_window
from crashline.webapp.supersearch.params import (
    DEFAULT_COLUMNS,
    DEFAULT_FACETS,
    MAX_WINDOW,
    canonical_params,
    is_dynamic_param,
    search_params_model,
)
from crashline.webapp.supersearch.values import Term, parse_term

Visible = Callable[[FieldDef], bool]
DATE_FIELD = "date"

_SORT_TYPES = {
    FieldType.STRING: "keyword", FieldType.ENUM: "keyword", FieldType.INTEGER: "integer",
    FieldType.LONG: "long", FieldType.FLOAT: "double", FieldType.BOOLEAN: "boolean",
    FieldType.DATE: "date",
}


@dataclass
class SearchRequest:
    window: DateWindow
    filters: dict[str, list[Term]] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    size: int = 100
    offset: int = 0
    facets: dict[str, Agg] = field(default_factory=dict)
    facets_size: int = 50
    return_query: bool = False


def visibility(principal: Principal) -> Visible:
    def visible(fdef: FieldDef) -> bool:
        return fdef.public or principal.has(fdef.permission)

    return visible


def parse_search(params: Mapping[str, list[str]], principal: Principal,
                 now: dt.datetime) -> SearchRequest:
    """A query string (name -> values) as ``principal`` may run it (raises ParamError)."""
    model, extras = validate(search_params_model(), canonical_params(params),
                             extra=is_dynamic_param)
    return parse_request(model, extras, visibility(principal), now)


def parse_request(model: BaseModel, extras: Mapping[str, list[str]], visible: Visible,
                  now: dt.datetime) -> SearchRequest:
    """Turn validated parameters into a :class:`SearchRequest` (raises ParamError)."""
    fields = type(model).model_fields
    given: dict[str, object] = {(fields[name].alias or name): getattr(model, name)
                                for name in model.model_fields_set}

    date_field = get_field(DATE_FIELD)
    window = date_window(date_field, list(given.get(DATE_FIELD) or []), now)
    request = SearchRequest(window=window)

    for fdef in FIELDS:
        raw_values = given.get(fdef.name)
        if fdef.name == DATE_FIELD or not raw_values:
            continue
        terms = [parse_term(fdef, raw) for raw in raw_values if raw != ""]
        if terms and visible(fdef):
            request.filters[fdef.name] = terms

    request.size = model.meta_results_number
    request.offset = model.meta_results_offset
    if request.size + request.offset > MAX_WINDOW:
        raise ParamError("_results_offset", f"_results_offset + _results_number must be at "
                                            f"most {MAX_WINDOW}")
    request.columns = _columns(given.get("_columns"), visible)
    request.sort = _sort(given.get("_sort") or [], visible)
    request.facets_size = model.meta_facets_size
    request.return_query = model.meta_return_query

    intervals = {k: [v] for k, v in given.items() if k.startswith(INTERVAL_PREFIX) and v}
    parser = AggParser(visible, intervals)
    facets_values = given.get("_facets")
    request.facets = parser.specs("_facets", list(DEFAULT_FACETS) if facets_values is None
                                  else list(facets_values))
    for alias, values in given.items():
        if alias.startswith(HISTOGRAM_PREFIX) and values is not None:
            agg = parser.histogram(alias, alias[len(HISTOGRAM_PREFIX):], list(values))
            if agg is not None:
                merge(request.facets, agg)
    nested = {k: v for k, v in given.items() if k.startswith(AGGS_PREFIX) and v is not None}
    nested.update(extras)
    for alias, values in nested.items():
        agg = parser.nested(alias, list(values))
        if agg is not None:
            merge(request.facets, agg)
    if request.facets_size == 0:
        request.facets = {}
    return request


def _columns(values: object, visible: Visible) -> list[str]:
    names = list(DEFAULT_COLUMNS) if values is None else [v for v in values if v != ""]
    columns: list[str] = []
    for name in names:
        fdef = get_field(name)
        if fdef is None:
            raise ParamError("_columns", f"unknown field {name!r}")
        if not fdef.returnable:
            raise ParamError("_columns", f"{name} cannot be returned")
        if visible(fdef) and fdef.name not in columns:
            columns.append(fdef.name)
    return columns


def _sort(values: list[str], visible: Visible) -> list[tuple[str, bool]]:
    sort: list[tuple[str, bool]] = []
    for raw in values:
        if raw == "":
            continue
        descending = raw.startswith("-")
        name = raw[1:] if descending else raw
        fdef = get_field(name)
        if fdef is None:
            raise ParamError("_sort", f"unknown field {name!r}")
        if not fdef.returnable:
            raise ParamError("_sort", f"cannot sort by {name}")
        if visible(fdef):
            sort.append((fdef.name, descending))
    return sort


# -- engine query -----------------------------------------------------------------------
def _escape_wildcard(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def _value(fdef: FieldDef, value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def term_query(fdef: FieldDef, term: Term) -> dict:
    name, op, value = fdef.name, term.operator, _value(fdef, term.value)
    if op == "__null__":
        return {"bool": {"must_not": [{"exists": {"field": name}}]}}
    if op == "__true__":
        return {"term": {name: True}}
    if op == "has" and fdef.type is FieldType.STRING:
        return {"match_phrase": {f"{name}.full": value}}
    if op in ("has", "="):
        return {"term": {name: value}}
    if op == "~":
        return {"wildcard": {name: {"value": f"*{_escape_wildcard(value)}*"}}}
    if op == "^":
        return {"prefix": {name: {"value": value}}}
    if op == "$":
        return {"wildcard": {name: {"value": f"*{_escape_wildcard(value)}"}}}
    if op == "@":
        return {"regexp": {name: {"value": value}}}
    bound = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}[op]
    return {"range": {name: {bound: value}}}


def filter_clauses(filters: Mapping[str, list[Term]]) -> tuple[list[dict], list[dict]]:
    """(filter, must_not) clauses of the bool query."""
    must: list[dict] = []
    must_not: list[dict] = []
    for name, terms in filters.items():
        fdef = get_field(name)
        either: list[dict] = []
        for term in terms:
            clause = term_query(fdef, term)
            if term.negated:
                must_not.append(clause)
            elif term.is_range:
                must.append(clause)
            else:
                either.append(clause)
        if len(either) == 1:
            must.append(either[0])
        elif either:
            must.append({"bool": {"should": either, "minimum_should_match": 1}})
    return must, must_not


def build_query(request: SearchRequest) -> dict:
    must, must_not = filter_clauses(request.filters)
    bool_query: dict = {"filter": [request.window.range_query(DATE_FIELD), *must]}
    if must_not:
        bool_query["must_not"] = must_not
    body: dict = {
        "query": {"bool": bool_query},
        "size": request.size,
        "from": request.offset,
        "track_total_hits": True,
        "_source": request.columns or False,
    }
    if request.sort:
        body["sort"] = [
            {name: {"order": "desc" if desc else "asc",
                    "unmapped_type": _SORT_TYPES[get_field(name).type]}}
            for name, desc in request.sort
        ]
    if request.facets:
        body["aggs"] = aggs_body(request.facets, request.facets_size)
    return body


def regex_params(request: SearchRequest) -> list[str]:
    """Parameters whose values are regular expressions (the likely culprits of a refusal)."""
    return [name for name, terms in request.filters.items()
            if any(t.operator == "@" for t in terms)]
