"""The Super Search parameters as a pydantic model, built from the field registry: it
validates the request and it is what the OpenAPI document lists."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, create_model

from crashline.common.fields import ALIASES, FIELDS, FieldDef, FieldType
from crashline.webapp.supersearch.aggregations import (
    AGGS_PREFIX,
    HISTOGRAM_PREFIX,
    HISTOGRAM_TYPES,
    INTERVAL_PREFIX,
)

DEFAULT_COLUMNS = ("uuid", "date", "signature", "product", "version")
DEFAULT_FACETS = ("signature",)
MAX_RESULTS_NUMBER = 1000
MAX_WINDOW = 10_000      # results_offset + results_number
MAX_FACETS_SIZE = 10_000
MAX_VALUES = 100         # values of one parameter

# Nested facets worth listing in the documentation (any other nesting works too).
DOCUMENTED_NESTINGS = (("product", "version"),
                       ("android_cpu_abi", "android_manufacturer", "android_model"))

OPERATOR_HELP = {
    "has": "no prefix: matches (several values: any of them)",
    "=": "= is exactly", "~": "~ contains", "^": "^ starts with", "$": "$ ends with",
    "@": "@ matches the regular expression", ">": "> greater than", ">=": ">= at least",
    "<": "< less than", "<=": "<= at most", "__null__": "__null__ does not exist",
    "__true__": "__true__ is true",
}

Values = Annotated[list[str], Field(max_length=MAX_VALUES)]


def field_help(fdef: FieldDef) -> str:
    ops = "; ".join(OPERATOR_HELP[op] for op in fdef.operators)
    access = "public" if fdef.public else f"protected: needs {fdef.permission}"
    aliases = f" Also accepted as {', '.join(fdef.aliases)}." if fdef.aliases else ""
    return (f"{fdef.description} Type {fdef.type}, {access}. Operators: {ops}; "
            f"prefix any value with ! to negate it.{aliases}")


def meta_fields() -> dict[str, tuple]:
    return {
        "meta_columns": (Values | None, Field(None, alias="_columns", description=(
            "Fields of each hit (default: " + ", ".join(DEFAULT_COLUMNS) + ")."))),
        "meta_sort": (Values | None, Field(None, alias="_sort", description=(
            "Sort by these fields; prefix one with - to sort descending."))),
        "meta_results_number": (int, Field(100, alias="_results_number", ge=0,
                                           le=MAX_RESULTS_NUMBER,
                                           description="Hits per page (0 to 1000).")),
        "meta_results_offset": (int, Field(0, alias="_results_offset", ge=0, le=MAX_WINDOW,
                                           description=("Hits to skip; offset + number "
                                                        f"is at most {MAX_WINDOW}."))),
        "meta_facets": (Values | None, Field(None, alias="_facets", description=(
            "Facets: a field, _histogram.<field> or _cardinality.<field> "
            "(default: signature)."))),
        "meta_facets_size": (int, Field(50, alias="_facets_size", ge=0, le=MAX_FACETS_SIZE,
                                        description=("Terms per facet; 0 computes no "
                                                     "facets."))),
        "meta_return_query": (bool, Field(False, alias="_return_query", description=(
            "Return the search-engine query and indices instead of running it."))),
    }


def _python_name(prefix: str, name: str) -> str:
    return prefix + name.replace(".", "__")


@lru_cache(maxsize=1)
def search_params_model() -> type[BaseModel]:
    fields: dict[str, tuple] = {}
    for fdef in FIELDS:
        fields[_python_name("f_", fdef.name)] = (
            Values | None, Field(None, alias=fdef.name, description=field_help(fdef)))
    fields.update(meta_fields())
    for fdef in FIELDS:
        if fdef.type in HISTOGRAM_TYPES:
            fields[_python_name("h_", fdef.name)] = (Values | None, Field(
                None, alias=HISTOGRAM_PREFIX + fdef.name,
                description=(f"Histogram of {fdef.name} (facet histogram_{fdef.name}); the "
                             "values are facets computed inside each bucket.")))
            example = "day" if fdef.type is FieldType.DATE else "1"
            fields[_python_name("i_", fdef.name)] = (str | None, Field(
                None, alias=INTERVAL_PREFIX + fdef.name,
                description=f"Bucket width of _histogram.{fdef.name} (e.g. {example}).",
                max_length=40))
    nestings = [(f.name,) for f in FIELDS if f.facetable] + list(DOCUMENTED_NESTINGS)
    for path in nestings:
        alias = AGGS_PREFIX + ".".join(path)
        fields[_python_name("a_", alias)] = (Values | None, Field(None, alias=alias, description=(
            f"Terms of {' then '.join(path)}, nested; the values are facets computed "
            "inside the innermost buckets.")))
    return create_model("SuperSearchParams", __config__=ConfigDict(extra="forbid"), **fields)


_FIELD_PREFIXES = (HISTOGRAM_PREFIX, INTERVAL_PREFIX)


def canonical_name(param: str) -> str:
    """A parameter with field aliases replaced by the fields' names (``os_name`` ->
    ``platform``, ``_aggs.product.os_name`` -> ``_aggs.product.platform``)."""
    if param in ALIASES:
        return ALIASES[param]
    for prefix in _FIELD_PREFIXES:
        if param.startswith(prefix):
            name = param[len(prefix):]
            return prefix + ALIASES.get(name, name)
    if param.startswith(AGGS_PREFIX):
        names = param[len(AGGS_PREFIX):].split(".")
        return AGGS_PREFIX + ".".join(ALIASES.get(n, n) for n in names)
    return param


def canonical_params(params: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """``params`` by canonical name; a field given under two names gets both values."""
    merged: dict[str, list[str]] = {}
    for name, values in params.items():
        merged.setdefault(canonical_name(name), []).extend(values)
    return merged


def is_dynamic_param(name: str) -> bool:
    """Nested ``_aggs.a.b[.c]`` beyond the documented ones are validated by the parser."""
    return name.startswith(AGGS_PREFIX)
