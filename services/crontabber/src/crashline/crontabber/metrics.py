"""The crontabber's Prometheus metrics (served on ``CRASHLINE_METRICS_PORT``, 9190).

Job states come from PostgreSQL and are refreshed on every pass, so every crontabber
process reports every job; the figures a job measures are set by the process that ran it.
A job's name is the label ``cron_job``: ``job`` is the label Prometheus gives every target,
and a scrape would rename ours to ``exported_job``.
"""

from __future__ import annotations

from crashline.common.metrics import Counter, Gauge, Histogram

RUN_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600)

# -- the runner -------------------------------------------------------------------------------
RUNS = Counter("crashline_crontabber_runs_total", "Slots run, by job and result (success, "
               "failure).", ["cron_job", "result"])
RUN_SECONDS = Histogram("crashline_crontabber_run_seconds", "Seconds per slot run.", ["cron_job"],
                        buckets=RUN_BUCKETS)
SKIPPED = Counter("crashline_crontabber_skipped_total", "Due jobs not run, by reason (locked: "
                  "another runner has it; waiting: a dependency failed).", ["cron_job", "reason"])
LAST_SUCCESS = Gauge("crashline_crontabber_last_success_timestamp_seconds",
                     "Slot of the job's last success (Unix time).", ["cron_job"])
ERRORS = Gauge("crashline_crontabber_errors", "Failures in a row (0: healthy).", ["cron_job"])
BROKEN = Gauge("crashline_crontabber_job_broken", "1 when the job's last run failed.", ["cron_job"])
STALE = Gauge("crashline_crontabber_job_stale", "1 when the job has not succeeded for two of "
              "its periods.", ["cron_job"])

# -- what the jobs measure --------------------------------------------------------------------
MISSING_OPEN = Gauge("crashline_missing_processed_crashes",
                     "Crashes found unprocessed or unindexed and not found since.")
MISSING_FOUND = Counter("crashline_missing_processed_crashes_found_total",
                        "Crashes found missing by verify-processed and queued again.")
PENDING_PUBLISHED = Counter("crashline_pending_publish_total",
                            "Crashes recorded as pending publish, by result (published, "
                            "failed).", ["result"])
QUEUE_DEPTH = Gauge("crashline_queue_depth", "Messages waiting in each queue.", ["queue"])
OLDEST_UNPROCESSED = Gauge("crashline_oldest_unprocessed_crash_age_seconds",
                           "Age of the oldest crash waiting for its first processing (the "
                           "heads of the standard and priority queues, and crashes pending "
                           "publish); 0 when none waits.")
FAILED_QUEUE = Gauge("crashline_failed_queue_size", "Crashes in the failed (dead-letter) queue.")
FAILED_REQUEUED = Counter("crashline_failed_crashes_requeued_total",
                          "Failed crashes sent back to be processed after a transient failure.")
FAILED_LEFT = Gauge("crashline_failed_crashes_left", "Failed crashes left in the failed queue, "
                    "by why (permanent, cooling_down, too_many_requeues).", ["why"])
INDICES_DELETED = Counter("crashline_search_indices_deleted_total",
                          "Weekly indices deleted past the retention.")
CRASHES_EXPIRED = Counter("crashline_storage_crashes_expired_total",
                          "Crashes deleted from crash storage past the retention.")
SIGNATURES_UPDATED = Counter("crashline_signatures_reconciled_total",
                             "Signature rows created or moved earlier from the search engine.")
BUG_ASSOCIATIONS = Counter("crashline_bug_associations_changed_total",
                           "Bug associations added and removed.", ["change"])
LEDGER_DIFFERENCES = Gauge("crashline_ledger_differences",
                           "Crashes behind each kind of ledger difference, over the hours "
                           "still checked.", ["kind"])
LEDGER_UNBALANCED = Gauge("crashline_ledger_unbalanced_hours",
                          "Closed hours, among those still checked, whose counts differ.")
LEDGER_LAST_HOUR = Gauge("crashline_ledger_last_hour_crashes",
                         "Crashes of the last counted hour, by stage.", ["stage"])
SYMBOLS_REPROCESS_QUEUED = Counter("crashline_symbols_reprocess_queued_total",
                                   "Crashes queued for reprocessing because symbols they "
                                   "missed arrived.")
SYMBOLS_REPROCESS_WAITING = Gauge("crashline_symbols_reprocess_waiting",
                                  "Crashes waiting to be queued for reprocessing because "
                                  "symbols they missed arrived.")
