"""Prometheus helpers shared by the services.

Web services run several gunicorn worker processes; when ``PROMETHEUS_MULTIPROC_DIR`` is set,
``/metrics`` aggregates every worker's samples (prometheus-client's multiprocess mode).
Worker services (processor, crontabber) serve ``/metrics`` from a small HTTP thread.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

__all__ = ["Counter", "Gauge", "Histogram", "LATENCY_BUCKETS", "metrics_payload",
           "start_metrics_server"]

# Seconds: from sub-millisecond disk writes to a two-minute stack walk.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                   30, 60, 120)


def metrics_payload() -> tuple[bytes, str]:
    """The exposition text for this process, or for all workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def start_metrics_server(port: int, host: str = "127.0.0.1") -> None:
    start_http_server(port, addr=host)
