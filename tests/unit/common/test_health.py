"""The health routes served on their own (the processor's metrics port)."""

from __future__ import annotations

import pytest
import requests

from crashline.common.health import serve_health


def broken():
    raise ConnectionError("no route to the database")


@pytest.fixture
def server():
    server = serve_health("127.0.0.1", 0, "crashline-common",
                          {"storage": lambda: None, "database": broken},
                          lambda: {"in_flight": 3})
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_every_route(server):
    lb = requests.get(f"{server}/__lbheartbeat__", timeout=5)
    assert (lb.status_code, lb.json()) == (200, {"ok": True, "in_flight": 3})
    heartbeat = requests.get(f"{server}/__heartbeat__", timeout=5)
    assert heartbeat.status_code == 503
    body = heartbeat.json()
    assert body["checks"]["storage"] == {"ok": True}
    assert body["errors"] == [{"name": "database",
                               "msg": "ConnectionError: no route to the database"}]
    assert requests.get(f"{server}/__version__", timeout=5).json()["name"] == "crashline-common"
    metrics = requests.get(f"{server}/metrics", timeout=5)
    assert metrics.headers["content-type"].startswith("text/plain")
    assert requests.get(f"{server}/nope", timeout=5).status_code == 404
