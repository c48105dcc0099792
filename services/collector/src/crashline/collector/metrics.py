"""The collector's Prometheus metrics (aggregated over gunicorn workers in multiprocess mode)."""

from __future__ import annotations

from crashline.common.metrics import LATENCY_BUCKETS, Counter, Histogram

_SIZE_BUCKETS = tuple(float(2**n) for n in range(10, 30, 2))  # 1 KiB .. 256 MiB

INCOMING = Counter("crashline_collector_incoming_crashes_total",
                   "POST /submit requests received")
CRASHES = Counter("crashline_collector_crashes_total",
                  "Crashes by outcome: accepted, deferred, rejected, fake_accepted",
                  ["result"])
THROTTLE_RULE = Counter("crashline_collector_throttle_rule_total",
                        "Throttle decisions by rule and result", ["rule", "result"])
MALFORMED = Counter("crashline_collector_malformed_total",
                    "Requests refused before throttling, by reason (413s included: "
                    "too_large, inflated_too_large, compression_ratio_too_high, "
                    "annotation_too_large)", ["reason"])
UNAVAILABLE = Counter("crashline_collector_unavailable_total",
                      "Requests answered 503 + Retry-After before anything was stored, by "
                      "reason: low_disk (local storage), memory (the worker's budget)",
                      ["reason"])
UNAUTHORIZED_UUID = Counter("crashline_collector_unauthorized_uuid_total",
                            "Crashes with a uuid annotation but no valid stage-submitter token")
PAYLOAD_BYTES = Counter("crashline_collector_payload_bytes_total",
                        "Bytes of request bodies received (on the wire)", ["compressed"])
PAYLOAD_SIZE = Histogram("crashline_collector_payload_size_bytes",
                         "Size of parsed request bodies on the wire", ["compressed"],
                         buckets=_SIZE_BUCKETS)
REQUEST_SECONDS = Histogram("crashline_collector_submit_seconds",
                            "Time to handle POST /submit, reading the body included",
                            buckets=LATENCY_BUCKETS)
SAVE_SECONDS = Histogram("crashline_collector_save_seconds",
                         "Time to store a crash (every object, retries included)",
                         buckets=LATENCY_BUCKETS)
PUBLISH_SECONDS = Histogram("crashline_collector_publish_seconds",
                            "Time to publish a crash id (confirm and retries included)",
                            buckets=LATENCY_BUCKETS)
RETRIES = Counter("crashline_collector_retries_total",
                  "Storage or queue operations tried again", ["stage"])
FAILURES = Counter("crashline_collector_failures_total",
                   "Steps that failed after every attempt: save (503 answered), publish "
                   "(recorded as pending), pending_publish (not even recorded), receipt (a batch "
                   "of the ledger's receipts, tried again), receipt_dropped (one receipt, "
                   "after storage refused them for long)", ["stage"])
PENDING_PUBLISH = Counter("crashline_collector_pending_publish_total",
                          "Stored crashes recorded under v1/pending_publish/ to be queued later")
