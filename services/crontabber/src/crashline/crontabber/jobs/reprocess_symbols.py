"""reprocess-symbols: the crashes that missed symbols which have arrived since are processed
again (``crashline.common.symbols.reprocess``). Each run looks for the crashes that missed
the files no one has looked for yet (an upload whose own look failed) and those uploaded
within the last minutes (crashes that were being processed while they arrived), then queues
what the backlog holds, as much as the reprocessing queue has room for and only while no
fresh crash waits. An upload does the same at once; this job finishes what it could not."""

from __future__ import annotations

from crashline.common.symbols.reprocess import SymbolReprocessing
from crashline.crontabber import metrics
from crashline.crontabber.job import JobContext


def run(context: JobContext) -> dict:
    settings = context.settings
    queue = context.backends.queue
    reprocessing = SymbolReprocessing(context.db, context.backends.search, queue, queue.names,
                                      days=settings.symbols_reprocess_days,
                                      max_queued=settings.symbols_reprocess_max_queued)
    now = context.now()
    try:
        found = reprocessing.scan(now=now)
        report = reprocessing.drain(now)
    finally:
        queue.close()
    forgotten = reprocessing.forget(now)
    metrics.SYMBOLS_REPROCESS_QUEUED.inc(report.queued)
    metrics.SYMBOLS_REPROCESS_WAITING.set(report.waiting)
    return {"found": found, "queued": report.queued, "waiting": report.waiting,
            "paused": report.paused, "forgotten": forgotten}
