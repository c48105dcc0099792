"""Crash ids: a UUIDv4 whose last seven characters are a throttle digit and the UTC
submission date as ``YYMMDD``, e.g. ``de1bb258-cbbf-4589-a673-34f800160918``.

Keeping the date in the id lets storage keys and search indices be found from the id
alone; the throttle digit tells the processor whether the collector queued the crash.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from enum import IntEnum
from functools import lru_cache

# Always used with fullmatch: ``$`` would also accept a trailing newline.
CRASH_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{6}[0-9]{6}")
BREAKPAD_PREFIX = "bp-"


class Throttle(IntEnum):
    ACCEPT = 0  # stored and queued
    DEFER = 1  # stored, not queued
    # Never stored: the digits of ids a collector answers for crashes it drops.
    REJECT = 2
    FAKE_ACCEPT = 3


class InvalidCrashId(ValueError):
    pass


def create_crash_id(
    timestamp: dt.datetime | None = None, throttle: Throttle = Throttle.ACCEPT
) -> str:
    """A new crash id for a crash submitted at ``timestamp`` (default: now, UTC)."""
    timestamp = timestamp or dt.datetime.now(dt.UTC)
    if timestamp.tzinfo is not None:
        timestamp = timestamp.astimezone(dt.UTC)
    return f"{str(uuid.uuid4())[:-7]}{int(throttle)}{timestamp:%y%m%d}"


def is_valid_crash_id(crash_id: object) -> bool:
    if not isinstance(crash_id, str) or not CRASH_ID_RE.fullmatch(crash_id):
        return False
    try:
        date_from_crash_id(crash_id)
    except InvalidCrashId:
        return False
    return True


def validate_crash_id(crash_id: object) -> str:
    """Return the crash id, or raise :class:`InvalidCrashId` saying why."""
    if not isinstance(crash_id, str) or not CRASH_ID_RE.fullmatch(crash_id):
        raise InvalidCrashId(f"not a crash id: {crash_id!r}")
    date_from_crash_id(crash_id)
    return crash_id


def strip_breakpad_prefix(value: str) -> str:
    """Accept ``bp-<id>`` (what clients are given) as well as a bare id."""
    value = value.strip()
    return value[len(BREAKPAD_PREFIX):] if value.startswith(BREAKPAD_PREFIX) else value


def date_from_crash_id(crash_id: str) -> dt.date:
    try:
        return _parse_yymmdd(crash_id[-6:])
    except ValueError as exc:
        raise InvalidCrashId(f"crash id has no valid date: {crash_id!r}") from exc


@lru_cache(maxsize=1024)
def _parse_yymmdd(text: str) -> dt.date:
    # strptime is slow and ids are checked several times per crash; few dates recur.
    return dt.datetime.strptime(text, "%y%m%d").date()


def throttle_from_crash_id(crash_id: str) -> Throttle:
    return Throttle(int(crash_id[-7]))
