"""The health and metrics routes of every service: ``/__lbheartbeat__``,
``/__heartbeat__``, ``/__version__`` and ``/metrics``.

Web services mount them on their Falcon app (:func:`add_health_routes`); services without
a web server of their own (the processor) serve the same routes on a small threaded WSGI
server of their own (:func:`serve_health`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from importlib import metadata
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import falcon

from crashline.common.metrics import metrics_payload

log = logging.getLogger(__name__)

Checks = Mapping[str, Callable[[], object]]


class LBHeartbeat:
    """The process is up: load balancers poll this, so it checks nothing else. ``status``
    adds what the process is doing (the processor's crashes in hand)."""

    def __init__(self, status: Callable[[], dict] | None = None):
        self.status = status

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"ok": True, **(self.status() if self.status else {})}

    on_head = on_get


class Heartbeat:
    """Each backend answers: 200 when all do, 503 naming the ones that do not.

    With ``cache_seconds``, one result serves every call for that long, and concurrent calls
    wait for the one check in progress: however often monitors (or anyone else) poll, the
    backends see at most one round of checks per period per process.
    """

    def __init__(self, checks: Checks, cache_seconds: float = 0.0):
        self.checks = dict(checks)
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._result: tuple[bool, dict] | None = None
        self._checked_at = 0.0

    def run_checks(self) -> tuple[bool, dict]:
        results: dict[str, dict] = {}
        for name, check in self.checks.items():
            try:
                detail = check()
                results[name] = {"ok": True, **({"detail": detail} if detail else {})}
            except Exception as exc:  # a health check reports every failure, whatever it is
                results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        healthy = all(r["ok"] for r in results.values())
        # "errors" is the reference collector's shape, which its clients' monitors read.
        errors = [{"name": n, "msg": r["error"]} for n, r in results.items() if not r["ok"]]
        return healthy, {"ok": healthy, "checks": results, "errors": errors}

    def result(self) -> tuple[bool, dict]:
        with self._lock:
            fresh = time.monotonic() - self._checked_at < self.cache_seconds
            if self._result is None or not fresh:
                self._result = self.run_checks()
                self._checked_at = time.monotonic()
            return self._result

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        healthy, body = self.result()
        resp.status = falcon.HTTP_200 if healthy else falcon.HTTP_503
        resp.media = body


def version_info(distribution: str) -> dict:
    info = {"name": distribution, "version": "unknown",
            "commit": os.environ.get("CRASHLINE_GIT_SHA", "unknown")}
    with contextlib.suppress(metadata.PackageNotFoundError):
        info["version"] = metadata.version(distribution)
    version_file = os.environ.get("CRASHLINE_VERSION_FILE")
    if version_file and os.path.exists(version_file):
        with open(version_file, encoding="utf-8") as f:
            info.update(json.load(f))
    return info


class Version:
    def __init__(self, distribution: str):
        self.info = version_info(distribution)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.info


class Metrics:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        payload, content_type = metrics_payload()
        resp.data = payload
        resp.content_type = content_type


def add_health_routes(app: falcon.App, distribution: str, checks: Checks,
                      status: Callable[[], dict] | None = None,
                      heartbeat_cache_seconds: float = 0.0) -> None:
    app.add_route("/__lbheartbeat__", LBHeartbeat(status))
    app.add_route("/__heartbeat__", Heartbeat(checks, heartbeat_cache_seconds))
    app.add_route("/__version__", Version(distribution))
    app.add_route("/metrics", Metrics())


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow check must not keep the process from exiting


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base's name)
        log.debug("health http: " + format, *args)


def serve_health(host: str, port: int, distribution: str, checks: Checks,
                 status: Callable[[], dict] | None = None) -> WSGIServer:
    """Serve the health routes on ``host:port`` (0: a free port, see ``server_port``) from
    a daemon thread, for a service that has no web server of its own."""
    app = falcon.App()
    add_health_routes(app, distribution, checks, status)
    server = make_server(host, port, app, server_class=_ThreadingWSGIServer,
                         handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="health-http", daemon=True).start()
    log.info("serving health and metrics on http://%s:%d/", host, server.server_port)
    return server
