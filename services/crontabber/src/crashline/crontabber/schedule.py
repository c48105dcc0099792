"""When jobs run: pure time arithmetic, no I/O.

Each job runs for *slots*: points on a grid of its frequency, anchored at a Monday midnight
UTC plus its time of day. An hourly job's slots are the whole hours, a daily job's are
midnight (or its time of day), a weekly job's are Mondays. A run is due once the job's
``next_run`` has passed; it runs for the latest slot, or, for a job that backfills, for
every slot since its last success, oldest first.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# A Monday, so that weekly jobs run on Mondays.
GRID_ORIGIN = dt.datetime(1970, 1, 5, tzinfo=dt.UTC)
_UNITS = {"m": dt.timedelta(minutes=1), "h": dt.timedelta(hours=1), "d": dt.timedelta(days=1)}
_FREQUENCY_RE = re.compile(r"^([1-9][0-9]*)([mhd])$")
_DAY = dt.timedelta(days=1)


def parse_frequency(text: str) -> dt.timedelta:
    """``"5m"``, ``"1h"``, ``"7d"``: a number and a unit (minutes, hours, days)."""
    match = _FREQUENCY_RE.match(text)
    if not match:
        raise ValueError(f"frequency must look like 5m, 1h or 7d, not {text!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def parse_time_of_day(text: str) -> dt.time:
    """``"HH:MM"`` (UTC)."""
    if re.fullmatch(r"\d\d:\d\d", text):
        try:
            return dt.time.fromisoformat(text)
        except ValueError:  # 25:00
            pass
    raise ValueError(f"time of day must be HH:MM (UTC), not {text!r}")


@dataclass(frozen=True)
class Schedule:
    every: dt.timedelta
    at: dt.time | None = None  # UTC time of day, for jobs of whole days

    def __post_init__(self) -> None:
        if self.every <= dt.timedelta(0):
            raise ValueError("a frequency must be positive")
        if self.at is not None and self.every % _DAY:
            raise ValueError("a time of day needs a frequency of whole days")

    @classmethod
    def parse(cls, every: str, at: str | None = None) -> Schedule:
        return cls(parse_frequency(every), parse_time_of_day(at) if at else None)

    def describe(self) -> str:
        every = _describe(self.every)
        return f"{every} at {self.at:%H:%M}" if self.at else every

    @property
    def _origin(self) -> dt.datetime:
        if self.at is None:
            return GRID_ORIGIN
        return GRID_ORIGIN + dt.timedelta(hours=self.at.hour, minutes=self.at.minute)

    def latest_slot(self, now: dt.datetime) -> dt.datetime:
        """The last slot at or before ``now``."""
        return now - (now - self._origin) % self.every

    def next_slot(self, now: dt.datetime) -> dt.datetime:
        """The first slot after ``now``."""
        return self.latest_slot(now) + self.every

    def slots_to_run(self, now: dt.datetime, last_success: dt.datetime | None,
                     backfill: bool) -> list[dt.datetime]:
        """The slots a due run covers: the latest one, or for a backfilling job every slot
        since its last success (snapped to the grid, should the schedule have changed)."""
        latest = self.latest_slot(now)
        if not backfill or last_success is None:
            return [latest]
        slots = []
        slot = self.latest_slot(last_success) + self.every
        while slot <= latest:
            slots.append(slot)
            slot += self.every
        return slots or [latest]

    def is_stale(self, now: dt.datetime, last_ok: dt.datetime, grace: dt.timedelta) -> bool:
        """Whether a job whose last success (or registration) was ``last_ok`` is overdue:
        two slots missed, plus a grace period for slow runs."""
        return now - last_ok > 2 * self.every + grace


def _describe(delta: dt.timedelta) -> str:
    for suffix, unit in (("d", _DAY), ("h", _UNITS["h"]), ("m", _UNITS["m"])):
        if delta % unit == dt.timedelta(0):
            return f"{delta // unit}{suffix}"
    return str(delta)
