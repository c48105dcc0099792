"""A small HTTP server speaking the part of Bugzilla's REST API that the bug-associations job
reads (``GET /rest/bug`` with ``chfieldfrom``, ``include_fields``, ``limit`` and ``offset``),
over bugs the test edits."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeBugzilla:
    def __init__(self):
        self.bugs: dict[int, dict] = {}
        self.status = 200  # what /rest/bug answers (500: the tracker is down)
        self.requests: list[dict[str, list[str]]] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/rest"

    def set_bug(self, bug_id: int, crash_signature: str, changed: dt.datetime) -> None:
        """Create or edit a bug; ``changed`` is when Bugzilla saw the change."""
        with self._lock:
            self.bugs[bug_id] = {"id": bug_id, "cf_crash_signature": crash_signature,
                                 "summary": f"bug {bug_id}", "last_change_time": changed}

    def _search(self, query: dict[str, list[str]]) -> dict:
        since = dt.datetime.fromisoformat(query["chfieldfrom"][0].replace("Z", "+00:00"))
        assert set(query["chfield"]) == {"[Bug creation]", "cf_crash_signature"}, query
        fields = query.get("include_fields", ["id,cf_crash_signature"])[0].split(",")
        limit = int(query.get("limit", ["0"])[0]) or None
        offset = int(query.get("offset", ["0"])[0])
        with self._lock:
            found = [bug for _, bug in sorted(self.bugs.items())
                     if bug["last_change_time"] >= since]
        page = found[offset:offset + limit] if limit else found[offset:]
        return {"bugs": [{name: bug[name] for name in fields if name in bug} for bug in page]}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                fake.requests.append(query)
                if parts.path != "/rest/bug":
                    self._answer(404, {"error": True, "message": "no such path"})
                elif fake.status != 200:
                    self._answer(fake.status, {"error": True, "message": "down"})
                else:
                    self._answer(200, fake._search(query))

            def _answer(self, status: int, document: dict) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):  # noqa: A002
                pass

        return Handler

    def __enter__(self) -> FakeBugzilla:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
