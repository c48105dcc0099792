import datetime as dt

import pytest

from crashline.common.fields import get_field
from crashline.webapp.errors import ParamError
from crashline.webapp.supersearch.dates import date_window

NOW = dt.datetime(2024, 6, 15, 12, 0, tzinfo=dt.UTC)
DATE = get_field("date")


def test_default_is_the_last_seven_days():
    window = date_window(DATE, [], NOW)
    assert (window.start, window.end) == (NOW - dt.timedelta(days=7), NOW)


def test_missing_lower_bound_is_upper_minus_seven_days():
    window = date_window(DATE, ["<2024-03-10"], NOW)
    assert window.start == dt.datetime(2024, 3, 3, tzinfo=dt.UTC)
    assert not window.end_inclusive


def test_missing_upper_bound_is_now():
    window = date_window(DATE, [">=2024-06-01"], NOW)
    assert (window.start, window.end) == (dt.datetime(2024, 6, 1, tzinfo=dt.UTC), NOW)


def test_tightest_bounds_win():
    window = date_window(DATE, [">=2024-06-01", ">2024-06-03", "<2024-06-10", "<=2024-06-12"],
                         NOW)
    assert window.start == dt.datetime(2024, 6, 3, tzinfo=dt.UTC)
    assert not window.start_inclusive
    assert window.end == dt.datetime(2024, 6, 10, tzinfo=dt.UTC)
    body = window.range_query()
    assert set(body["range"]["date"]) == {"gt", "lt"}


@pytest.mark.parametrize("values, fragment", [
    (["2024-01-01"], "needs one of the operators"),
    (["=2024-01-01"], "needs one of the operators"),
    (["!>2024-01-01"], "needs one of the operators"),
    (["__null__"], "needs one of the operators"),
    ([">=2023-01-01", "<2024-06-01"], "the most is 365"),
    ([">=2024-06-10", "<2024-06-01"], "empty"),
    ([">=0001-01-02"], "the most is 365"),
    (["<0001-01-02"], "out of range"),
])
def test_bad_windows(values, fragment):
    with pytest.raises(ParamError) as info:
        date_window(DATE, values, NOW)
    assert info.value.param == "date"
    assert fragment in info.value.message


def test_exactly_365_days_is_allowed():
    window = date_window(DATE, [">=2023-06-16T12:00:00", "<=2024-06-15T12:00:00"], NOW)
    assert window.end - window.start == dt.timedelta(days=365)
