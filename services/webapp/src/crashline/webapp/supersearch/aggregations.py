"""Facets: ``_facets``, ``_aggs.<f>[.<g>[.<h>]]``, ``_histogram.<f>`` and ``_cardinality.<f>``.

They are parsed into a tree of :class:`Agg` nodes keyed by facet name (``signature``,
``histogram_date``, ``cardinality_install_time``), which then gives both the engine's
aggregation body and the shape of ``facets`` in the response.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from crashline.common.fields import FieldDef, FieldType, get_field
from crashline.webapp.errors import ParamError

HISTOGRAM_PREFIX = "_histogram."
INTERVAL_PREFIX = "_histogram_interval."
CARDINALITY_PREFIX = "_cardinality."
AGGS_PREFIX = "_aggs."
MAX_AGGS_DEPTH = 3

NUMERIC_TYPES = frozenset({FieldType.INTEGER, FieldType.LONG, FieldType.FLOAT})
HISTOGRAM_TYPES = NUMERIC_TYPES | {FieldType.DATE}
CALENDAR_INTERVALS = {
    "year": "year", "1y": "year", "quarter": "quarter", "1q": "quarter",
    "month": "month", "1M": "month", "week": "week", "1w": "week",
    "day": "day", "1d": "day", "hour": "hour", "1h": "hour", "minute": "minute", "1m": "minute",
}
_FIXED_RE = re.compile(r"^([1-9][0-9]{0,5})(d|h|m|s)$")

Visible = Callable[[FieldDef], bool]


@dataclass
class Agg:
    kind: str                    # "terms", "histogram" or "cardinality"
    field: FieldDef
    interval: object = None      # histograms: calendar name, fixed "3h", or a number
    children: dict[str, Agg] = field(default_factory=dict)

    @property
    def name(self) -> str:
        if self.kind == "terms":
            return self.field.name
        return f"{self.kind}_{self.field.name}"


def default_interval(kind: FieldType) -> object:
    return "day" if kind is FieldType.DATE else (1.0 if kind is FieldType.FLOAT else 1)


def parse_interval(param: str, fdef: FieldDef, raw: str) -> object:
    if fdef.type is FieldType.DATE:
        if raw in CALENDAR_INTERVALS:
            return CALENDAR_INTERVALS[raw]
        if _FIXED_RE.match(raw):
            return raw
        raise ParamError(param, f"not a date interval: {raw!r}; use year, quarter, month, "
                                "week, day, hour, minute or a number of d, h, m or s "
                                "(e.g. 6h)")
    try:
        number = float(raw) if fdef.type is FieldType.FLOAT else int(raw)
    except ValueError:
        kind = "number" if fdef.type is FieldType.FLOAT else "whole number"
        raise ParamError(param, f"not a {kind}: {raw!r}") from None
    if not (math.isfinite(number) and number > 0) or number > 2**62:
        raise ParamError(param, f"the interval must be positive: {raw!r}")
    return number


class AggParser:
    """Parses the facet parameters of one request."""

    def __init__(self, visible: Visible, intervals: Mapping[str, list[str]]):
        self.visible = visible
        self.intervals: dict[str, object] = {}
        for param, values in intervals.items():
            name = param[len(INTERVAL_PREFIX):]
            fdef = self._field(param, name)
            if fdef.type not in HISTOGRAM_TYPES:
                raise ParamError(param, f"{name} is not a date or number field")
            if len(values) != 1:
                raise ParamError(param, "give one interval")
            self.intervals[name] = parse_interval(param, fdef, values[0])

    @staticmethod
    def _field(param: str, name: str) -> FieldDef:
        fdef = get_field(name)
        if fdef is None:
            raise ParamError(param, f"unknown field {name!r}")
        return fdef

    def spec(self, param: str, value: str) -> Agg | None:
        """One facet: ``<field>``, ``_histogram.<field>`` or ``_cardinality.<field>``; None if
        the caller may not see the field (dropped silently, as the reference does)."""
        if value.startswith(CARDINALITY_PREFIX):
            fdef = self._field(param, value[len(CARDINALITY_PREFIX):])
            return Agg("cardinality", fdef) if self.visible(fdef) else None
        if value.startswith(HISTOGRAM_PREFIX):
            return self.histogram(param, value[len(HISTOGRAM_PREFIX):], [])
        fdef = self._field(param, value)
        if not self.visible(fdef):
            return None
        if not fdef.facetable:
            raise ParamError(param, f"{fdef.name} cannot be used as a facet")
        return Agg("terms", fdef)

    def specs(self, param: str, values: list[str]) -> dict[str, Agg]:
        aggs: dict[str, Agg] = {}
        for value in values:
            if value == "":
                continue
            agg = self.spec(param, value)
            if agg is not None:
                merge(aggs, agg)
        return aggs

    def histogram(self, param: str, name: str, values: list[str]) -> Agg | None:
        fdef = self._field(param, name)
        if fdef.type not in HISTOGRAM_TYPES:
            raise ParamError(param, f"{name} is not a date or number field")
        if not self.visible(fdef):
            return None
        interval = self.intervals.get(fdef.name, default_interval(fdef.type))
        return Agg("histogram", fdef, interval, self.specs(param, values))

    def nested(self, param: str, values: list[str]) -> Agg | None:
        """``_aggs.a.b.c=<sub facets>``: terms on a, inside it terms on b, then c."""
        names = param[len(AGGS_PREFIX):].split(".")
        if not 1 <= len(names) <= MAX_AGGS_DEPTH or "" in names:
            raise ParamError(param, f"use _aggs.<field>, nested at most {MAX_AGGS_DEPTH} deep")
        fields = [self._field(param, n) for n in names]
        for fdef in fields:
            if not fdef.facetable and self.visible(fdef):
                raise ParamError(param, f"{fdef.name} cannot be used as a facet")
        if not all(self.visible(f) for f in fields):
            return None
        node = Agg("terms", fields[-1], children=self.specs(param, values))
        for fdef in reversed(fields[:-1]):
            node = Agg("terms", fdef, children={node.name: node})
        return node


def merge(into: dict[str, Agg], agg: Agg) -> None:
    """Add ``agg``; the same facet given twice keeps the union of its sub-facets."""
    existing = into.get(agg.name)
    if existing is None or existing.kind != agg.kind:
        into[agg.name] = agg
        return
    if agg.interval is not None:
        existing.interval = agg.interval
    for child in agg.children.values():
        merge(existing.children, child)


# -- engine body ------------------------------------------------------------------------
_ES_NUMERIC = {FieldType.INTEGER: "integer", FieldType.LONG: "long", FieldType.FLOAT: "double"}


def agg_body(agg: Agg, size: int) -> dict:
    fname = agg.field.name
    if agg.kind == "cardinality":
        body: dict = {"cardinality": {"field": fname}}
    elif agg.kind == "histogram":
        if agg.field.type is FieldType.DATE:
            key = "calendar_interval" if agg.interval in CALENDAR_INTERVALS.values() \
                else "fixed_interval"
            body = {"date_histogram": {"field": fname, key: agg.interval, "min_doc_count": 1}}
        else:
            body = {"histogram": {"field": fname, "interval": agg.interval, "min_doc_count": 1}}
    else:
        body = {"terms": {"field": fname, "size": size}}
    if agg.children and agg.kind != "cardinality":
        body["aggs"] = {name: agg_body(child, size) for name, child in agg.children.items()}
    return body


def aggs_body(aggs: Mapping[str, Agg], size: int) -> dict:
    return {name: agg_body(agg, size) for name, agg in aggs.items()}


# -- response shape ---------------------------------------------------------------------
def _term(agg: Agg, bucket: Mapping) -> object:
    kind = agg.field.type
    key = bucket.get("key")
    if kind is FieldType.BOOLEAN:
        return "T" if key in (1, True, "true") else "F"
    if kind is FieldType.DATE and isinstance(key, int | float):
        return dt.datetime.fromtimestamp(key / 1000, dt.UTC).isoformat()
    if kind in NUMERIC_TYPES and isinstance(key, float) and agg.kind == "histogram" \
            and kind is not FieldType.FLOAT and key.is_integer():
        return int(key)
    return key


def shape_facets(aggs: Mapping[str, Agg], result: Mapping | None) -> dict:
    """``facets`` of the response: lists of ``{term, count[, facets]}``, ``{value}`` for
    cardinalities."""
    result = result or {}
    facets: dict[str, object] = {}
    for name, agg in aggs.items():
        data = result.get(name) or {}
        if agg.kind == "cardinality":
            facets[name] = {"value": data.get("value", 0)}
            continue
        rows = []
        for bucket in data.get("buckets", []):
            if not bucket.get("doc_count"):
                continue  # histograms never show empty buckets
            row: dict[str, object] = {"term": _term(agg, bucket), "count": bucket["doc_count"]}
            if agg.children:
                row["facets"] = shape_facets(agg.children, bucket)
            rows.append(row)
        facets[name] = rows
    return facets
