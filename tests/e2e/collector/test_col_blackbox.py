"""The collector over HTTP: the reference collector's compatibility checklist, Content-Length
handling, size limits, gzip bombs and the health endpoints."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import http.client
import json
import os
import re
import socket
import time
import uuid
import zlib

import pytest
import requests

from crashline.collector.client import build_request, encode_multipart, submit

pytestmark = pytest.mark.e2e

# As configured by conftest.collector_env for the collectors this suite starts.
STAGE_TOKEN = "e2e-stage-token"
BODY_TIMEOUT = 2.0

MiB = 1024 * 1024
ANNOTATIONS = {"ProductName": "Firefox", "Version": "1"}
DUMP = b"abcd1234"
CRASH_ID_BODY = re.compile(r"^CrashID=bp-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                           r"[0-9a-f]{6}[0-9]{6})\n$")


# -- helpers -------------------------------------------------------------------------------
class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"<{self.status} {self.body[:200]!r}>"


def raw_request(collector, head_lines: list[str], body: bytes = b"", *,
                timeout: float = 30.0) -> Answer:
    """Send exactly these header lines and body; read one response."""
    with socket.create_connection((collector.host, collector.port), timeout=timeout) as sock:
        head = "\r\n".join(["POST /submit HTTP/1.1", f"Host: {collector.host}",
                            *head_lines]) + "\r\n\r\n"
        sock.sendall(head.encode("latin-1"))
        if body:
            # The answer may already be there (a refusal before the whole body is read).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                      response.read())


def post(collector, body: bytes, headers: dict[str, str | None]) -> Answer:
    """POST with these headers (None drops one); Content-Length is added unless given."""
    headers = dict(headers)
    headers.setdefault("Content-Length", str(len(body)))
    lines = [f"{k}: {v}" for k, v in headers.items() if v is not None]
    return raw_request(collector, lines, body)


def post_crash(collector, annotations=None, dumps=None, **kwargs) -> Answer:
    body, headers = build_request(ANNOTATIONS if annotations is None else annotations,
                                  {"upload_file_minidump": DUMP} if dumps is None else dumps,
                                  **kwargs)
    return post(collector, body, headers)


def crash_id_of(answer: Answer) -> str:
    assert answer.status == 200, answer
    match = CRASH_ID_BODY.match(answer.text)
    assert match, answer
    return match.group(1)


def discarded(answer: Answer, status: int, reason: str) -> None:
    assert (answer.status, answer.text) == (status, f"Discarded={reason}")


def form_body(*parts: bytes, boundary: str = "BOUND") -> bytes:
    out = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return out + b"--" + boundary.encode() + b"--\r\n"


def text_part(name: str, value: bytes, content_type="text/plain; charset=utf-8") -> bytes:
    return (f'Content-Disposition: form-data; name="{name}"\r\nContent-Type: '
            f"{content_type}\r\n\r\n").encode() + value


def file_part(name: str, value: bytes, content_type="application/octet-stream") -> bytes:
    return (f'Content-Disposition: form-data; name="{name}"; filename="{name}.dmp"\r\n'
            f"Content-Type: {content_type}\r\n\r\n").encode() + value


FORM = {"Content-Type": "multipart/form-data; boundary=BOUND"}


def stored(collector, crash_id: str) -> dict:
    return collector.storage.get_raw_crash(crash_id)


def wait_for_queued(queue, crash_id: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = queue.get(queue.names.standard)
        if message is None:
            time.sleep(0.1)
            continue
        queue.ack(message)
        if message.body == crash_id:
            return True
    return False


# -- checklist 1-4, 20-23: accepted crashes ------------------------------------------------
def test_valid_crash_is_accepted(collector):
    before = dt.datetime.now(dt.UTC).date()
    answer = post_crash(collector)
    after = dt.datetime.now(dt.UTC).date()
    crash_id = crash_id_of(answer)
    assert answer.headers["content-type"].startswith("text/plain")
    assert crash_id[-7] == "0"
    assert crash_id[-6:] in (f"{before:%y%m%d}", f"{after:%y%m%d}")


def test_accepted_crash_is_stored_and_queued(collector, queue):
    answer = post_crash(collector, {**ANNOTATIONS, "Email": "someone@example.com"},
                        {"upload_file_minidump": DUMP, "memory_report": b"{}"},
                        compress=True)
    crash_id = crash_id_of(answer)
    store = collector.storage.store
    assert store.exists(f"v1/raw_crash/20{crash_id[-6:]}/{crash_id}")
    assert json.loads(store.get(f"v1/dump_names/{crash_id}")) == ["memory_report",
                                                                  "upload_file_minidump"]
    assert store.get(f"v1/dump/{crash_id}") == DUMP
    assert store.get(f"v1/memory_report/{crash_id}") == b"{}"
    raw = stored(collector, crash_id)
    assert raw["uuid"] == crash_id and raw["version"] == 2 and "Email" not in raw
    dt.datetime.fromisoformat(raw["submitted_timestamp"])
    meta = raw["metadata"]
    assert meta["payload"] == "multipart" and meta["payload_compressed"] == "1"
    assert isinstance(meta["payload_size"], int)
    assert meta["dump_checksums"]["upload_file_minidump"] == hashlib.sha256(DUMP).hexdigest()
    assert "Removed Email from raw crash." in meta["collector_notes"]
    assert meta["user_agent"] == "crashline-submit/1"
    assert meta["throttle_rule"] == "accept_everything"
    assert wait_for_queued(queue, crash_id)


def test_multipart_mixed_is_accepted(collector):
    crash_id_of(post_crash(collector, mixed=True))


def test_crashline_submit_client(collector):
    result = submit(collector.submit_url, ANNOTATIONS, {"upload_file_minidump": DUMP},
                    compress=True)
    assert result.status == 200 and result.crash_id


# -- checklist 5-9, 11-14: malformed requests -----------------------------------------------
@pytest.mark.parametrize("content_type, reason", [
    (None, "malformed_no_content_type"),
    ("application/json", "malformed_wrong_content_type"),
    ("multipart/form-data", "malformed_no_boundary"),
])
def test_content_type_refusals(collector, content_type, reason):
    body, _ = encode_multipart(ANNOTATIONS, {}, boundary="BOUND")
    discarded(post(collector, body, {"Content-Type": content_type}), 400, reason)


def test_zero_content_length(collector):
    discarded(post(collector, b"", FORM), 400, "malformed_no_content_length")


@pytest.mark.parametrize("body, headers", [
    (form_body(text_part("a", b"1")), {"Content-Type": "multipart/form-data; boundary=foo"}),
    (b"foobarbaz", FORM),
    (gzip.compress(form_body(text_part("a", b"1"))), FORM),  # gzip without the header
    (form_body(text_part("a", b"1"))[:-12] + b"garbage\r\n", FORM),  # no closing boundary
], ids=["boundary-mismatch", "junk", "gzip-without-header", "unterminated"])
def test_invalid_payload_structure(collector, body, headers):
    discarded(post(collector, body, headers), 400, "malformed_invalid_payload_structure")


def test_gzip_header_with_plain_body(collector):
    discarded(post(collector, form_body(text_part("a", b"1")),
                   {**FORM, "Content-Encoding": "gzip"}), 400, "malformed_bad_gzip")


@pytest.mark.parametrize("value, reason", [(b"{nope", "malformed_invalid_json"),
                                           (b"[1, 2]", "malformed_invalid_json_value")])
def test_bad_json_annotations(collector, value, reason):
    body = form_body(text_part("extra", value, "application/json"))
    discarded(post(collector, body, FORM), 400, reason)


def test_dumps_without_annotations(collector):
    discarded(post(collector, form_body(file_part("upload_file_minidump", DUMP)), FORM), 400,
              "malformed_no_annotations")


@pytest.mark.parametrize("name", ["raw_crash", "dump_names", "processed_crash"])
def test_reserved_dump_names(collector, name):
    body = form_body(text_part("ProductName", b"Firefox"), file_part(name, DUMP))
    discarded(post(collector, body, FORM), 400, "malformed_invalid_dump_name")


# -- checklist 10, 15-19: what is kept -------------------------------------------------------
def test_gzip_body_is_accepted(collector):
    crash_id = crash_id_of(post_crash(collector, compress=True))
    if collector.own:
        assert stored(collector, crash_id)["metadata"]["payload_compressed"] == "1"


def test_json_extra_and_form_fields(collector):
    body = form_body(text_part("extra", json.dumps({"ProductName": "Firefox", "A": "json"})
                               .encode(), "application/json"),
                     text_part("B", b"form"))
    crash_id = crash_id_of(post(collector, body, FORM))
    if collector.own:
        raw = stored(collector, crash_id)
        assert (raw["A"], raw["B"], raw["metadata"]["payload"]) == ("json", "form", "json")
        assert "includes annotations in both json-encoded extra and formdata parts" in \
            raw["metadata"]["collector_notes"]


def test_undecodable_annotation_is_dropped_with_a_note(collector):
    body = form_body(text_part("ProductName", b"Firefox"), text_part("Bad", b"\xff\xfe\xfd"))
    crash_id = crash_id_of(post(collector, body, FORM))
    if collector.own:
        raw = stored(collector, crash_id)
        assert "Bad" not in raw
        assert "extract payload text part exception: invalid text or charset: utf-8" in \
            raw["metadata"]["collector_notes"]


def test_dump_names_are_sanitized_and_odd_types_noted(collector):
    body = form_body(text_part("ProductName", b"Firefox"),
                     file_part("upload_file_minidump", DUMP),
                     file_part("memory-report/../x", b"mem", "application/gzip"))
    crash_id = crash_id_of(post(collector, body, FORM))
    collector.need_own("stored dump names")
    assert collector.storage.get_dump_names(crash_id) == ["memoryreportx",
                                                          "upload_file_minidump"]
    assert collector.storage.get_dump(crash_id, "memoryreportx") == b"mem"
    assert "unknown content type: memoryreportx application/gzip" in \
        stored(collector, crash_id)["metadata"]["collector_notes"]


def test_banned_annotations_never_reach_storage(collector):
    banned = {"Email": "e-mail-value", "TelemetryClientId": "client-id-value",
              "TelemetryServerURL": "server-url-value", "TelemetrySessionId": "session-value"}
    crash_id = crash_id_of(post_crash(collector, {**ANNOTATIONS, **banned}, use_json=True))
    collector.need_own("stored annotations")
    raw_bytes = collector.storage.store.get(f"v1/raw_crash/20{crash_id[-6:]}/{crash_id}")
    raw = json.loads(raw_bytes)
    for name, value in banned.items():
        assert name not in raw and value.encode() not in raw_bytes


# -- checklist 26-31: the reference rule set -------------------------------------------------
@pytest.mark.parametrize("annotations, reason", [
    ({"ProductName": "Netscape"}, "rule_unsupported_product"),
    ({"ProductName": "Firefox", "BuildID": "20100101000000"}, "rule_has_old_buildid"),
    ({"ProductName": "Firefox", "HangID": "x"}, "rule_has_hangid_and_browser"),
    ({"ProductName": "Firefox", "HangID": "x", "ProcessType": "browser"},
     "rule_has_hangid_and_browser"),
])
def test_reference_rules_reject(reference_collector, annotations, reason):
    before = set(reference_collector.storage.store.list_keys("v1/"))
    discarded(post_crash(reference_collector, annotations), 200, reason)
    assert set(reference_collector.storage.store.list_keys("v1/")) == before


@pytest.mark.parametrize("extra", [{"Throttleable": "0"}, {"Comments": "it crashed"},
                                   {"PHCKind": "x"}, {"ProcessType": "gpu"},
                                   {"ReleaseChannel": "aurora"}, {"ReleaseChannel": "beta"},
                                   {"ReleaseChannel": "esr"}, {"ReleaseChannel": "nightly-x"}])
def test_reference_rules_accept(reference_collector, extra):
    crash_id = crash_id_of(post_crash(reference_collector, {"ProductName": "Firefox",
                                                            "ReleaseChannel": "release",
                                                            **extra}))
    assert reference_collector.storage.has_raw_crash(crash_id)


def test_reference_rules_sample_firefox_release(reference_collector):
    answers = [post_crash(reference_collector, {"ProductName": "Firefox",
                                                "ReleaseChannel": "release"}).text
               for _ in range(200)]
    accepted = sum(a.startswith("CrashID=bp-") for a in answers)
    assert set(answers) - {a for a in answers if a.startswith("CrashID=bp-")} == \
        {"Discarded=rule_is_firefox_desktop"}
    assert 3 <= accepted <= 50  # 10% of 200, with a wide margin


def test_reference_rules_fake_accept_b2g(reference_collector):
    before = set(reference_collector.storage.store.list_keys("v1/"))
    crash_id = crash_id_of(post_crash(reference_collector, {"ProductName": "B2G"}))
    assert crash_id[-7] == "3"
    assert set(reference_collector.storage.store.list_keys("v1/")) == before


# -- checklist 32: client-chosen crash ids ------------------------------------------------
def test_uuid_without_token_is_unauthorized(collector):
    client_id = str(uuid.uuid4())[:-7] + "0" + dt.datetime.now(dt.UTC).strftime("%y%m%d")
    discarded(post_crash(collector, {**ANNOTATIONS, "uuid": client_id}), 401,
              "unauthorized_uuid")
    discarded(post_crash(collector, {**ANNOTATIONS, "uuid": client_id}, token="wrong"), 401,
              "unauthorized_uuid")


def test_uuid_with_token(collector):
    collector.need_own("the stage-submitter token")
    discarded(post_crash(collector, {**ANNOTATIONS, "uuid": "bogus"}, token=STAGE_TOKEN), 400,
              "malformed_invalid_uuid")
    client_id = str(uuid.uuid4())[:-7] + "0" + dt.datetime.now(dt.UTC).strftime("%y%m%d")
    assert crash_id_of(post_crash(collector, {**ANNOTATIONS, "uuid": client_id},
                                  token=STAGE_TOKEN)) == client_id
    assert collector.storage.has_raw_crash(client_id)


# -- checklist 33: the 25 MiB limit --------------------------------------------------------
def padded_body(total: int) -> bytes:
    """An uncompressed crash of exactly ``total`` bytes (the dump padded with ``a``)."""
    empty = form_body(text_part("ProductName", b"Firefox"), file_part("upload_file_minidump", b""))
    return form_body(text_part("ProductName", b"Firefox"),
                     file_part("upload_file_minidump", b"a" * (total - len(empty))))


@pytest.mark.parametrize("size", [25 * MiB - 1, 25 * MiB])
def test_body_at_the_limit_is_accepted(collector, size):
    body = padded_body(size)
    assert len(body) == size
    crash_id = crash_id_of(post(collector, body, FORM))
    if collector.own:
        assert collector.storage.store.get(f"v1/dump/{crash_id}").count(b"a") > 25 * MiB - 500


def test_body_one_byte_over_the_limit_is_refused(collector):
    body = padded_body(25 * MiB + 1)
    discarded(post(collector, body, FORM), 413, "malformed_too_large")


def test_body_over_the_limit_with_a_lying_length_is_refused(collector):
    # Claims the limit, sends more: the extra bytes are not taken as part of this request.
    body = padded_body(26 * MiB)
    answer = post(collector, body, {**FORM, "Content-Length": str(25 * MiB)})
    assert answer.status == 400 and answer.text.startswith("Discarded=malformed_")


def test_chunked_body_over_the_limit_is_refused(collector):
    body = padded_body(25 * MiB + 1)
    discarded(post_chunked(collector, body, FORM), 413, "malformed_too_large")


# -- Content-Length ------------------------------------------------------------------------
def post_chunked(collector, body: bytes, headers: dict[str, str]) -> Answer:
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 65536]), body[i:i + 65536])
                      for i in range(0, len(body), 65536)) + b"0\r\n\r\n"
    lines = [f"{k}: {v}" for k, v in headers.items()] + ["Transfer-Encoding: chunked"]
    return raw_request(collector, lines, chunks)


def test_missing_content_length(collector):
    body = form_body(text_part("ProductName", b"Firefox"))
    discarded(post(collector, body, {**FORM, "Content-Length": None}), 400,
              "malformed_no_content_length")


def test_chunked_body_is_accepted(collector):
    body, headers = build_request(ANNOTATIONS, {"upload_file_minidump": DUMP * 50_000})
    headers.pop("Content-Length")
    crash_id_of(post_chunked(collector, body, headers))


def test_broken_chunked_encoding(collector):
    body = form_body(text_part("ProductName", b"Firefox"))
    lines = [f"{k}: {v}" for k, v in FORM.items()] + ["Transfer-Encoding: chunked"]
    answer = raw_request(collector, lines, b"%x\r\n" % len(body) + body + b"\r\nzz\r\n")
    assert answer.status == 400, answer
    assert answer.text == "Discarded=malformed_invalid_payload_structure"


def test_non_numeric_content_length(collector):
    answer = post(collector, form_body(text_part("ProductName", b"Firefox")),
                  {**FORM, "Content-Length": "foo"})
    assert answer.status == 400


def test_content_length_shorter_than_body(collector):
    body = form_body(text_part("ProductName", b"Firefox"))
    discarded(post(collector, body, {**FORM, "Content-Length": "20"}), 400,
              "malformed_invalid_payload_structure")


def test_content_length_longer_than_body_times_out_without_5xx(collector):
    body = form_body(text_part("ProductName", b"Firefox"))
    start = time.monotonic()
    try:
        answer = post(collector, body, {**FORM, "Content-Length": str(len(body) + 1000)})
    except (ConnectionError, http.client.RemoteDisconnected):
        return  # dropping the connection is an acceptable answer too
    assert answer.status == 408, answer
    assert answer.text == "Discarded=malformed_body_timeout"
    if collector.own:
        assert time.monotonic() - start < BODY_TIMEOUT + 5


def test_expect_100_continue(collector):
    # libcurl (Breakpad's Linux sender) asks before sending bodies over 1 MiB.
    body, headers = build_request(ANNOTATIONS, {"upload_file_minidump": DUMP * 200_000})
    with socket.create_connection((collector.host, collector.port), timeout=30) as sock:
        head = ["POST /submit HTTP/1.1", f"Host: {collector.host}", "Expect: 100-continue",
                *(f"{k}: {v}" for k, v in headers.items())]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        interim = sock.recv(64)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), interim
        sock.sendall(body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        crash_id_of(Answer(response.status, {}, response.read()))


def test_connection_is_reusable_after_an_answer(collector):
    with requests.Session() as session:
        for _ in range(3):
            body, headers = build_request(ANNOTATIONS, {"upload_file_minidump": DUMP})
            response = session.post(collector.submit_url, data=body, headers=headers)
            assert CRASH_ID_BODY.match(response.text)
            response = session.post(collector.submit_url, data=b"junk", headers=FORM)
            assert response.text == "Discarded=malformed_invalid_payload_structure"


# -- gzip bombs and annotation limits (defaults) ---------------------------------------------
def gzip_stream(parts: list[bytes | tuple[bytes, int]]) -> bytes:
    """gzip of the concatenation; a ``(byte, n)`` part is that byte repeated n times."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = []
    for item in parts:
        if isinstance(item, tuple):
            block = item[0] * MiB
            for _ in range(item[1] // MiB):
                out.append(compressor.compress(block))
        else:
            out.append(compressor.compress(item))
    out.append(compressor.flush())
    return b"".join(out)


def test_gzip_bomb_is_refused(collector):
    head = form_body(text_part("ProductName", b"Firefox")).rsplit(b"--BOUND--", 1)[0]
    bomb = gzip_stream([head, b"--BOUND\r\n" + file_part("upload_file_minidump", b""),
                        (b"\0", 401 * MiB), b"\r\n--BOUND--\r\n"])
    assert len(bomb) < 2 * MiB
    discarded(post(collector, bomb, {**FORM, "Content-Encoding": "gzip"}), 413,
              "malformed_compression_ratio_too_high")


def test_inflated_size_is_capped_at_a_plausible_ratio(collector):
    # about 16:1, under the ratio cap, past the 100 MiB inflated cap
    head = form_body(text_part("ProductName", b"Firefox")).rsplit(b"--BOUND--", 1)[0]
    compressor = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [compressor.compress(head + b"--BOUND\r\n" + file_part("upload_file_minidump", b""))]
    noise = os.urandom(64 * 1024)
    for _ in range(101):
        out.append(compressor.compress(noise + bytes(MiB - len(noise))))
    out.append(compressor.compress(b"\r\n--BOUND--\r\n") + compressor.flush())
    body = b"".join(out)
    assert 101 * MiB / len(body) < 20
    discarded(post(collector, body, {**FORM, "Content-Encoding": "gzip"}), 413,
              "malformed_inflated_too_large")


def test_too_many_annotations(collector):
    annotations = {f"A{i}": "x" for i in range(1001)}
    discarded(post_crash(collector, annotations), 400, "malformed_too_many_annotations")


def test_annotation_too_large(collector):
    discarded(post_crash(collector, {**ANNOTATIONS, "Big": "x" * (2 * MiB + 1)}), 413,
              "malformed_annotation_too_large")


# -- checklist 34-35: health -----------------------------------------------------------------
def raw_exchange(collector, data: bytes) -> Answer:
    with socket.create_connection((collector.host, collector.port), timeout=30) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                      response.read())


@pytest.mark.parametrize("request_bytes, status", [
    (b"POST /submit?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),  # line too long
    (b"NOT HTTP AT ALL\r\n\r\n", 400),
    (b"POST /submit HTTP/1.1\r\nBad Header\r\n\r\n", 400),
    (b"POST /submit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip2\r\n\r\n", 400),
])
def test_server_level_errors_are_json(collector, request_bytes, status):
    answer = raw_exchange(collector, request_bytes)
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/json", answer
    assert json.loads(answer.body)["title"].startswith(str(status)), answer


def test_health_endpoints(collector):
    response = requests.get(f"{collector.url}/__lbheartbeat__", timeout=10)
    assert response.status_code == 200
    response = requests.get(f"{collector.url}/__heartbeat__", timeout=30)
    assert response.status_code == 200 and response.json()["errors"] == []
    response = requests.get(f"{collector.url}/__version__", timeout=10)
    assert response.status_code == 200 and isinstance(response.json(), dict)
    response = requests.get(f"{collector.url}/metrics", timeout=10)
    assert response.status_code == 200
    assert "crashline_collector_incoming_crashes_total" in response.text
    assert requests.get(f"{collector.url}/nowhere", timeout=10).status_code == 404
    assert requests.get(f"{collector.url}/submit", timeout=10).status_code == 405


def test_metrics_aggregate_over_workers(collector):
    collector.need_own("metric values")
    for _ in range(6):
        crash_id_of(post_crash(collector))
    text = requests.get(f"{collector.url}/metrics", timeout=10).text
    match = re.search(r'crashline_collector_crashes_total\{result="accepted"\} ([0-9.e+]+)', text)
    assert match and float(match.group(1)) >= 6


# -- checklist 36: start-up self-check -------------------------------------------------------
@pytest.mark.parametrize("broken, message", [
    ({"CRASHLINE_RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/%2F"},
     "refusing to start: RabbitMQ does not work"),
    ({"CRASHLINE_STORAGE_BACKEND": "s3", "CRASHLINE_S3_ENDPOINT_URL": "http://127.0.0.1:1"},
     "refusing to start: crash storage (s3) does not work"),
    ({"CRASHLINE_COLLECTOR_THROTTLE_RULES": "/nonexistent/rules.toml"},
     "refusing to start: throttle rules"),
])
def test_refuses_to_start_when_a_backend_is_broken(collector, collector_env, spawn_collector,
                                                   tmp_path, broken, message):
    collector.need_own("starting collectors")
    log_path = tmp_path / "broken.log"
    process, url = spawn_collector({**collector_env, **broken}, log_path, wait=False)
    assert process.wait(timeout=60) != 0
    assert message in log_path.read_text(errors="replace")
