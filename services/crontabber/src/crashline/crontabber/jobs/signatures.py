"""signatures: reconcile each signature's first date and first build in PostgreSQL with the
search engine, never moving either later.

The processor's upsert of every crash is the fast path; this job is the safety net (a
table restored from a backup, crashes indexed while it could not be written). Each run
aggregates, per signature, the earliest date and build of the crashes processed in its
window (the hour before its slot, plus a margin), over every index, so crashes processed
late and crashes reprocessed are seen too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from psycopg2.extras import execute_values

from crashline.common.search import SearchBackend
from crashline.crontabber import metrics
from crashline.crontabber.job import JobContext

MARGIN = dt.timedelta(minutes=10)
PAGE = 1000

_UPSERT_SQL = """
INSERT INTO signatures (signature, first_date, first_build) VALUES %s
ON CONFLICT (signature) DO UPDATE SET
    first_date = LEAST(signatures.first_date, EXCLUDED.first_date),
    first_build = LEAST(signatures.first_build, EXCLUDED.first_build)
WHERE EXCLUDED.first_date < signatures.first_date
   OR EXCLUDED.first_build < signatures.first_build
   OR (signatures.first_build IS NULL AND EXCLUDED.first_build IS NOT NULL)
RETURNING signature
"""


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat()


def first_seen(search: SearchBackend, start: dt.datetime, end: dt.datetime
               ) -> Iterator[tuple[str, dt.datetime, int | None]]:
    """(signature, earliest date, earliest build id) of the crashes processed in
    [start, end), a page of signatures at a time."""
    indices = search.existing_indices()
    body: dict = {
        "size": 0,
        "query": {"bool": {"filter": [
            {"range": {"processed_date": {"gte": _iso(start), "lt": _iso(end)}}},
            {"exists": {"field": "signature"}}]}},
        "aggs": {"signatures": {
            "composite": {"size": PAGE, "sources": [{"signature": {"terms": {
                "field": "signature"}}}]},
            "aggs": {"first_date": {"min": {"field": "date"}},
                     "first_build": {"min": {"field": "build_id"}}}}},
    }
    while True:
        result = search.search(indices, body)
        agg = (result.get("aggregations") or {}).get("signatures") or {}
        for bucket in agg.get("buckets", []):
            date = bucket["first_date"].get("value")
            if date is None or not bucket["key"]["signature"]:
                continue
            build = bucket["first_build"].get("value")
            yield (bucket["key"]["signature"],
                   dt.datetime.fromtimestamp(date / 1000, dt.UTC),
                   None if build is None else int(build))
        after = agg.get("after_key")
        if not after or len(agg.get("buckets", [])) < PAGE:
            return
        body["aggs"]["signatures"]["composite"]["after"] = after


def run(context: JobContext) -> dict:
    start = context.slot - dt.timedelta(hours=1) - MARGIN
    seen = changed = 0
    batch: list[tuple[str, dt.datetime, int | None]] = []

    def flush() -> int:
        with context.db.transaction() as cur:
            rows = execute_values(cur, _UPSERT_SQL, batch, fetch=True)
        batch.clear()
        return len(rows)

    for row in first_seen(context.backends.search, start, context.slot):
        seen += 1
        batch.append(row)
        if len(batch) >= PAGE:
            changed += flush()
    if batch:
        changed += flush()
    metrics.SIGNATURES_UPDATED.inc(changed)
    return {"signatures": seen, "changed": changed}
