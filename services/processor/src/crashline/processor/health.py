"""A tiny HTTP server for the worker: ``/__lbheartbeat__``, ``/__heartbeat__``,
``/__version__`` and ``/metrics`` (the processor has no web framework of its own)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from crashline.common.health import version_info
from crashline.common.metrics import metrics_payload

log = logging.getLogger(__name__)

DISTRIBUTION = "crashline-processor"


def run_checks(checks: Mapping[str, Callable[[], object]]) -> tuple[bool, dict]:
    results: dict[str, dict] = {}
    for name, check in checks.items():
        try:
            detail = check()
            results[name] = {"ok": True, **({"detail": detail} if detail else {})}
        except Exception as exc:  # a health check reports every failure, whatever it is
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return all(r["ok"] for r in results.values()), results


def make_handler(checks: Mapping[str, Callable[[], object]],
                 status: Callable[[], dict] | None = None):
    version = version_info(DISTRIBUTION)

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, code: int, document: dict) -> None:
            self._send(code, json.dumps(document).encode(), "application/json")

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = self.path.split("?", 1)[0]
            if path == "/__lbheartbeat__":
                self._json(200, {"ok": True, **(status() if status else {})})
            elif path == "/__heartbeat__":
                healthy, results = run_checks(checks)
                self._json(200 if healthy else 503, {"ok": healthy, "checks": results})
            elif path == "/__version__":
                self._json(200, version)
            elif path == "/metrics":
                payload, content_type = metrics_payload()
                self._send(200, payload, content_type)
            else:
                self._json(404, {"error": f"no such page: {path}"})

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            log.debug("http: " + format, *args)

    return Handler


def start_health_server(host: str, port: int, checks: Mapping[str, Callable[[], object]],
                        status: Callable[[], dict] | None = None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(checks, status))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health-http", daemon=True).start()
    log.info("serving health and metrics on http://%s:%d/", host, server.server_address[1])
    return server
