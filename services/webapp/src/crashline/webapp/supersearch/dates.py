"""The date window of a search (reference §4.3).

Every ``date`` value needs a range operator; only the tightest bounds count; a missing upper
bound is now and a missing lower bound is the upper bound minus 7 days; a window longer than
365 days is refused. The window decides which weekly indices are searched.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crashline.common.fields import FieldDef
from crashline.webapp.errors import ParamError
from crashline.webapp.supersearch.values import RANGE_OPERATORS, parse_term, split_operator

DEFAULT_DAYS = 7
MAX_DAYS = 365


@dataclass(frozen=True)
class DateWindow:
    start: dt.datetime
    end: dt.datetime
    start_inclusive: bool = True
    end_inclusive: bool = True

    def range_query(self, field: str = "date") -> dict:
        return {"range": {field: {
            ("gte" if self.start_inclusive else "gt"): _iso(self.start),
            ("lte" if self.end_inclusive else "lt"): _iso(self.end),
        }}}


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def date_window(field: FieldDef, values: list[str], now: dt.datetime) -> DateWindow:
    lower: tuple[dt.datetime, bool] | None = None   # (bound, inclusive)
    upper: tuple[dt.datetime, bool] | None = None
    for raw in values:
        if raw == "":
            continue
        negated, operator, _ = split_operator(raw)
        if negated or operator not in RANGE_OPERATORS:
            raise ParamError("date", "each date needs one of the operators >, >=, <, <= "
                                     f"(e.g. date=>=2024-01-01), got {raw!r}")
        term = parse_term(field, raw, "date")
        value: dt.datetime = term.value  # type: ignore[assignment]
        inclusive = term.operator in (">=", "<=")
        if term.operator in (">", ">="):
            if lower is None or value > lower[0] or (value == lower[0] and not inclusive):
                lower = (value, inclusive)
        elif upper is None or value < upper[0] or (value == upper[0] and not inclusive):
            upper = (value, inclusive)
    try:
        end, end_inclusive = upper or (now, True)
        start, start_inclusive = lower or (end - dt.timedelta(days=DEFAULT_DAYS), True)
    except OverflowError:
        raise ParamError("date", "date out of range") from None
    if start > end:
        raise ParamError("date", f"the window is empty: {_iso(start)} is after {_iso(end)}")
    if end - start > dt.timedelta(days=MAX_DAYS):
        raise ParamError("date", f"the window spans {(end - start).days} days; "
                                 f"the most is {MAX_DAYS}")
    return DateWindow(start, end, start_inclusive, end_inclusive)
