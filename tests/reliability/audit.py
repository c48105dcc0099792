"""The ledger check at the end of a fault run: where is every crash the collector accepted?

Each crash id a client was answered with must be in raw storage, in processed storage and in
the search index exactly once, or be visibly in the failed queue with a reason. A crash that
is neither is *lost*; a crash with two search documents is *duplicated*.

Crashes stored without any client holding their id (the collector stored the report, then
the answer never reached the client, which sent the report again) are counted apart: they
are the same report twice, not a loss, and they must be processed as well.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from crashline.common.crashid import date_from_crash_id
from crashline.common.failed import take_failed
from crashline.common.queue import RabbitMQ
from crashline.common.search import SearchBackend
from crashline.common.storage import CrashStorage
from crashline.crontabber.crashes import existing

PAGE = 5000


def search_hits(search: SearchBackend) -> Counter:
    """Documents per crash id over every index of the namespace."""
    hits: Counter = Counter()
    for index in search.existing_indices():
        body: dict = {"query": {"match_all": {}}, "size": PAGE, "_source": False,
                      "sort": [{"crash_id": "asc"}]}
        while True:
            page = search.search([index], body)["hits"]["hits"]
            hits.update(hit["_id"] for hit in page)
            if len(page) < PAGE:
                break
            body["search_after"] = page[-1]["sort"]
    return hits


def failed_reasons(queue: RabbitMQ) -> dict[str, str]:
    """Crash id -> reason of every message of the failed queue (held, then given back)."""
    try:
        return {failed.message.crash_id: failed.reason for failed in take_failed(queue)}
    finally:
        queue.close()


@dataclass
class Audit:
    accepted: int = 0
    stored: int = 0
    processed: int = 0
    indexed: int = 0
    failed: int = 0
    lost: int = 0
    duplicated: int = 0
    failed_without_reason: int = 0
    lost_ids: dict[str, str] = field(default_factory=dict)  # id -> what it lacks
    failed_ids: dict[str, str] = field(default_factory=dict)  # id -> reason
    duplicated_ids: list[str] = field(default_factory=list)
    unanswered: int = 0  # stored crashes no client holds the id of
    unanswered_settled: int = 0  # of those, processed and indexed, or failed

    def line(self) -> str:
        return (f"accepted {self.accepted}  stored {self.stored}  processed {self.processed}  "
                f"indexed {self.indexed}  failed {self.failed}  lost {self.lost}  "
                f"duplicated {self.duplicated}")

    def extra_line(self) -> str:
        return (f"stored without an answer to a client (the client sent the report again): "
                f"{self.unanswered}, of which processed and indexed or failed "
                f"{self.unanswered_settled}")


def stored_ids(storage: CrashStorage, days: Iterable[dt.date]) -> set[str]:
    return {cid for day in days for cid in storage.list_raw_crashes(day)}


def audit(accepted: Iterable[str], storage: CrashStorage, search: SearchBackend,
          queue: RabbitMQ, threads: int = 16) -> Audit:
    accepted = sorted(set(accepted))
    days = {date_from_crash_id(cid) for cid in accepted}
    everything = stored_ids(storage, days)
    unanswered = sorted(everything - set(accepted))
    considered = accepted + unanswered
    processed = existing(storage.has_processed_crash, considered, threads)
    hits = search_hits(search)
    failed = failed_reasons(queue)

    result = Audit(accepted=len(accepted))
    for cid in accepted:
        stored = cid in everything
        result.stored += stored
        result.processed += cid in processed
        result.indexed += hits[cid] >= 1
        if hits[cid] > 1:
            result.duplicated += 1
            result.duplicated_ids.append(cid)
        if stored and cid in processed and hits[cid] >= 1:
            continue
        if cid in failed:
            result.failed += 1
            result.failed_ids[cid] = failed[cid]
            result.failed_without_reason += not failed[cid].strip()
            continue
        lacks = [what for what, ok in (("raw crash", stored), ("processed crash",
                                                               cid in processed),
                                       ("search document", hits[cid] >= 1)) if not ok]
        result.lost += 1
        result.lost_ids[cid] = ", ".join(lacks)
    result.unanswered = len(unanswered)
    result.unanswered_settled = sum(
        1 for cid in unanswered
        if (cid in processed and hits[cid] >= 1) or cid in failed)
    return result
