"""failed-crashes: send dead-lettered crashes back to their queue once their cooldown has
passed, when what failed was a backend (a transient failure: the processor marks it so).
Crashes that failed for good (a bad id, a rule that breaks on them), or that were already
sent back ``CRASHLINE_CRONTABBER_FAILED_MAX_REQUEUES`` times, stay in the failed queue and
are listed (in the log, the job's result, and ``crashline failed list``)."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from crashline.common.failed import FailedCrash, requeue, take_failed
from crashline.crontabber import metrics
from crashline.crontabber.job import JobContext

log = logging.getLogger(__name__)

LISTED = 100  # left crashes named in the job's result
FORGET_AFTER = dt.timedelta(days=30)  # requeue counts of crashes long gone


def why_left(failed: FailedCrash, now: dt.datetime, cooldown: dt.timedelta, requeues: int,
             max_requeues: int) -> str | None:
    """Why a failed crash stays in the failed queue, or None to send it back."""
    failed_at = failed.failed_at_time()
    if not failed.transient or failed_at is None:
        return "permanent"
    if requeues >= max_requeues:
        return "too_many_requeues"
    if now - failed_at < cooldown:
        return "cooling_down"
    return None


_COUNTS_SQL = "SELECT crash_id, requeues FROM failed_crash_requeues WHERE crash_id = ANY(%s)"
_RECORD_SQL = """
INSERT INTO failed_crash_requeues (crash_id, requeues, last_requeued_at, last_reason)
VALUES (%(crash_id)s, 1, %(now)s, %(reason)s)
ON CONFLICT (crash_id) DO UPDATE SET requeues = failed_crash_requeues.requeues + 1,
    last_requeued_at = EXCLUDED.last_requeued_at, last_reason = EXCLUDED.last_reason
"""


def run(context: JobContext) -> dict:
    settings = context.settings
    queue = context.backends.queue
    now = context.now()
    cooldown = dt.timedelta(seconds=settings.crontabber_failed_cooldown)
    requeued = 0
    left: list[dict] = []
    try:
        failed = take_failed(queue)  # held unacked: closing the connection gives them back
        with context.db.transaction() as cur:
            cur.execute(_COUNTS_SQL, ([f.message.crash_id for f in failed],))
            counts = {row["crash_id"]: row["requeues"] for row in cur.fetchall()}
        for item in failed:
            crash_id = item.message.crash_id
            why = why_left(item, now, cooldown, counts.get(crash_id, 0),
                           settings.crontabber_failed_max_requeues)
            if why is not None:
                left.append({"crash_id": item.body, "why": why, "reason": item.reason,
                             "failed_at": item.failed_at})
                continue
            # Counted before it is sent: a crash is never requeued more often than allowed.
            with context.db.transaction() as cur:
                cur.execute(_RECORD_SQL, {"crash_id": crash_id, "now": now,
                                          "reason": item.reason[:1000]})
            target = requeue(queue, item, queue.names)
            requeued += 1
            log.info("requeued failed crash %s to %s (it failed: %s)", item.body, target,
                     item.reason)
        with context.db.transaction() as cur:
            cur.execute("DELETE FROM failed_crash_requeues WHERE last_requeued_at < %s",
                        (now - FORGET_AFTER,))
    finally:
        queue.close()
    metrics.FAILED_REQUEUED.inc(requeued)
    by_why = Counter(entry["why"] for entry in left)
    for why in ("permanent", "cooling_down", "too_many_requeues"):
        metrics.FAILED_LEFT.labels(why).set(by_why.get(why, 0))
    for entry in left:
        log.warning("failed crash %s left in the failed queue (%s): %s", entry["crash_id"],
                    entry["why"], entry["reason"])
    return {"requeued": requeued, "left": len(left), "left_by_why": dict(by_why),
            "left_crashes": left[:LISTED]}
