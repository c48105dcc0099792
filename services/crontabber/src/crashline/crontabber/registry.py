"""Every job, its schedule (frequency, UTC time of day), whether it backfills missed slots,
and what it depends on. The runner orders them so that dependencies run first."""

from __future__ import annotations

from crashline.crontabber.job import Job
from crashline.crontabber.jobs import (
    bug_associations,
    failed_crashes,
    ledger,
    prune_log,
    queue_metrics,
    reprocess_symbols,
    republish_pending,
    search_maintenance,
    signatures,
    storage_retention,
    verify_processed,
)
from crashline.crontabber.schedule import Schedule

JOBS: tuple[Job, ...] = (
    Job("republish-pending", Schedule.parse("5m"), republish_pending.run,
        "Queue the crashes the collector stored while RabbitMQ refused them."),
    Job("queue-metrics", Schedule.parse("1m"), queue_metrics.run,
        "Queue depths, the failed queue's size and the oldest unprocessed crash's age."),
    Job("failed-crashes", Schedule.parse("10m"), failed_crashes.run,
        "Requeue failed crashes whose failure was transient, after a cooldown; list the "
        "rest."),
    Job("verify-processed", Schedule.parse("1d", "04:00"), verify_processed.run,
        "Find stored crashes of the last days that are not processed or not indexed, "
        "record and requeue them, and mark the ones found since.",
        backfill=True, depends_on=("republish-pending",)),
    Job("search-maintenance", Schedule.parse("1d", "06:00"), search_maintenance.run,
        "Create this week's and next week's index; delete indices past the retention."),
    Job("storage-retention", Schedule.parse("1d", "02:00"), storage_retention.run,
        "Delete crashes older than the storage retention (off unless set).",
        disabled=storage_retention.disabled),
    Job("signatures", Schedule.parse("1h"), signatures.run,
        "Reconcile first dates and builds of signatures from the search engine.",
        backfill=True),
    Job("bug-associations", Schedule.parse("1h"), bug_associations.run,
        "Follow the crash signatures of bugs changed since the last run.",
        disabled=bug_associations.disabled),
    # No backfill: each run counts every hour of its window not yet balanced.
    Job("ledger", Schedule.parse("1h"), ledger.run,
        "Count each closed hour's crashes received, stored, processed and indexed."),
    Job("reprocess-symbols", Schedule.parse("1m"), reprocess_symbols.run,
        "Queue the recent crashes that missed symbols uploaded since, a few at a time, "
        "while no fresh crash waits."),
    Job("prune-log", Schedule.parse("7d", "05:00"), prune_log.run,
        "Delete run-log rows older than the log retention."),
)
