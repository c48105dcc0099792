"""Operator prefixes of filter values and type checks of the values themselves."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from crashline.common.fields import FieldDef, FieldType
from crashline.webapp.errors import ParamError

NEGATION = "!"
# Longest first, so ``>=`` is not read as ``>``.
PREFIXES = (">=", "<=", ">", "<", "=", "~", "^", "$", "@")
TOKENS = ("__null__", "__true__")
RANGE_OPERATORS = frozenset({">", ">=", "<", "<="})
TEXT_OPERATORS = frozenset({"~", "^", "$", "@"})

_INT_LIMITS = {
    FieldType.INTEGER: (-(2**31), 2**31 - 1),
    FieldType.LONG: (-(2**63), 2**63 - 1),
}


@dataclass(frozen=True)
class Term:
    operator: str      # "has", one of PREFIXES, "__null__" or "__true__"
    value: object      # typed value (None for the tokens)
    negated: bool = False

    @property
    def is_range(self) -> bool:
        return self.operator in RANGE_OPERATORS


def split_operator(raw: str) -> tuple[bool, str, str]:
    """``"!~foo"`` -> (negated, "~", "foo"); no prefix -> operator ``has``."""
    negated = raw.startswith(NEGATION)
    if negated:
        raw = raw[len(NEGATION):]
    if raw in TOKENS:
        return negated, raw, ""
    for prefix in PREFIXES:
        if raw.startswith(prefix):
            return negated, prefix, raw[len(prefix):]
    return negated, "has", raw


def parse_date(text: str) -> dt.datetime:
    """ISO 8601 date or date-time; a value without a zone is UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 date or date-time: {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(f"date out of range: {text!r}") from None


def typed_value(field: FieldDef, operator: str, text: str) -> object:
    """The value as the field's type, or ValueError saying why not."""
    kind = field.type
    if operator in TOKENS:
        return None
    if text == "":
        raise ValueError(f"operator {operator!r} needs a value")
    if kind in _INT_LIMITS:
        try:
            number = int(text.strip())
        except ValueError:
            raise ValueError(f"not an integer: {text!r}") from None
        low, high = _INT_LIMITS[kind]
        if not low <= number <= high:
            raise ValueError(f"out of range for a {kind} field: {text!r}")
        return number
    if kind is FieldType.FLOAT:
        try:
            number = float(text.strip())
        except ValueError:
            raise ValueError(f"not a number: {text!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"not a finite number: {text!r}")
        return number
    if kind is FieldType.DATE:
        return parse_date(text)
    if "\x00" in text:
        raise ValueError("values cannot contain NUL characters")
    return text


def parse_term(field: FieldDef, raw: str, param: str | None = None) -> Term:
    """One filter value of ``field``; :class:`ParamError` if the operator or value is bad."""
    param = param or field.name
    negated, operator, text = split_operator(raw)
    if operator not in field.operators:
        hint = ""
        if operator != "has" and field.type in (FieldType.STRING, FieldType.ENUM):
            hint = f"; to search for a value starting with {operator!r}, prefix it with '='"
        allowed = ", ".join(op for op in field.operators)
        raise ParamError(param, f"operator {operator!r} is not valid for {field.name} "
                                f"({field.type}); valid operators: {allowed}{hint}")
    if field.name == "version" and operator == "has" and text.endswith("b"):
        operator = "^"  # "120.0b" means every 120.0 beta
    try:
        value = typed_value(field, operator, text)
    except ValueError as exc:
        raise ParamError(param, str(exc)) from None
    return Term(operator, value, negated)
