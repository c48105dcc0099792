"""gunicorn's own error answers, in JSON."""

from __future__ import annotations

import http.client
import json
import socket

from gunicorn import util

from crashline.common import gunicorn_errors


def test_error_answer_is_json():
    server, client = socket.socketpair()
    with server, client:
        gunicorn_errors.write_json_error(server, 414, "URI Too Long",
                                         "Request Line is too large (9000 > 4094) <script>")
        server.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(client)
        response.begin()
        assert response.status == 414
        assert response.getheader("Content-Type") == "application/json"
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        assert json.loads(response.read()) == {
            "title": "414 URI Too Long",
            "description": "Request Line is too large (9000 > 4094) <script>"}


def test_install_replaces_gunicorns_html_writer(monkeypatch):
    monkeypatch.setattr(util, "write_error", util.write_error)  # restored after the test
    gunicorn_errors.install()
    assert util.write_error is gunicorn_errors.write_json_error
