"""bug-associations: keep ``bug_associations`` in step with the bug tracker. Every bug created,
or whose crash-signature field changed, since the last success (a day back on the first
run) has its associations replaced by the signatures its field names now: new ones added,
vanished ones removed. Needs ``CRASHLINE_CRONTABBER_BUGZILLA_URL``."""

from __future__ import annotations

import datetime as dt

from crashline.crontabber import metrics
from crashline.crontabber.bugzilla import Bug, Bugzilla
from crashline.crontabber.job import JobContext
from crashline.crontabber.settings import CrontabberSettings

# Bugs changed just before the last run may not have been visible to it yet.
OVERLAP = dt.timedelta(hours=1)
FIRST_RUN = dt.timedelta(days=1)
BATCH = 500


def disabled(settings: CrontabberSettings) -> str | None:
    if not settings.crontabber_bugzilla_url:
        return "CRASHLINE_CRONTABBER_BUGZILLA_URL is not set"
    return None


def apply(cur, bugs: list[Bug]) -> tuple[int, int]:
    """Make each bug's associations exactly its signatures; (added, removed)."""
    ids = [bug.id for bug in bugs]
    cur.execute("SELECT bug_id, signature FROM bug_associations WHERE bug_id = ANY(%s)", (ids,))
    current: dict[int, set[str]] = {bug_id: set() for bug_id in ids}
    for row in cur.fetchall():
        current[row["bug_id"]].add(row["signature"])
    added = removed = 0
    for bug in bugs:
        gone = sorted(current[bug.id] - bug.signatures)
        new = sorted(bug.signatures - current[bug.id])
        if gone:
            cur.execute("DELETE FROM bug_associations WHERE bug_id = %s AND signature = ANY(%s)",
                        (bug.id, gone))
            removed += len(gone)
        for signature in new:
            cur.execute("INSERT INTO bug_associations (bug_id, signature) VALUES (%s, %s) "
                        "ON CONFLICT DO NOTHING", (bug.id, signature))
            added += cur.rowcount
        current[bug.id] = set(bug.signatures)  # a bug listed twice: the later entry wins
    return added, removed


def run(context: JobContext) -> dict:
    settings = context.settings
    since = (context.last_success or context.slot - FIRST_RUN) - OVERLAP
    tracker = Bugzilla(settings.crontabber_bugzilla_url,
                       settings.crontabber_bugzilla_api_key.get_secret_value(),
                       settings.crontabber_bugzilla_timeout,
                       settings.crontabber_bugzilla_max_bytes)
    seen = added = removed = 0
    batch: list[Bug] = []

    def flush() -> None:
        nonlocal added, removed
        with context.db.transaction() as cur:
            more, fewer = apply(cur, batch)
        added, removed = added + more, removed + fewer
        batch.clear()

    try:
        for bug in tracker.changed_since(since):
            seen += 1
            batch.append(bug)
            if len(batch) >= BATCH:
                flush()
        if batch:
            flush()
    finally:
        tracker.close()
    metrics.BUG_ASSOCIATIONS.labels("added").inc(added)
    metrics.BUG_ASSOCIATIONS.labels("removed").inc(removed)
    return {"bugs": seen, "added": added, "removed": removed, "since": since.isoformat()}
