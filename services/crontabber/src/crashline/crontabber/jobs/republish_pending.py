"""republish-pending: queue the crashes the collector stored while RabbitMQ refused them
(``v1/pending_publish/``), deleting each record once the broker confirmed its publish. The
same work as ``crashline pending publish``, on a schedule."""

from __future__ import annotations

from crashline.common.pending import republish_pending
from crashline.crontabber import metrics
from crashline.crontabber.job import JobContext, JobError


def run(context: JobContext) -> dict:
    queue = context.backends.queue
    queue.check()  # a broker that is down fails the job at once, not once per crash
    report = republish_pending(context.backends.storage, queue)
    metrics.PENDING_PUBLISHED.labels("published").inc(report.published)
    metrics.PENDING_PUBLISHED.labels("failed").inc(report.failed)
    if report.failed:
        raise JobError(f"{report.failed} crash(es) still cannot be queued "
                       f"({report.published} queued)")
    return {"published": report.published}
