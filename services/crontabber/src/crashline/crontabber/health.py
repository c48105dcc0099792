"""The crontabber's HTTP server: ``/__lbheartbeat__``, ``/__heartbeat__`` (PostgreSQL answers
and no job is broken or stale), ``/__version__`` and ``/metrics``, the common health
resources served by a small threaded WSGI server."""

from __future__ import annotations

import logging
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import falcon

from crashline.common.health import add_health_routes
from crashline.crontabber.runner import Runner

log = logging.getLogger(__name__)

DISTRIBUTION = "crashline-crontabber"


class JobsUnhealthy(Exception):
    pass


def jobs_check(runner: Runner):
    def check() -> dict:
        problems = runner.problems()
        if problems:
            raise JobsUnhealthy("; ".join(f"{name} {why}" for name, why in problems.items()))
        return {"jobs": len(runner.jobs)}

    return check


def create_app(runner: Runner) -> falcon.App:
    app = falcon.App()
    add_health_routes(app, DISTRIBUTION, {"database": runner.state.db.check,
                                          "jobs": jobs_check(runner)})
    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002
        log.debug("http: " + format, *args)


def serve(app: falcon.App, host: str, port: int) -> WSGIServer:
    """Serve ``app`` from a daemon thread; the server (``server_port``: where)."""
    server = make_server(host, port, app, server_class=_Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="health-http", daemon=True).start()
    log.info("serving health and metrics on http://%s:%d/", host, server.server_port)
    return server
