"""gunicorn's own error answers, in JSON."""

from __future__ import annotations

import http.client
import json
import socket

from gunicorn import util

from crashline.common import gunicorn_errors


def answer(status_int: int, reason: str, mesg: str) -> tuple[http.client.HTTPResponse, dict]:
    """What a client reads of the answer gunicorn's writer sends."""
    server, client = socket.socketpair()
    with server, client:
        gunicorn_errors.write_json_error(server, status_int, reason, mesg)
        server.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(client)
        response.begin()
        return response, json.loads(response.read())


def test_error_answer_is_json():
    response, body = answer(414, "URI Too Long",
                            "Request Line is too large (9000 > 4094) <script>")
    assert response.status == 414
    assert response.getheader("Content-Type") == "application/json"
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert body == {"title": "414 URI Too Long",
                    "description": "Request Line is too large (9000 > 4094) <script>"}


def test_the_reason_is_the_status_codes_own():
    # gunicorn gives its 500s the reason "Bad Request" too
    response, body = answer(500, "Bad Request", "boom")
    assert (response.status, response.reason) == (500, "Internal Server Error")
    assert body["title"] == "500 Internal Server Error"


def test_an_unknown_transfer_coding_is_the_clients_error():
    # gunicorn answers it 501 (with the reason "Bad Request"); a 5xx would count as ours
    response, body = answer(501, "Bad Request", "Unsupported transfer coding: '0'")
    assert (response.status, response.reason) == (400, "Bad Request")
    assert body == {"title": "400 Bad Request",
                    "description": "Unsupported transfer coding: '0'; requests may use only "
                                   "Transfer-Encoding: chunked"}


def test_install_replaces_gunicorns_html_writer(monkeypatch):
    monkeypatch.setattr(util, "write_error", util.write_error)  # restored after the test
    gunicorn_errors.install()
    assert util.write_error is gunicorn_errors.write_json_error
