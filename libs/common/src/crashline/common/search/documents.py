"""The search document of a processed crash: registry fields only, values cleaned up so the
engine accepts them (the reference's rules: long keywords truncated, non-strings in string
fields replaced, out-of-range numbers dropped, booleans normalised)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from crashline.common.fields import FIELDS, FieldDef, FieldType
from crashline.common.search.mapping import KEYWORD_MAX_CHARS, TEXT_MAX_BYTES

BAD_DATA = "BAD DATA"
_MISSING = object()
_INT_RANGE = {FieldType.INTEGER: (-(2**31), 2**31 - 1), FieldType.LONG: (-(2**63), 2**63 - 1)}
_TRUE = {"1", "true", "yes"}


def lookup(document: Mapping, dotted: str) -> object:
    value: object = document
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _text(text: str, max_bytes: int | None = None) -> str:
    """``text`` as Unicode an engine takes, cut to ``max_bytes`` of UTF-8 on a character
    boundary. JSON lets lone surrogates through (``"\\ud800"`` in an annotation or in the
    stack walker's output) and no UTF-8 encoder does: they become U+FFFD."""
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        encoded = text.encode("utf-8")
    if max_bytes is None or len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")  # cut on a char boundary


def clean_value(field: FieldDef, value: object) -> object:
    """The value to index, or ``_MISSING`` to leave the field out."""
    if value is None or value is _MISSING:
        return _MISSING
    kind = field.type
    if kind in (FieldType.STRING, FieldType.ENUM):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            # A list of strings is a multi-valued field (e.g. additional_minidumps).
            return [clean_value(field, v) for v in value] if value else _MISSING
        if not isinstance(value, str):
            return BAD_DATA
        return _text(value[:KEYWORD_MAX_CHARS],
                     TEXT_MAX_BYTES if kind is FieldType.STRING else None)
    if kind in _INT_RANGE:
        if isinstance(value, bool):
            return _MISSING
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: infinity
            return _MISSING
        low, high = _INT_RANGE[kind]
        return number if low <= number <= high else _MISSING
    if kind is FieldType.FLOAT:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return _MISSING
        return number if math.isfinite(number) else _MISSING
    if kind is FieldType.BOOLEAN:
        return value is True or value == 1 or (isinstance(value, str) and value.lower() in _TRUE)
    if kind is FieldType.DATE:
        return value if isinstance(value, str) else _MISSING
    return _MISSING


def search_document(crash_id: str, processed_crash: Mapping,
                    fields: tuple[FieldDef, ...] = FIELDS,
                    exclude: frozenset[str] = frozenset()) -> dict:
    doc: dict[str, object] = {"crash_id": crash_id}
    for field in fields:
        if field.name in exclude:
            continue
        value = clean_value(field, lookup(processed_crash, field.source_path))
        if value is not _MISSING:
            doc[field.name] = value
    return doc
