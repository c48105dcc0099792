"""JSON instead of gunicorn's HTML error pages, for both gunicorn apps.

gunicorn answers the requests it cannot parse itself, before any app sees them: 400 for a
malformed request line or header, 414 for a request line over ``limit_request_line``, 431 for
too many or too large headers, 501 for an unknown transfer coding. Its workers write those
answers through ``gunicorn.util.write_error``, as small HTML pages. :func:`install`, called in
each worker (``post_fork``), replaces that one function, so every worker class and every
such error answers JSON in the shape of Falcon's errors (``title``, ``description``).

An unknown transfer coding is answered 400, not the 501 RFC 9112 suggests: it is the
client's error, and a 5xx says "ours" to the dashboards and alerts that count them (a fuzzer
sending ``Transfer-Encoding: 0`` would page someone).
"""

from __future__ import annotations

import contextlib
import http
import json

from gunicorn import util


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    if status_int == http.HTTPStatus.NOT_IMPLEMENTED:  # only for a transfer coding it lacks
        status_int, reason = 400, "Bad Request"
        mesg = f"{mesg}; requests may use only Transfer-Encoding: chunked"
    if status_int != 400 and reason == "Bad Request":  # gunicorn's reason for 500 too
        with contextlib.suppress(ValueError):
            reason = http.HTTPStatus(status_int).phrase
    body = json.dumps({"title": f"{status_int} {reason}", "description": mesg}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\n"
            "Connection: close\r\n"
            "Content-Type: application/json\r\n"
            "X-Content-Type-Options: nosniff\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    util.write_nonblock(sock, head + body)


def install() -> None:
    """Make this process's gunicorn workers answer their own errors in JSON."""
    util.write_error = write_json_error
