"""Slots, due times, time of day, backfill and back-off: the runner's pure time arithmetic."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crashline.crontabber.job import Job
from crashline.crontabber.runner import order_jobs
from crashline.crontabber.schedule import Schedule, parse_frequency

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("text, expected", [
    ("5m", dt.timedelta(minutes=5)), ("1h", dt.timedelta(hours=1)),
    ("7d", dt.timedelta(days=7)), ("90m", dt.timedelta(minutes=90)),
])
def test_frequencies(text, expected):
    assert parse_frequency(text) == expected


@pytest.mark.parametrize("every, when", [
    ("0m", None), ("1w", None), ("h", None), ("-1h", None), ("1h", "04:00"),
    ("1d", "4:00"), ("1d", "24:00"), ("36h", "01:00"), ("1d", "04:00:00"),
])
def test_bad_schedules_are_refused(every, when):
    with pytest.raises(ValueError):
        Schedule.parse(every, when)


def test_hourly_slots_are_whole_hours():
    hourly = Schedule.parse("1h")
    assert hourly.latest_slot(at("2026-05-10T10:59:59")) == at("2026-05-10T10:00")
    assert hourly.latest_slot(at("2026-05-10T11:00")) == at("2026-05-10T11:00")
    assert hourly.next_slot(at("2026-05-10T10:00")) == at("2026-05-10T11:00")
    five = Schedule.parse("5m")
    assert five.latest_slot(at("2026-05-10T10:07:30")) == at("2026-05-10T10:05")


def test_time_of_day():
    daily = Schedule.parse("1d", "04:00")
    # before 04:00 the latest slot is yesterday's; the next one is today's
    assert daily.latest_slot(at("2026-05-10T03:59")) == at("2026-05-09T04:00")
    assert daily.next_slot(at("2026-05-10T03:59")) == at("2026-05-10T04:00")
    assert daily.latest_slot(at("2026-05-10T04:00")) == at("2026-05-10T04:00")
    assert daily.next_slot(at("2026-05-10T04:00")) == at("2026-05-11T04:00")
    assert daily.describe() == "1d at 04:00"


def test_weekly_jobs_run_on_mondays():
    weekly = Schedule.parse("7d", "05:00")
    slot = weekly.latest_slot(at("2026-05-14T12:00"))  # a Thursday
    assert slot == at("2026-05-11T05:00") and slot.weekday() == 0
    assert weekly.next_slot(slot) == at("2026-05-18T05:00")


def test_backfill_runs_every_missed_slot_oldest_first():
    hourly = Schedule.parse("1h")
    now = at("2026-05-10T13:20")
    assert hourly.slots_to_run(now, at("2026-05-10T10:00"), backfill=True) == [
        at("2026-05-10T11:00"), at("2026-05-10T12:00"), at("2026-05-10T13:00")]
    # without backfill only the latest slot runs
    assert hourly.slots_to_run(now, at("2026-05-10T10:00"), backfill=False) == [
        at("2026-05-10T13:00")]
    # first run, and a forced run when up to date: the latest slot
    assert hourly.slots_to_run(now, None, backfill=True) == [at("2026-05-10T13:00")]
    assert hourly.slots_to_run(now, at("2026-05-10T13:00"), backfill=True) == [
        at("2026-05-10T13:00")]
    # a last success off the grid (the schedule changed) snaps onto it
    assert hourly.slots_to_run(now, at("2026-05-10T11:30"), backfill=True) == [
        at("2026-05-10T12:00"), at("2026-05-10T13:00")]


def test_stale_after_two_periods_and_the_grace():
    hourly = Schedule.parse("1h")
    grace = dt.timedelta(minutes=15)
    last = at("2026-05-10T10:00")
    assert not hourly.is_stale(at("2026-05-10T12:15"), last, grace)
    assert hourly.is_stale(at("2026-05-10T12:16"), last, grace)


@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)),
       st.sampled_from(["1m", "5m", "10m", "1h", "6h", "1d", "7d"]),
       st.sampled_from([None, "00:00", "04:00", "23:59"]))
def test_slots_bracket_now(naive, every, when):
    if when and every not in ("1d", "7d"):
        when = None
    schedule = Schedule.parse(every, when)
    now = naive.replace(tzinfo=UTC)
    latest = schedule.latest_slot(now)
    assert latest <= now < schedule.next_slot(now) == latest + schedule.every
    assert schedule.latest_slot(latest) == latest
    if when:
        assert (latest.hour, latest.minute) == (int(when[:2]), int(when[3:]))


def _job(name, *depends):
    return Job(name, Schedule.parse("1h"), lambda context: None, name, depends_on=depends)


def test_dependencies_run_first_and_bad_graphs_are_refused():
    ordered = order_jobs([_job("c", "b"), _job("a"), _job("b", "a")])
    assert [j.name for j in ordered] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="unknown"):
        order_jobs([_job("a", "nope")])
    with pytest.raises(ValueError, match="cycle"):
        order_jobs([_job("a", "b"), _job("b", "a")])
    with pytest.raises(ValueError, match="two jobs"):
        order_jobs([_job("a"), _job("a")])
