"""The field registry: the one list of processed-crash fields that are indexed and searchable.

Everything about a field is derived from here: its search-engine mapping, the value clean-up
before indexing, which Super Search operators it accepts, who may see it (protected unless
``public``), the search form and the data dictionary. Add a field by adding one entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum


class FieldType(StrEnum):
    STRING = "string"    # exact keyword plus a full-text ``.full`` sub-field
    ENUM = "enum"        # keyword: exact values, facets
    INTEGER = "integer"  # 32-bit
    LONG = "long"        # 64-bit
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"


PUBLIC = "public"
VIEW_PII = "view_pii"

# Super Search operators (see the webapp's query parser for their meaning).
STRING_OPERATORS = ("has", "=", "~", "^", "$", "@", "__null__")
ENUM_OPERATORS = ("has", "=", "__null__")
NUMBER_OPERATORS = ("has", "=", ">", ">=", "<", "<=", "__null__")
DATE_OPERATORS = (">", ">=", "<", "<=", "=", "__null__")
BOOLEAN_OPERATORS = ("__true__", "__null__")

_OPERATORS = {
    FieldType.STRING: STRING_OPERATORS,
    FieldType.ENUM: ENUM_OPERATORS,
    FieldType.INTEGER: NUMBER_OPERATORS,
    FieldType.LONG: NUMBER_OPERATORS,
    FieldType.FLOAT: NUMBER_OPERATORS,
    FieldType.BOOLEAN: BOOLEAN_OPERATORS,
    FieldType.DATE: DATE_OPERATORS,
}


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: FieldType
    description: str
    source: str = ""          # dotted path in the processed crash; defaults to ``name``
    public: bool = False      # protected (needs view_pii) unless marked public
    returnable: bool = True   # may be asked for in ``_columns``
    facetable: bool = True    # may be used in ``_facets`` / ``_aggs``
    category: str = "crash"   # groups fields in the search form and data dictionary
    examples: tuple[str, ...] = field(default_factory=tuple)

    @property
    def source_path(self) -> str:
        return self.source or self.name

    @property
    def permission(self) -> str:
        return PUBLIC if self.public else VIEW_PII

    @property
    def operators(self) -> tuple[str, ...]:
        return _OPERATORS[self.type]


def _f(name: str, type_: FieldType, description: str, **kw) -> FieldDef:
    return FieldDef(name=name, type=type_, description=description, **kw)


S, E, I, L, F, B, D = (
    FieldType.STRING, FieldType.ENUM, FieldType.INTEGER, FieldType.LONG,
    FieldType.FLOAT, FieldType.BOOLEAN, FieldType.DATE,
)

FIELDS: tuple[FieldDef, ...] = (
    # identity and dates
    _f("uuid", E, "The crash id.", source="uuid", public=True, facetable=False),
    _f("date", D, "When the collector received the crash (UTC).", source="date_processed",
       public=True),
    _f("processed_date", D, "When the crash was last processed.", source="completed_datetime",
       public=True, facetable=False),
    # grouping
    _f("signature", S, "The crash signature: the frames that group crashes into one bug.",
       public=True),
    _f("proto_signature", S, "All normalised frames of the crashing thread.", public=True,
       facetable=False),
    # product
    _f("product", E, "Product name (ProductName annotation).", public=True),
    _f("version", E, "Product version (Version annotation).", public=True),
    _f("release_channel", E, "Release channel (ReleaseChannel annotation).", public=True),
    _f("build_id", L, "Build id as a number, YYYYMMDDhhmmss (BuildID annotation).",
       source="build", public=True),
    _f("process_type", E, "parent, content, gpu, ... (ProcessType annotation).", public=True),
    # platform
    _f("os_name", E, "Operating system name.", public=True),
    _f("os_version", S, "Operating system version.", public=True),
    _f("cpu_arch", E, "CPU architecture.", public=True),
    _f("cpu_count", I, "Number of CPUs.", public=True),
    # crash
    _f("reason", S, "Crash reason (e.g. EXCEPTION_ACCESS_VIOLATION_WRITE, SIGSEGV).",
       public=True),
    _f("address", E, "Crash address.", public=True),
    _f("crashing_thread", I, "Index of the crashing thread.", public=True),
    _f("uptime", L, "Seconds the process ran before it crashed.", public=True),
    _f("install_age", L, "Seconds since this version was installed.", public=True),
    _f("mdsw_status_string", E, "Stack walker status (OK or why it failed).", public=True),
    # protected
    _f("user_comments", S, "Comments the user typed into the crash reporter.",
       facetable=False),
    _f("url", S, "URL being visited (URL annotation).", facetable=False),
    _f("email", S, "Email address the user gave.", facetable=False),
)

REGISTRY: dict[str, FieldDef] = {f.name: f for f in FIELDS}


def get_field(name: str) -> FieldDef | None:
    return REGISTRY.get(name)


def public_fields() -> Iterator[FieldDef]:
    return (f for f in FIELDS if f.public)
