"""queue-metrics: the depth of every queue, the size of the failed queue, and the age of the
oldest crash still waiting for its first processing, as Prometheus gauges."""

from __future__ import annotations

from crashline.common.timestamps import parse_timestamp
from crashline.crontabber import metrics
from crashline.crontabber.crashes import stored_received_at
from crashline.crontabber.job import JobContext


def run(context: JobContext) -> dict:
    queue = context.backends.queue
    depths = queue.depths()
    for name, depth in depths.items():
        metrics.QUEUE_DEPTH.labels(name).set(depth)
    metrics.FAILED_QUEUE.set(depths[queue.names.failed])
    age = oldest_unprocessed_age(context)
    metrics.OLDEST_UNPROCESSED.set(age)
    return {"depths": depths, "oldest_unprocessed_seconds": round(age, 1)}


def oldest_unprocessed_age(context: JobContext) -> float:
    """Seconds since the oldest waiting crash was received: the heads of the priority and
    standard queues (peeked: the message goes straight back to the head of its queue), and
    the crashes stored but still pending publish. 0 when nothing waits."""
    queue, storage = context.backends.queue, context.backends.storage
    times = []
    for name in (queue.names.priority, queue.names.standard):
        message = queue.get(name)
        if message is None:
            continue
        queue.nack(message, requeue=True)
        when = stored_received_at(storage, message.crash_id)
        if when is not None:
            times.append(when)
    for crash_id, record in storage.list_pending_publish():
        when = parse_timestamp(record.get("time")) or stored_received_at(storage, crash_id)
        if when is not None:
            times.append(when)
    if not times:
        return 0.0
    return max(0.0, (context.now() - min(times)).total_seconds())
