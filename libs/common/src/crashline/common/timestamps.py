"""Times written into crashes and records: ISO 8601, UTC unless they say otherwise."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping


def parse_timestamp(value: object) -> dt.datetime | None:
    """An ISO 8601 time as an aware datetime (UTC if it names no zone), or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def submitted_at(raw_crash: Mapping) -> dt.datetime | None:
    """When the collector received a raw crash (its ``submitted_timestamp``, or the copy in
    its metadata), in UTC; None if it says neither."""
    metadata = raw_crash.get("metadata")
    when = parse_timestamp(raw_crash.get("submitted_timestamp")) or parse_timestamp(
        metadata.get("submitted_timestamp") if isinstance(metadata, Mapping) else None)
    return when.astimezone(dt.UTC) if when else None
