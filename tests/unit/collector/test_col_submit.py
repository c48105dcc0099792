"""POST /submit through the Falcon app, with in-memory storage and publisher."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
import time

import pytest
from falcon import testing

from crashline.collector.app import create_app
from crashline.collector.client import build_request
from crashline.collector.mover import CrashMover, SaveFailed
from crashline.collector.settings import RULES_DIR
from crashline.collector.throttler import Throttler
from crashline.common.crashid import InvalidCrashId, date_from_crash_id
from crashline.common.retry import Backoff
from crashline.common.storage import CrashStorage, keys

ANNOTATIONS = {"ProductName": "Firefox", "Version": "1"}
DUMP = b"MDMP" + bytes(range(256)) * 4
CRASH_ID_BODY = re.compile(r"^CrashID=bp-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                           r"[0-9a-f]{6}[0-9]{6})\n$")


@pytest.fixture
def make_client(collector_settings, storage, publisher):
    def make(throttle_rules=RULES_DIR / "default.toml", **overrides):
        settings = type(collector_settings)(**{**collector_settings.model_dump(), **overrides})
        throttler = Throttler.from_file(throttle_rules, draw=lambda: 0.99)
        app = create_app(settings, storage=storage, publisher=publisher, throttler=throttler,
                         configure_logging=False)
        return testing.TestClient(app)
    return make


@pytest.fixture
def client(make_client):
    return make_client()


def post(client, annotations=None, dumps=None, *, headers=None, **kwargs):
    body, base_headers = build_request(
        ANNOTATIONS if annotations is None else annotations,
        {"upload_file_minidump": DUMP} if dumps is None else dumps, **kwargs)
    return client.simulate_post("/submit", body=body, headers={**base_headers,
                                                                **(headers or {})})


def crash_id_of(result) -> str:
    match = CRASH_ID_BODY.match(result.text)
    assert match, result.text
    return match.group(1)


def test_accepted_crash_is_stored_then_published(client, store, storage, publisher):
    result = post(client, {**ANNOTATIONS, "Email": "me@example.com"},
                  {"upload_file_minidump": DUMP, "memory_report": b"mem"},
                  headers={"User-Agent": "Breakpad/1.0"})
    assert result.status_code == 200
    assert result.headers["content-type"] == "text/plain"
    crash_id = crash_id_of(result)
    assert crash_id[-7] == "0"
    assert date_from_crash_id(crash_id) == dt.datetime.now(dt.UTC).date()

    # dumps, then dump names, then the raw crash: its presence means complete
    assert store.writes == [keys.dump_key(crash_id, "memory_report"),
                            keys.dump_key(crash_id, "upload_file_minidump"),
                            keys.dump_names_key(crash_id), keys.raw_crash_key(crash_id)]
    assert store.objects[f"v1/dump/{crash_id}"] == DUMP
    assert storage.get_dump_names(crash_id) == ["memory_report", "upload_file_minidump"]
    raw = storage.get_raw_crash(crash_id)
    assert raw["ProductName"] == "Firefox" and "Email" not in raw
    assert raw["uuid"] == crash_id and raw["version"] == 2
    submitted = dt.datetime.fromisoformat(raw["submitted_timestamp"])
    assert submitted.utcoffset() == dt.timedelta(0)
    meta = raw["metadata"]
    assert meta["payload"] == "multipart" and meta["payload_compressed"] == "0"
    assert meta["payload_size"] > len(DUMP)  # exact wire size: test_payload_size_...
    assert meta["dump_checksums"] == {"upload_file_minidump": hashlib.sha256(DUMP).hexdigest(),
                                      "memory_report": hashlib.sha256(b"mem").hexdigest()}
    assert meta["collector_notes"] == ["Removed Email from raw crash."]
    assert meta["user_agent"] == "Breakpad/1.0"
    assert meta["throttle_rule"] == "accept_everything"
    assert meta["throttle_result"] == "accept"
    assert meta["submitted_timestamp"] == raw["submitted_timestamp"]
    assert meta["collector_version"]
    assert publisher.published == [("unit.standard", crash_id)]


def test_payload_size_is_the_wire_size(client, storage):
    body, headers = build_request(ANNOTATIONS, {"upload_file_minidump": DUMP}, compress=True)
    result = client.simulate_post("/submit", body=body, headers=headers)
    raw = storage.get_raw_crash(crash_id_of(result))
    assert raw["metadata"]["payload_size"] == len(body)
    assert raw["metadata"]["payload_compressed"] == "1"
    assert storage.get_dump(crash_id_of(result)) == DUMP


def test_multipart_mixed_and_json_extra(client, storage):
    result = post(client, mixed=True, use_json=True)
    raw = storage.get_raw_crash(crash_id_of(result))
    assert raw["metadata"]["payload"] == "json" and raw["Version"] == "1"


def test_crash_without_dumps_stores_empty_dump_names(client, store, storage):
    crash_id = crash_id_of(post(client, dumps={}))
    assert store.objects[keys.dump_names_key(crash_id)] == b"[]"
    assert storage.get_raw_crash(crash_id)["metadata"]["dump_checksums"] == {}


def test_client_metadata_is_replaced(client, storage):
    crash_id = crash_id_of(post(client, {**ANNOTATIONS, "metadata": "junk", "version": "9"},
                                use_json=True))
    raw = storage.get_raw_crash(crash_id)
    assert raw["version"] == 2 and isinstance(raw["metadata"], dict)


def test_malformed_answers(client, store, publisher):
    result = client.simulate_post("/submit", body=b"x",
                                  headers={"Content-Type": "application/json"})
    assert (result.status_code, result.text) == (400, "Discarded=malformed_wrong_content_type")
    result = client.simulate_post("/submit", body=b"", headers={
        "Content-Type": "multipart/form-data; boundary=a"})
    assert (result.status_code, result.text) == (400, "Discarded=malformed_no_content_length")
    assert store.objects == {} and publisher.published == []


def test_throttle_outcomes(make_client, store, storage, publisher):
    client = make_client(RULES_DIR / "example_reference.toml")
    # rejected: 200 with the rule, nothing stored or published
    result = post(client, {"ProductName": "Netscape"})
    assert (result.status_code, result.text) == (200, "Discarded=rule_unsupported_product")
    # sampled out (draw 0.99 > 10%)
    result = post(client, {"ProductName": "Firefox", "ReleaseChannel": "release"})
    assert result.text == "Discarded=rule_is_firefox_desktop"
    # fake accept: an id with digit 3, nothing stored
    result = post(client, {"ProductName": "B2G"})
    assert crash_id_of(result)[-7] == "3"
    assert store.objects == {} and publisher.published == []


def test_deferred_crash_is_stored_not_published(make_client, storage, publisher, tmp_path):
    rules = tmp_path / "defer.toml"
    rules.write_text('[[rules]]\nname = "later"\nresult = "defer"\n')
    crash_id = crash_id_of(post(make_client(rules)))
    assert crash_id[-7] == "1"
    assert storage.get_raw_crash(crash_id)["metadata"]["throttle_result"] == "defer"
    assert publisher.published == []


def test_deeply_nested_extra_is_malformed_json_not_a_500(client, store):
    depth = 200_000
    body = (b'--B\r\nContent-Disposition: form-data; name="extra"\r\n'
            b"Content-Type: application/json\r\n\r\n"
            + b'{"a":' + b"[" * depth + b"]" * depth + b"}\r\n--B--\r\n")
    result = client.simulate_post("/submit", body=body, headers={
        "Content-Type": "multipart/form-data; boundary=B"})
    assert (result.status_code, result.text) == (400, "Discarded=malformed_invalid_json")
    assert store.objects == {}


# -- stage submitter ------------------------------------------------------------------------
CLIENT_ID = "de1bb258-cbbf-4589-a673-34f800160918"


@pytest.mark.parametrize("token, sent, expected", [
    ("", None, (401, "Discarded=unauthorized_uuid")),
    ("", "", (401, "Discarded=unauthorized_uuid")),
    ("s3cret", None, (401, "Discarded=unauthorized_uuid")),
    ("s3cret", "wrong", (401, "Discarded=unauthorized_uuid")),
])
def test_uuid_without_valid_token(make_client, store, token, sent, expected):
    client = make_client(collector_stage_submitter_token=token)
    result = post(client, {**ANNOTATIONS, "uuid": CLIENT_ID}, token=sent)
    assert (result.status_code, result.text) == expected
    assert store.objects == {}


def test_uuid_beats_a_rejection_when_unauthorized(make_client):
    client = make_client(RULES_DIR / "example_reference.toml")
    result = post(client, {"ProductName": "Netscape", "uuid": CLIENT_ID})
    assert result.status_code == 401


@pytest.mark.parametrize("bad_id", ["not-an-id", CLIENT_ID.upper(),
                                    CLIENT_ID[:-7] + "2" + CLIENT_ID[-6:], CLIENT_ID + "0",
                                    CLIENT_ID + "\n",  # a `$` pattern accepts it
                                    CLIENT_ID[:-6] + "161318"])  # month 13
def test_uuid_with_token_but_invalid_id(make_client, bad_id):
    client = make_client(collector_stage_submitter_token="s3cret")
    result = post(client, {**ANNOTATIONS, "uuid": bad_id}, token="s3cret")
    assert (result.status_code, result.text) == (400, "Discarded=malformed_invalid_uuid")


def test_uuid_with_token_is_used(make_client, storage, publisher):
    client = make_client(collector_stage_submitter_token="s3cret")
    result = post(client, {**ANNOTATIONS, "uuid": CLIENT_ID}, token="s3cret")
    assert crash_id_of(result) == CLIENT_ID
    assert storage.get_raw_crash(CLIENT_ID)["uuid"] == CLIENT_ID
    assert publisher.published[-1][1] == CLIENT_ID


# -- failures -------------------------------------------------------------------------------
def test_transient_storage_failure_is_retried(client, store, storage):
    store.fail_puts = 2
    crash_id = crash_id_of(post(client))
    assert storage.has_raw_crash(crash_id)


def test_storage_down_answers_503_and_leaves_no_complete_crash(make_client, store, publisher):
    store.fail_keys = ("v1/raw_crash/",)
    result = post(make_client(collector_save_attempts=3, collector_retry_after=42))
    assert result.status_code == 503
    assert result.headers["retry-after"] == "42" and result.text == ""
    assert not any(k.startswith("v1/raw_crash/") for k in store.objects)
    assert publisher.published == []


def metric(client, name: str, **labels) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(client.simulate_get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_compression_bomb_answers_413_and_is_counted(client, store):
    before = metric(client, "crashline_collector_malformed_total",
                    reason="compression_ratio_too_high")
    result = post(client, dumps={"upload_file_minidump": bytes(5_000_000)}, compress=True)
    assert (result.status_code, result.text) == (
        413, "Discarded=malformed_compression_ratio_too_high")
    assert store.objects == {}
    assert metric(client, "crashline_collector_malformed_total",
                  reason="compression_ratio_too_high") == before + 1


@pytest.mark.parametrize("setting, reason", [
    ({"collector_min_free_disk": 2**62}, "low_disk"),  # less free disk than that
    ({"collector_annotation_memory": 5}, "memory"),  # the worker's annotation memory spent
])
def test_unavailable_answers_503_and_stores_nothing(make_client, store, setting, reason):
    client = make_client(collector_retry_after=42, **setting)
    before = metric(client, "crashline_collector_unavailable_total", reason=reason)
    result = post(client)
    assert (result.status_code, result.headers.get("retry-after"), result.text) == (503, "42", "")
    assert store.objects == {}
    assert metric(client, "crashline_collector_unavailable_total", reason=reason) == before + 1


def test_enough_free_disk_is_accepted(make_client):
    assert post(make_client(collector_min_free_disk=0)).status_code == 200


def test_accepted_crashes_get_a_receipt_under_the_hour_received(make_client, storage):
    client = make_client(collector_receipt_interval=0.05)
    crash_id = crash_id_of(post(client))
    submitted = dt.datetime.fromisoformat(storage.get_raw_crash(crash_id)["submitted_timestamp"])
    hour = submitted.replace(minute=0, second=0, microsecond=0)
    deadline = time.monotonic() + 10  # written out in batches, by a thread
    while not list(storage.list_receipts(hour)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert list(storage.list_receipts(hour)) == [crash_id]


def test_queue_down_answers_success_and_records_pending(make_client, storage, publisher):
    publisher.failures = 99
    result = post(make_client(collector_publish_attempts=2))
    crash_id = crash_id_of(result)
    assert storage.has_raw_crash(crash_id)
    [(pending_id, record)] = list(storage.list_pending_publish())
    assert pending_id == crash_id
    assert record["queue"] == "unit.standard" and "injected" in record["reason"]
    dt.datetime.fromisoformat(record["time"])
    storage.delete_pending_publish(crash_id)
    assert list(storage.list_pending_publish()) == []


def test_queue_blip_is_retried(client, storage, publisher):
    publisher.failures = 1
    crash_id = crash_id_of(post(client))
    assert publisher.published == [("unit.standard", crash_id)]
    assert list(storage.list_pending_publish()) == []


def test_mover_rewinds_spooled_dumps_on_retry(store, publisher, tmp_path):
    import tempfile

    with tempfile.TemporaryFile(dir=tmp_path) as spool:
        spool.write(b"big dump")
        store.fail_puts = 1
        mover = CrashMover(CrashStorage(store), publisher, "q",
                           save_backoff=Backoff(3, 0, 0), publish_backoff=Backoff(1, 0, 0))
        crash_id = "de1bb258-cbbf-4589-a673-34f800160918"

        def data():
            return spool  # read to its end by a failed attempt: put_file rewinds it

        mover.save(crash_id, {"uuid": crash_id}, {"upload_file_minidump": data})
    assert store.objects[f"v1/dump/{crash_id}"] == b"big dump"
    store.fail_keys = ("v1/",)
    with pytest.raises(SaveFailed):
        mover.save(crash_id, {}, {})


def test_mover_refuses_an_invalid_id_without_retrying(store, publisher):
    sleeps = []
    mover = CrashMover(CrashStorage(store), publisher, "q",
                       save_backoff=Backoff(3, 1, 1, sleep=sleeps.append),
                       publish_backoff=Backoff(1, 0, 0))
    with pytest.raises(InvalidCrashId):
        mover.save(CLIENT_ID + "\n", {}, {"upload_file_minidump": lambda: b"x"})
    assert store.objects == {} and sleeps == []


# -- health ---------------------------------------------------------------------------------
def test_health_endpoints(client, store):
    assert client.simulate_get("/__lbheartbeat__").status_code == 200
    result = client.simulate_get("/__heartbeat__")
    assert result.status_code == 200 and result.json["errors"] == []
    version = client.simulate_get("/__version__")
    assert version.status_code == 200 and version.json["name"] == "crashline-collector"
    store.fail_puts = 1
    result = client.simulate_get("/__heartbeat__")
    assert result.status_code == 503 and result.json["errors"][0]["name"] == "storage"


def test_metrics_count_outcomes(client):
    post(client)
    client.simulate_post("/submit", body=b"", headers={"Content-Type": "text/plain"})
    text = client.simulate_get("/metrics").text
    assert re.search(r'crashline_collector_crashes_total\{result="accepted"\} [1-9]', text)
    assert re.search(r'crashline_collector_malformed_total\{reason="wrong_content_type"\} '
                     r"[1-9]", text)
    assert re.search(r'crashline_collector_throttle_rule_total\{result="accept",'
                     r'rule="accept_everything"\} [1-9]', text)
    assert "crashline_collector_save_seconds_bucket" in text


def test_unknown_path_and_method(client):
    assert client.simulate_get("/nope").status_code == 404
    assert client.simulate_get("/submit").status_code == 405


def test_gzip_upload_of_json_extra(client, storage):
    body, headers = build_request(ANNOTATIONS, {}, compress=True, use_json=True)
    assert gzip.decompress(body).count(b"application/json") == 1
    raw = storage.get_raw_crash(crash_id_of(client.simulate_post("/submit", body=body,
                                                                  headers=headers)))
    assert json.loads(json.dumps(raw))["metadata"]["payload"] == "json"


class BrokenStream:
    def __init__(self, error: BaseException):
        self.error = error

    def read(self, size=-1):
        raise self.error

    readline = readlines = read  # the WSGI validator wants them all

    def __iter__(self):
        raise self.error


@pytest.mark.parametrize("error, status, reason", [
    (TimeoutError("timed out"), 408, "body_timeout"),
    (ConnectionResetError("reset"), 400, "invalid_payload_structure"),
    (ValueError("bad chunk size"), 400, "invalid_payload_structure"),
])
def test_body_read_failures_become_answers(client, error, status, reason):
    result = client.simulate_post(
        "/submit", headers={"Content-Type": "multipart/form-data; boundary=b",
                            "Content-Length": "100"},
        extras={"wsgi.input": BrokenStream(error)})
    assert (result.status_code, result.text) == (status, f"Discarded=malformed_{reason}")
