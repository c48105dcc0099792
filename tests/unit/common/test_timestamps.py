"""Times read back from crashes and records."""

from __future__ import annotations

import datetime as dt

import pytest

from crashline.common.timestamps import parse_timestamp, submitted_at

UTC = dt.UTC


@pytest.mark.parametrize("value, expected", [
    ("2026-05-10T13:14:15+00:00", dt.datetime(2026, 5, 10, 13, 14, 15, tzinfo=UTC)),
    ("2026-05-10T13:14:15", dt.datetime(2026, 5, 10, 13, 14, 15, tzinfo=UTC)),  # no zone: UTC
    ("2026-05-10T15:14:15+02:00", dt.datetime(2026, 5, 10, 13, 14, 15, tzinfo=UTC)),
    ("yesterday", None), ("", None), (None, None), (1715346855, None), (b"2026-05-10", None),
])
def test_parse_timestamp(value, expected):
    assert parse_timestamp(value) == expected


def test_submitted_at_reads_the_collectors_timestamp_then_its_metadata_copy():
    when = "2026-05-10T15:14:15+02:00"
    utc = dt.datetime(2026, 5, 10, 13, 14, 15, tzinfo=UTC)
    assert submitted_at({"submitted_timestamp": when}) == utc
    assert submitted_at({"submitted_timestamp": when}).utcoffset() == dt.timedelta(0)
    assert submitted_at({"metadata": {"submitted_timestamp": when}}) == utc
    assert submitted_at({"submitted_timestamp": "bad", "metadata": {"submitted_timestamp":
                                                                    when}}) == utc
    assert submitted_at({"metadata": "not a mapping"}) is None
    assert submitted_at({}) is None
