import datetime as dt

import pytest

from crashline.common import crashid
from crashline.common.crashid import InvalidCrashId, Throttle


def test_create_embeds_throttle_and_utc_date():
    when = dt.datetime(2026, 9, 18, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    cid = crashid.create_crash_id(when, Throttle.DEFER)
    assert crashid.CRASH_ID_RE.fullmatch(cid)
    assert cid.endswith("1260919")  # 23:30 at UTC-5 is the 19th in UTC
    assert crashid.date_from_crash_id(cid) == dt.date(2026, 9, 19)
    assert crashid.throttle_from_crash_id(cid) is Throttle.DEFER


def test_create_defaults_to_now_and_accept():
    cid = crashid.create_crash_id()
    assert crashid.date_from_crash_id(cid) == dt.datetime.now(dt.UTC).date()
    assert crashid.throttle_from_crash_id(cid) is Throttle.ACCEPT
    assert crashid.is_valid_crash_id(cid)


def test_ids_are_unique():
    assert len({crashid.create_crash_id() for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    "value",
    [
        "de1bb258-cbbf-4589-a673-34f800160918",
        "00000000-0000-0000-0000-000000201231",
    ],
)
def test_valid(value):
    assert crashid.is_valid_crash_id(value)
    assert crashid.validate_crash_id(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        None,
        42,
        "de1bb258-cbbf-4589-a673-34f800160918 ",
        "de1bb258-cbbf-4589-a673-34f800160918\n",  # `$` would accept it
        "DE1BB258-CBBF-4589-A673-34F800160918",  # upper case is not what we issue
        "de1bb258-cbbf-4589-a673-34f8001609",  # short
        "de1bb258cbbf4589a67334f800160918",  # no dashes
        "de1bb258-cbbf-4589-a673-34f800161318",  # month 13
        "de1bb258-cbbf-4589-a673-34f80016091x",
        "../../../etc/passwd",
    ],
)
def test_invalid(value):
    assert not crashid.is_valid_crash_id(value)
    with pytest.raises(InvalidCrashId):
        crashid.validate_crash_id(value)


def test_strip_breakpad_prefix():
    cid = "de1bb258-cbbf-4589-a673-34f800160918"
    assert crashid.strip_breakpad_prefix(f"bp-{cid}\n") == cid
    assert crashid.strip_breakpad_prefix(cid) == cid
