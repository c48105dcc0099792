"""Slow clients (slowloris): every request has deadlines for its head and its whole body, and
the collector keeps serving others while many slow clients are connected.

Each test starts its own collector with short deadlines. The tests stop trickling after a
bounded time and assert what the collector answered by then, never how fast.
"""

from __future__ import annotations

import contextlib
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from crashline.collector.client import build_request

pytestmark = pytest.mark.e2e

DEADLINES = {"CRASHLINE_COLLECTOR_KEEPALIVE": "1", "CRASHLINE_COLLECTOR_HEADER_TIMEOUT": "2",
             "CRASHLINE_COLLECTOR_BODY_TIMEOUT": "2", "CRASHLINE_COLLECTOR_BODY_DEADLINE": "3"}
GIVE_UP = 20.0  # seconds of trickling after which a test stops waiting for an answer


@pytest.fixture
def slow_collector(collector_env, spawn_collector, tmp_path):
    _, url = spawn_collector({**collector_env, **DEADLINES}, tmp_path / "collector.log")
    parts = urlsplit(url)
    return url, (parts.hostname, parts.port)


def trickle_until_answered(sock: socket.socket, first: bytes) -> bytes:
    """Send ``first``, then one byte every 0.3 s until the server answers or closes."""
    sock.sendall(first)
    sock.settimeout(0.3)
    received = b""
    stop = time.monotonic() + GIVE_UP
    while time.monotonic() < stop:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            with contextlib.suppress(OSError):
                sock.send(b"a")
            continue
        except ConnectionResetError:
            return received
        if not chunk:
            return received  # closed by the server
        received += chunk
        head, sep, body = received.partition(b"\r\n\r\n")
        if sep and len(body) >= _content_length(head):
            return received
    raise AssertionError(f"still connected after {GIVE_UP}s of trickling: {received!r}")


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


SLOW_BODY_HEAD = (b"POST /submit HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: multipart/form-data; boundary=B\r\n"
                  b"Content-Length: 100000\r\n\r\n--B\r\n")


def test_a_body_trickled_past_its_deadline_is_refused(slow_collector):
    # Each byte comes well within the 2 s idle timeout; the whole body is due in 3 s.
    _, address = slow_collector
    with socket.create_connection(address) as sock:
        answer = trickle_until_answered(sock, SLOW_BODY_HEAD)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert answer.endswith(b"\r\n\r\nDiscarded=malformed_body_timeout"), answer


def test_a_trickled_request_head_is_cut_off(slow_collector):
    _, address = slow_collector
    with socket.create_connection(address) as sock:
        answer = trickle_until_answered(sock, b"POST /submit HTTP/1.1\r\nX-Slow: ")
    assert answer == b"", answer  # closed without an answer: there was no request yet


def test_normal_clients_are_served_while_many_slow_ones_are_connected(slow_collector):
    url, address = slow_collector
    # far more slow clients than the 2 workers x 4 threads that used to serve requests
    slow = [socket.create_connection(address) for _ in range(64)]
    try:
        for sock in slow:
            sock.sendall(SLOW_BODY_HEAD)
        time.sleep(0.5)
        for sock in slow:
            with contextlib.suppress(OSError):
                sock.send(b"a")
        assert requests.get(f"{url}/__heartbeat__", timeout=10).status_code == 200
        body, headers = build_request({"ProductName": "Firefox", "Version": "1"},
                                      {"upload_file_minidump": b"MDMP"})
        response = requests.post(f"{url}/submit", data=body, headers=headers, timeout=10)
        assert response.text.startswith("CrashID=bp-"), response.text
    finally:
        for sock in slow:
            sock.close()
