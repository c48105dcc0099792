"""The health routes: served on their own (the processor's metrics port), and the heartbeat's
cache."""

from __future__ import annotations

import threading

import falcon
import falcon.testing
import pytest
import requests

from crashline.common import health
from crashline.common.health import add_health_routes, serve_health


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


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def heartbeat_client(cache_seconds: float, checks: dict) -> falcon.testing.TestClient:
    app = falcon.App()
    add_health_routes(app, "crashline-test", checks, heartbeat_cache_seconds=cache_seconds)
    return falcon.testing.TestClient(app)


def test_heartbeat_result_is_reused_for_the_cache_period(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(health.time, "monotonic", clock)
    calls = []
    client = heartbeat_client(5.0, {"db": lambda: calls.append(1)})
    for _ in range(10):
        assert client.simulate_get("/__heartbeat__").json["ok"] is True
    assert len(calls) == 1
    clock.now += 5.1
    client.simulate_get("/__heartbeat__")
    assert len(calls) == 2


def test_concurrent_heartbeats_share_one_round_of_checks(monkeypatch):
    release = threading.Event()
    calls = []

    def slow_check():
        calls.append(1)
        release.wait(5)

    client = heartbeat_client(5.0, {"db": slow_check})
    threads = [threading.Thread(target=client.simulate_get, args=("/__heartbeat__",))
               for _ in range(8)]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join()
    assert len(calls) == 1


def test_without_a_cache_every_call_checks_and_failures_are_named():
    calls = []

    def broken():
        calls.append(1)
        raise ConnectionError("refused")

    client = heartbeat_client(0.0, {"db": broken})
    first = client.simulate_get("/__heartbeat__")
    client.simulate_get("/__heartbeat__")
    assert len(calls) == 2
    assert first.status_code == 503
    assert first.json["errors"] == [{"name": "db", "msg": "ConnectionError: refused"}]
