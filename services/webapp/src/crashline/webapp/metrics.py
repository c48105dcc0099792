"""The webapp's Prometheus metrics: requests and their latency per route (aggregated over
gunicorn workers in multiprocess mode, see ``main.py``)."""

from __future__ import annotations

import time

import falcon

from crashline.common.metrics import LATENCY_BUCKETS, Counter, Histogram

REQUESTS = Counter("crashline_webapp_requests_total", "Requests by route, method and status",
                   ["route", "method", "status"])
REQUEST_SECONDS = Histogram("crashline_webapp_request_seconds", "Time to answer, by route",
                            ["route"], buckets=LATENCY_BUCKETS)


class MetricsMiddleware:
    """Counts every request under its route template (bounded label values: an unknown path
    counts as ``unrouted``)."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.metrics_start = time.perf_counter()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource,
                         req_succeeded: bool) -> None:
        route = req.uri_template or "unrouted"
        status = str(resp.status_code if hasattr(resp, "status_code") else resp.status)[:3]
        REQUESTS.labels(route, req.method, status).inc()
        start = getattr(req.context, "metrics_start", None)
        if start is not None:
            REQUEST_SECONDS.labels(route).observe(time.perf_counter() - start)
