"""The webapp as it runs in production: ``crashline-webapp`` (gunicorn, two workers) over
HTTP, with rate limits shared by the workers through PostgreSQL."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid

import pytest
import requests

pytestmark = pytest.mark.integration


def free_port(low: int = 18080, high: int = 18099) -> int:
    for port in range(low, high + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"no free port in {low}-{high}")


@pytest.fixture(scope="module")
def webapp_url(web_env, database, crashes, tokens):
    port = free_port()
    env = {**os.environ, **web_env,
           "CRASHLINE_WEBAPP_BIND": f"127.0.0.1:{port}", "CRASHLINE_WEBAPP_WORKERS": "2",
           "CRASHLINE_WEBAPP_RATE_LIMIT_ANONYMOUS": "4",
           "CRASHLINE_WEBAPP_RATE_LIMIT_WINDOW": "3600",
           "CRASHLINE_WEBAPP_TRUST_X_REAL_IP": "true"}
    binary = shutil.which("crashline-webapp", path=os.path.dirname(os.sys.executable))
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url + "/__lbheartbeat__", timeout=1).ok:
                    break
            except requests.RequestException:  # not up yet, or slow to boot
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"crashline-webapp did not start: {process.stderr.read()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


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


def test_health(webapp_url):
    beat = requests.get(webapp_url + "/__heartbeat__", timeout=30)
    assert beat.status_code == 200, beat.text
    assert set(beat.json()["checks"]) == {"database", "search", "storage", "queue"}
    assert requests.get(webapp_url + "/__version__", timeout=30).json()["name"] == \
        "crashline-webapp"
