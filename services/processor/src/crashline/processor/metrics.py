"""The processor's Prometheus metrics."""

from __future__ import annotations

from crashline.common.metrics import LATENCY_BUCKETS, Counter, Gauge, Histogram
from crashline.processor.processor import Outcome, queue_lag

LAG_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)

CRASHES = Counter("crashline_processor_crashes_total",
                  "Crashes handled, by queue and result (saved, missing, retry, failed).",
                  ["queue", "result"])
PROCESS_SECONDS = Histogram("crashline_processor_process_seconds",
                            "Seconds from taking a crash to having it saved everywhere.",
                            ["ruleset"], buckets=LATENCY_BUCKETS)
RULE_SECONDS = Histogram("crashline_processor_rule_seconds", "Seconds per rule.",
                         ["ruleset", "rule"], buckets=LATENCY_BUCKETS)
STACKWALK_SECONDS = Histogram("crashline_processor_stackwalk_seconds",
                              "Seconds per minidump-stackwalk run.", buckets=LATENCY_BUCKETS)
STACKWALK_STATUS = Counter("crashline_processor_stackwalk_total",
                           "minidump-stackwalk runs by status.", ["status"])
SAVE_SECONDS = Histogram("crashline_processor_save_seconds",
                         "Seconds per destination write (a batch of crashes, or one crash).",
                         ["destination"], buckets=LATENCY_BUCKETS)
SAVE_BATCH = Histogram("crashline_processor_save_batch_crashes",
                       "Crashes saved together in one batch.",
                       buckets=(1, 2, 4, 8, 16, 32, 64, 128))
QUEUE_LAG = Histogram("crashline_processor_queue_lag_seconds",
                      "Seconds from submission to processed (first default run).",
                      buckets=LAG_BUCKETS)
IN_FLIGHT = Gauge("crashline_processor_in_flight", "Crashes held by this process.")


def rule_timer(ruleset: str, rule: str, seconds: float) -> None:
    RULE_SECONDS.labels(ruleset, rule).observe(seconds)


def stackwalk_timer(seconds: float, status: str) -> None:
    STACKWALK_SECONDS.observe(seconds)
    STACKWALK_STATUS.labels(status if len(status) <= 40 else "other").inc()


def save_timer(destination: str, seconds: float) -> None:
    SAVE_SECONDS.labels(destination).observe(seconds)


def on_batch(crashes: int) -> None:
    SAVE_BATCH.observe(crashes)


def on_saved(ruleset: str, processed: dict, seconds: float) -> None:
    PROCESS_SECONDS.labels(ruleset).observe(seconds)
    if ruleset == "default" and len(processed.get("processor_history") or []) == 0:
        lag = queue_lag(processed)
        if lag is not None and lag >= 0:
            QUEUE_LAG.observe(lag)


def on_result(queue: str, outcome: Outcome) -> None:
    CRASHES.labels(queue, outcome.result.value).inc()
