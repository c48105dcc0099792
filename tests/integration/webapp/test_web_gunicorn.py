"""The webapp as it runs in production: ``crashline-webapp`` (gunicorn, two workers) over
HTTP, with rate limits shared by the workers through PostgreSQL."""

from __future__ import annotations

import http.client
import json
import socket
import uuid

import pytest
import requests
from web_integration import running_webapp

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def webapp_url(web_env, database, crashes, tokens):
    with running_webapp({**web_env, "CRASHLINE_WEBAPP_WORKERS": "2",
                         "CRASHLINE_WEBAPP_RATE_LIMIT_ANONYMOUS": "4",
                         "CRASHLINE_WEBAPP_RATE_LIMIT_WINDOW": "3600",
                         "CRASHLINE_WEBAPP_TRUST_X_REAL_IP": "true"}) as url:
        yield url


def test_search_over_http(webapp_url, crashes, tokens):
    ip = {"X-Real-IP": f"192.0.2.{uuid.uuid4().int % 250}"}
    response = requests.get(webapp_url + "/api/SuperSearch/", timeout=30,
                            params={"_columns": ["uuid", "user_comments"],
                                    "user_comments": "~crashed"},
                            headers={**ip, "Auth-Token": tokens["pii"]})
    assert response.status_code == 200, response.text
    assert response.json()["hits"] == [{"uuid": crashes["oom1"],
                                        "user_comments": "it crashed again"}]
    bad = requests.get(webapp_url + "/api/SuperSearch/", params={"_results_number": "x"},
                       headers=ip, timeout=30)
    assert bad.status_code == 400 and "_results_number" in bad.json()["errors"]


def test_rate_limit_is_shared_by_the_workers(webapp_url):
    ip = {"X-Real-IP": f"198.51.100.{uuid.uuid4().int % 250}"}
    # A new connection per request, so both workers serve some of them.
    codes = [requests.get(webapp_url + "/api/SuperSearchFields/", headers=ip,
                          timeout=30).status_code for _ in range(10)]
    assert codes == [200] * 4 + [429] * 6
    limited = requests.get(webapp_url + "/api/SuperSearchFields/", headers=ip, timeout=30)
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.json()["error"].startswith("Too many requests")


def _chunks(data: bytes, size: int = 65536):
    for start in range(0, len(data), size):
        yield data[start:start + size]


def test_chunked_bodies_are_read_and_bounded(webapp_url, tokens):
    # requests sends a generator as Transfer-Encoding: chunked, with no Content-Length.
    ip = {"X-Real-IP": f"203.0.113.{uuid.uuid4().int % 250}", "Auth-Token": tokens["full"]}
    form = requests.post(webapp_url + "/api/Bugs/", data=_chunks(b"signatures=OOM+%7C+small"),
                         headers={**ip, "Content-Type": "application/x-www-form-urlencoded"},
                         timeout=30)
    assert form.status_code == 200, form.text
    assert form.json() == {"hits": [], "total": 0}
    job = b'{"jobs": [{"os": "Linux", "crashing_thread": 0, "threads": [{"frames": ' \
          b'[{"function": "crash_here"}]}]}]}'
    ok = requests.post(webapp_url + "/api/CrashSignature/", data=_chunks(job, 7),
                       headers={**ip, "Content-Type": "application/json"}, timeout=30)
    assert ok.status_code == 200, ok.text
    assert ok.json()["results"][0]["signature"] == "crash_here"
    huge = b'{"jobs": [{"os": "' + b"x" * (21 * 1024 * 1024) + b'"}]}'
    refused = requests.post(webapp_url + "/api/CrashSignature/", data=_chunks(huge),
                            headers={**ip, "Content-Type": "application/json"}, timeout=60)
    assert refused.status_code == 413
    assert refused.json() == {"error": f"Request body larger than {20 * 1024 * 1024} bytes"}


def test_health(webapp_url):
    beat = requests.get(webapp_url + "/__heartbeat__", timeout=30)
    assert beat.status_code == 200, beat.text
    assert set(beat.json()["checks"]) == {"database", "search", "storage", "queue"}
    assert requests.get(webapp_url + "/__version__", timeout=30).json()["name"] == \
        "crashline-webapp"


def _route_count(metrics: str, route: str, status: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if (line.startswith("crashline_webapp_requests_total{") and f'route="{route}"' in line
                and f'status="{status}"' in line):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_count_the_requests_of_every_worker(webapp_url):
    before = requests.get(webapp_url + "/metrics", timeout=30).text
    ip = {"X-Real-IP": f"198.51.100.{uuid.uuid4().int % 250}"}
    # A new connection per request, so both workers serve some of them.
    for _ in range(3):
        assert requests.get(webapp_url + "/api/Products/", headers=ip, timeout=30).ok
    after = requests.get(webapp_url + "/metrics", timeout=30).text
    assert (_route_count(after, "/api/Products", "200")
            - _route_count(before, "/api/Products", "200")) == 3
    assert "crashline_webapp_request_seconds_bucket" in after


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET /api/SuperSearch/?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"NOT HTTP AT ALL\r\n\r\n", 400),
    (b"GET /api/SuperSearch/ HTTP/1.1\r\nBad Header\r\n\r\n", 400),
    # found by the full-size API fuzz: gunicorn's own answer was a 501
    (b"POST /api/UploadSymbols/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: 0\r\n\r\n", 400),
])
def test_server_level_errors_are_json(webapp_url, request_bytes, status):
    """gunicorn's own answers, before the app sees the request, are JSON too."""
    host, port = webapp_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request_bytes)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
    assert response.status == status
    assert response.getheader("Content-Type") == "application/json"
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert json.loads(body)["title"].startswith(str(status))
