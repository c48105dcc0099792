"""search-maintenance: create this week's and next week's index ahead of the crashes (so the
first crash of a week does not wait for an index to be made), and delete our indices whose
every day is past ``CRASHLINE_SEARCH_RETENTION_WEEKS``, the window searches already look at.
"""

from __future__ import annotations

import datetime as dt
import logging

from crashline.common.search import IndexNamer
from crashline.crontabber import metrics
from crashline.crontabber.job import JobContext

log = logging.getLogger(__name__)

# How far back index names are recognised as past ones; an index of ours older than this (or
# one no date produces, like a future week's) is left alone and reported.
OLDEST = dt.timedelta(days=20 * 366)
_DAY = dt.timedelta(days=1)


def _names(namer: IndexNamer, first: dt.date, last: dt.date) -> set[str]:
    names = set()
    day = first
    while day <= last:
        names.add(namer.for_date(day))
        day += _DAY
    return names


def expired_indices(namer: IndexNamer, existing: list[str], now: dt.datetime,
                    retention: dt.timedelta) -> tuple[list[str], list[str]]:
    """(indices to delete, indices of ours that are neither past nor kept).

    Searches read the indices of every day in [now - retention, now]; an index is expired
    when none of its days is in that window (a week straddling the edge is kept)."""
    cutoff = (now - retention).date()
    kept = _names(namer, cutoff, (now + 14 * _DAY).date())
    past = _names(namer, (now - retention - OLDEST).date(), cutoff - _DAY) - kept
    ours = [name for name in existing if namer.is_ours(name)]
    return (sorted(n for n in ours if n in past),
            sorted(n for n in ours if n not in past and n not in kept))


def run(context: JobContext) -> dict:
    search = context.backends.search
    namer = search.namer
    created = []
    for when in (context.slot, context.slot + dt.timedelta(weeks=1)):
        name = namer.for_date(when)
        search.ensure_index(name)
        created.append(name)
    retention = dt.timedelta(weeks=context.settings.search_retention_weeks)
    expired, unknown = expired_indices(namer, search.existing_indices(), context.slot,
                                       retention)
    for name in expired:
        log.info("deleting index %s: past the retention of %s", name, retention)
        search.delete_index(name)
        metrics.INDICES_DELETED.inc()
    if unknown:
        log.warning("indices that look like ours but no recent or past date makes: %s",
                    ", ".join(unknown))
    return {"ensured": created, "deleted": expired, "unknown": unknown}
