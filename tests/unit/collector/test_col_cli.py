"""``crashline submit`` against a small local HTTP server that records what it receives."""

from __future__ import annotations

import gzip
import http.server
import io
import json
import threading

import pytest

from crashline.collector.cli import main
from crashline.collector.extract import extract_payload
from crashline.collector.limits import Limits

CRASH_ID = "de1bb258-cbbf-4589-a673-34f800160918"


class Recorder(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict, bytes]] = []
    answer = (200, f"CrashID=bp-{CRASH_ID}\n")

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.received.append((dict(self.headers), body))
        status, text = Recorder.answer
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(text.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Recorder.received = []
    Recorder.answer = (200, f"CrashID=bp-{CRASH_ID}\n")
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/submit"
    httpd.shutdown()
    httpd.server_close()


def parsed(headers: dict, body: bytes):
    return extract_payload(io.BytesIO(body).read, content_type=headers["Content-Type"],
                           content_encoding=headers.get("Content-Encoding"),
                           content_length=len(body), chunked=False, limits=Limits())


def test_submit_posts_dumps_and_annotations_and_prints_the_id(server, tmp_path, capsys):
    (tmp_path / "a.dmp").write_bytes(b"MDMP-main")
    (tmp_path / "mem.json.gz").write_bytes(b"memory")
    (tmp_path / "extra.json").write_text(json.dumps({"ProductName": "Firefox", "Version": "2"}))
    code = main(["--url", server, "--dump", str(tmp_path / "a.dmp"),
                 "--dump", f"memory_report={tmp_path / 'mem.json.gz'}",
                 "--annotations-json", str(tmp_path / "extra.json"), "-a", "Version=3",
                 "--gzip"])
    assert code == 0
    assert capsys.readouterr().out == f"{CRASH_ID}\n"
    [(headers, body)] = Recorder.received
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"].startswith("multipart/form-data; boundary=")
    gzip.decompress(body)
    payload = parsed(headers, body)
    assert payload.annotations == {"ProductName": "Firefox", "Version": "3"}
    assert payload.dumps["upload_file_minidump"].data() == b"MDMP-main"
    assert payload.dumps["memory_report"].data() == b"memory"


def test_submit_json_extra_mixed_and_token(server, capsys):
    assert main(["--url", server, "-a", "ProductName=Firefox", "--json-extra", "--mixed",
                 "--token", "t0ken"]) == 0
    [(headers, body)] = Recorder.received
    assert headers["Content-Type"].startswith("multipart/mixed; boundary=")
    assert headers["Authorization"] == "Bearer t0ken"
    payload = parsed(headers, body)
    assert payload.payload_type == "json" and payload.annotations == {"ProductName": "Firefox"}


def test_submit_reports_a_refusal(server, capsys):
    Recorder.answer = (400, "Discarded=malformed_no_annotations")
    assert main(["--url", server]) == 1
    assert "HTTP 400: Discarded=malformed_no_annotations" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["-a", "novalue"], "is not KEY=VALUE"),
    (["--dump", "/nonexistent/file.dmp"], "cannot read dump"),
    (["--annotations-json", "/nonexistent.json"], "cannot read"),
])
def test_submit_bad_arguments(server, capsys, args, message):
    assert main(["--url", server, *args]) == 2
    assert message in capsys.readouterr().err


def test_submit_unreachable_collector(capsys):
    assert main(["--url", "http://127.0.0.1:1/submit", "-a", "A=1"]) == 1
    assert "cannot post" in capsys.readouterr().err
