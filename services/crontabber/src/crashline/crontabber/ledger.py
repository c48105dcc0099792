"""The ledger's arithmetic: one hour's crashes at each stage, and what differs.

The stages of a crash received in hour H:

- received: the collector's receipt ``v1/received/<H>/<id>`` (written once it was stored);
- stored: its raw crash in crash storage (crashes without a receipt are placed in their
  hour by the raw crash's ``submitted_timestamp``);
- processed: its processed crash in crash storage;
- indexed: a search document whose ``date`` (when it was received) is in H.

Crashes the throttler deferred are stored and never meant to be processed: they are counted
apart (``deferred``) until someone processes them anyway. Once the pipeline has caught up,
every kind of difference is empty, so received = stored = processed + deferred and
processed = indexed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from crashline.common.crashid import Throttle, is_valid_crash_id, throttle_from_crash_id
from crashline.common.ledger import (
    INDEXED_NOT_PROCESSED,
    INDEXED_TWICE,
    KINDS,
    PROCESSED_NOT_INDEXED,
    RECEIVED_NOT_STORED,
    STORED_NOT_PROCESSED,
    STORED_NOT_RECEIVED,
)


def is_deferred(crash_id: str) -> bool:
    return is_valid_crash_id(crash_id) and throttle_from_crash_id(crash_id) is Throttle.DEFER


@dataclass
class HourCount:
    hour: dt.datetime
    received: int
    stored: int
    deferred: int
    processed: int
    indexed: int
    differences: dict[str, set[str]] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return not any(self.differences.values())

    def difference_counts(self) -> dict[str, int]:
        return {kind: len(self.differences.get(kind, ())) for kind in KINDS}


def reconcile(hour: dt.datetime, received: set[str], stored: set[str], processed: set[str],
              indexed_hits: Iterable[str]) -> HourCount:
    """Count one hour. ``processed`` holds the crashes, among the stored and the indexed
    ones, whose processed crash exists; ``indexed_hits`` the crash id of every search
    document of the hour (a crash in two indices appears twice)."""
    hits = Counter(indexed_hits)
    indexed = set(hits)
    processed = processed & (stored | indexed)
    deferred = {cid for cid in stored if is_deferred(cid)} - processed
    differences = {
        RECEIVED_NOT_STORED: received - stored,
        STORED_NOT_RECEIVED: stored - received,
        STORED_NOT_PROCESSED: stored - deferred - processed,
        PROCESSED_NOT_INDEXED: processed - indexed,
        INDEXED_NOT_PROCESSED: indexed - processed,
        INDEXED_TWICE: {cid for cid, n in hits.items() if n > 1},
    }
    return HourCount(hour, len(received), len(stored), len(deferred), len(processed),
                     len(indexed), differences)


def hours_to_count(slot: dt.datetime, counted: dict[dt.datetime, bool], recount: int,
                   recheck: int) -> list[dt.datetime]:
    """The closed hours a run for ``slot`` counts, oldest first: within the last ``recheck``
    hours, those never counted or left unbalanced, and all of the last ``recount`` hours
    (late crashes, and a count taken while the hour's last crashes were on their way).
    ``counted`` maps each counted hour to whether it balanced."""
    last = slot.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0) \
        - dt.timedelta(hours=1)
    hours = []
    for back in range(recheck - 1, -1, -1):
        hour = last - dt.timedelta(hours=back)
        if back < recount or not counted.get(hour, False):
            hours.append(hour)
    return hours
