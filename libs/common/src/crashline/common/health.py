"""Falcon resources every web service mounts: ``/__lbheartbeat__``, ``/__heartbeat__``,
``/__version__`` and ``/metrics``."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping
from importlib import metadata

import falcon

from crashline.common.metrics import metrics_payload


class LBHeartbeat:
    """The process is up: load balancers poll this, so it checks nothing else."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"ok": True}

    on_head = on_get


class Heartbeat:
    """Each backend answers: 200 when all do, 503 naming the ones that do not."""

    def __init__(self, checks: Mapping[str, Callable[[], object]]):
        self.checks = dict(checks)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        results: dict[str, dict] = {}
        for name, check in self.checks.items():
            try:
                detail = check()
                results[name] = {"ok": True, **({"detail": detail} if detail else {})}
            except Exception as exc:  # a health check reports every failure, whatever it is
                results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        healthy = all(r["ok"] for r in results.values())
        resp.status = falcon.HTTP_200 if healthy else falcon.HTTP_503
        # "errors" is the reference collector's shape, which its clients' monitors read.
        errors = [{"name": n, "msg": r["error"]} for n, r in results.items() if not r["ok"]]
        resp.media = {"ok": healthy, "checks": results, "errors": errors}


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


def add_health_routes(app: falcon.App, distribution: str,
                      checks: Mapping[str, Callable[[], object]]) -> None:
    app.add_route("/__lbheartbeat__", LBHeartbeat())
    app.add_route("/__heartbeat__", Heartbeat(checks))
    app.add_route("/__version__", Version(distribution))
    app.add_route("/metrics", Metrics())
