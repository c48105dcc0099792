import datetime as dt

import pytest

from crashline.common.fields import get_field
from crashline.webapp.errors import ParamError
from crashline.webapp.supersearch.values import parse_term, split_operator


@pytest.mark.parametrize("raw, expected", [
    ("foo", (False, "has", "foo")),
    ("=foo", (False, "=", "foo")),
    ("~foo", (False, "~", "foo")),
    ("^foo", (False, "^", "foo")),
    ("$foo", (False, "$", "foo")),
    ("@fo+", (False, "@", "fo+")),
    (">=5", (False, ">=", "5")),
    ("<=5", (False, "<=", "5")),
    (">5", (False, ">", "5")),
    ("<5", (False, "<", "5")),
    ("__null__", (False, "__null__", "")),
    ("!__null__", (True, "__null__", "")),
    ("__true__", (False, "__true__", "")),
    ("!~foo", (True, "~", "foo")),
    ("==foo", (False, "=", "=foo")),  # one operator only: the rest is the value
    ("!foo", (True, "has", "foo")),
])
def test_split_operator(raw, expected):
    assert split_operator(raw) == expected


def test_values_are_typed():
    assert parse_term(get_field("uptime"), ">=10").value == 10
    assert parse_term(get_field("date"), ">2024-01-02").value == dt.datetime(2024, 1, 2,
                                                                           tzinfo=dt.UTC)
    when = parse_term(get_field("date"), "<2024-01-02T10:00:00+02:00").value
    assert when == dt.datetime(2024, 1, 2, 8, tzinfo=dt.UTC)


@pytest.mark.parametrize("field, raw, fragment", [
    ("uptime", "ten", "not an integer"),
    ("cpu_count", "99999999999", "out of range"),
    ("uptime", "~5", "operator '~' is not valid"),
    ("signature", "<unknown>", "prefix it with '='"),
    ("startup_crash", "true", "operator 'has' is not valid"),
    ("date", ">yesterday", "not an ISO 8601"),
    ("signature", "~", "needs a value"),
    ("signature", "a\x00b", "NUL"),
])
def test_bad_values_name_the_parameter(field, raw, fragment):
    with pytest.raises(ParamError) as info:
        parse_term(get_field(field), raw)
    assert info.value.param == field
    assert fragment in info.value.message


def test_version_ending_in_b_is_a_prefix():
    term = parse_term(get_field("version"), "120.0b")
    assert (term.operator, term.value) == ("^", "120.0b")
    assert parse_term(get_field("version"), "120.0").operator == "has"
    assert parse_term(get_field("version"), "=120.0b").operator == "="
