"""One contract, two backends: local disk and the real S3 endpoint (moto server)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from harness.crashes import store_crash

from crashline.common.crashid import create_crash_id
from crashline.common.storage import CrashNotFound, keys, storage_from_settings

pytestmark = pytest.mark.integration


@pytest.fixture(params=["local", "s3"])
def storage(request, settings, s3_settings, tmp_path):
    if request.param == "local":
        return storage_from_settings(settings.model_copy(update={"storage_path": tmp_path}))
    backend = storage_from_settings(
        s3_settings.model_copy(update={"s3_bucket": f"{s3_settings.s3_bucket}-{tmp_path.name}"[:63]
                                       .lower().replace("_", "-")})
    )
    try:
        backend.check()
    except Exception as exc:
        pytest.fail(f"S3 endpoint not reachable ({exc}); start the stack with `make stack`")
    return backend


def new_id(day=dt.datetime(2026, 9, 18, tzinfo=dt.UTC)):
    return create_crash_id(day)


def test_raw_crash_round_trip(storage):
    cid = new_id()
    raw = {"ProductName": "Fennec", "Version": "1.0", "metadata": {"dump_checksums": {}}}
    dumps = {"upload_file_minidump": b"MDMP\x00\x01", "memory_report": b"\x1f\x8b gz"}
    store_crash(storage, cid, raw, dumps)

    assert storage.has_raw_crash(cid)
    assert storage.get_raw_crash(cid) == raw
    assert storage.get_dump_names(cid) == ["memory_report", "upload_file_minidump"]
    assert storage.get_dump(cid) == b"MDMP\x00\x01"
    assert storage.get_dump(cid, "memory_report") == b"\x1f\x8b gz"
    assert storage.get_dumps(cid) == dumps


def test_key_layout_is_the_contract(storage):
    cid = new_id()
    store_crash(storage, cid, {"a": "b"}, {"upload_file_minidump": b"x", "extra": b"y"})
    storage.put_processed_crash(cid, {"signature": "s"})
    store = storage.store
    assert store.exists(f"v1/raw_crash/20260918/{cid}")
    assert store.exists(f"v1/dump_names/{cid}")
    assert store.exists(f"v1/dump/{cid}")
    assert store.exists(f"v1/extra/{cid}")
    assert store.exists(f"v1/processed_crash/{cid}")
    assert json.loads(store.get(f"v1/dump_names/{cid}")) == ["extra", "upload_file_minidump"]


def test_raw_crash_is_written_last(storage):
    """A reader that finds the raw crash finds every dump: the collector writes the raw crash
    last, on every backend."""
    order: list[str] = []
    real_put = storage.store.put

    def spy(key, data):
        order.append(key)
        real_put(key, data)

    storage.store.put = spy
    cid = new_id()
    store_crash(storage, cid, {}, {"upload_file_minidump": b"1", "other": b"2"})
    assert order[-1] == keys.raw_crash_key(cid)
    assert order[-2] == keys.dump_names_key(cid)


def test_writes_of_a_step_at_once_still_end_with_the_raw_crash(storage):
    """With an executor (the collector's workers write a crash's dumps at once), every other
    object of the crash is stored when the raw crash is written."""
    seen_before_raw: dict[str, bool] = {}
    real_put_data = storage.store.put_data
    cid = new_id()
    others = [keys.dump_key(cid, "upload_file_minidump"), keys.dump_key(cid, "other"),
              keys.dump_names_key(cid)]

    def spy(key, data):
        if key == keys.raw_crash_key(cid):
            seen_before_raw.update({other: storage.store.exists(other) for other in others})
        real_put_data(key, data)

    storage.store.put_data = spy
    with ThreadPoolExecutor(4) as executor:
        storage.store.executor = executor
        store_crash(storage, cid, {"a": "b"}, {"upload_file_minidump": b"1" * 100_000,
                                               "other": b"2"})
    assert seen_before_raw == dict.fromkeys(others, True)
    assert storage.get_raw_crash(cid) == {"a": "b"}
    assert storage.get_dumps(cid) == {"upload_file_minidump": b"1" * 100_000, "other": b"2"}


def test_missing_objects_raise_not_found(storage):
    cid = new_id()
    assert not storage.has_raw_crash(cid)
    assert not storage.has_processed_crash(cid)
    with pytest.raises(CrashNotFound):
        storage.get_raw_crash(cid)
    with pytest.raises(CrashNotFound):
        storage.get_processed_crash(cid)
    with pytest.raises(CrashNotFound):
        storage.get_dump(cid)
    assert storage.get_dump_names(cid) == []


def test_open_streams_an_object_with_its_size(storage):
    data = bytes(range(256)) * 5000
    storage.store.put("v1/symbols/a.pdb/ABC/a.sym", data)
    stream, size = storage.store.open("v1/symbols/a.pdb/ABC/a.sym")
    with stream:
        assert size == len(data)
        assert stream.read(1000) + stream.read() == data
    with pytest.raises(CrashNotFound):
        storage.store.open("v1/symbols/a.pdb/ABC/missing.sym")


def test_processed_crash_overwrite_is_idempotent(storage):
    cid = new_id()
    storage.put_processed_crash(cid, {"signature": "first"})
    storage.put_processed_crash(cid, {"signature": "second"})
    storage.put_processed_crash(cid, {"signature": "second"})
    assert storage.get_processed_crash(cid) == {"signature": "second"}


def test_list_raw_crashes_of_a_day(storage):
    day = dt.datetime(2026, 9, 20, tzinfo=dt.UTC)
    ids = sorted(new_id(day) for _ in range(5))
    for cid in ids:
        store_crash(storage, cid, {}, {})
    other = new_id(dt.datetime(2026, 9, 21, tzinfo=dt.UTC))
    store_crash(storage, other, {}, {})
    assert sorted(storage.list_raw_crashes(day.date())) == ids
    assert list(storage.list_raw_crashes(dt.date(2001, 1, 1))) == []


def test_receipts_by_hour(storage):
    hour = dt.datetime(2026, 9, 20, 13, tzinfo=dt.UTC)
    first, second = sorted(new_id(hour) for _ in range(3)), [new_id(hour)]
    storage.put_receipts(hour, "host-1-00000001", first)
    storage.put_receipts(hour, "host-2-00000001", second)
    later = [new_id(hour)]
    storage.put_receipts(hour + dt.timedelta(hours=1), "host-1-00000002", later)
    assert storage.store.exists("v1/received/2026092013/host-1-00000001")
    assert sorted(storage.list_receipts(hour)) == sorted(first + second)
    assert list(storage.list_receipts(hour + dt.timedelta(hours=1))) == later
    # an hour given in another time zone is the same UTC hour
    elsewhere = hour.astimezone(dt.timezone(dt.timedelta(hours=2)))
    assert sorted(storage.list_receipts(elsewhere)) == sorted(first + second)
    # a retried write of a batch replaces it
    storage.put_receipts(hour, "host-2-00000001", second)
    assert sorted(storage.list_receipts(hour)) == sorted(first + second)
    assert storage.delete_receipts(hour) == 2
    assert list(storage.list_receipts(hour)) == []
    with pytest.raises(ValueError):
        storage.put_receipts(dt.datetime(2026, 9, 20, 13), "b", later)  # naive: which hour?
    for bad_batch in ("", ".", "..", ".tmp-x", "a/b", "x" * 201):
        with pytest.raises(ValueError):
            storage.put_receipts(hour, bad_batch, later)
    with pytest.raises(ValueError):
        storage.put_receipts(hour, "b", ["../../etc/passwd"])


def test_delete_crash_removes_everything(storage):
    cid = new_id()
    store_crash(storage, cid, {}, {"upload_file_minidump": b"x"})
    storage.put_processed_crash(cid, {})
    storage.delete_crash(cid)
    assert not storage.has_raw_crash(cid)
    assert not storage.has_processed_crash(cid)
    assert storage.get_dump_names(cid) == []


def test_invalid_crash_ids_never_reach_the_backend(storage):
    with pytest.raises(ValueError):
        storage.get_raw_crash("../../etc/passwd")
    with pytest.raises(ValueError):
        storage.put_processed_crash("not-a-crash-id", {})


def test_readers_never_see_half_an_object(storage):
    """Concurrent overwrites of a large object: every read is one whole version."""
    cid = new_id()
    versions = [bytes([n]) * 2_000_000 for n in range(4)]
    storage.put_dump(cid, "upload_file_minidump", versions[0])
    stop = threading.Event()
    seen: set[bytes] = set()
    errors: list[str] = []

    def reader():
        while not stop.is_set():
            data = storage.get_dump(cid)
            if data not in versions:
                errors.append(f"torn read of {len(data)} bytes")
            seen.add(data[:1])

    thread = threading.Thread(target=reader)
    thread.start()
    for version in versions * 3:
        storage.put_dump(cid, "upload_file_minidump", version)
    stop.set()
    thread.join()
    assert errors == []
    assert seen  # the reader really read


def test_check_passes_on_a_working_backend(storage):
    storage.check()
