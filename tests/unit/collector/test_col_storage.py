"""What the collector added to the shared crash storage: streamed dumps, pending-publish
records, the key checks of the local backend, and the writes of a step at once."""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from crashline.common.storage import CrashStorage, StorageError
from crashline.common.storage.local import LocalObjectStore

CRASH_ID = "de1bb258-cbbf-4589-a673-34f800160918"


@pytest.fixture
def local(tmp_path):
    return CrashStorage(LocalObjectStore(tmp_path / "root", fsync=False))


def test_put_dump_from_a_file(local):
    data = bytes(range(256)) * 10_000
    local.put_dump(CRASH_ID, "upload_file_minidump", io.BytesIO(data))
    assert local.get_dump(CRASH_ID) == data
    local.put_dump(CRASH_ID, "other", bytearray(b"ba"))
    assert local.get_dump(CRASH_ID, "other") == b"ba"


def test_put_file_rewinds(local):
    stream = io.BytesIO(b"content")
    stream.read()
    local.store.put_file("v1/x/1", stream)
    assert local.store.get("v1/x/1") == b"content"


def test_pending_publish_records(local):
    assert list(local.list_pending_publish()) == []
    local.put_pending_publish(CRASH_ID, {"queue": "q", "reason": "down", "time": "t"})
    assert list(local.list_pending_publish()) == [(CRASH_ID, {"queue": "q", "reason": "down",
                                                              "time": "t"})]
    assert local.store.exists(f"v1/pending_publish/{CRASH_ID}")
    local.delete_pending_publish(CRASH_ID)
    assert list(local.list_pending_publish()) == []


@pytest.mark.parametrize("key", ["../escape", "v1/../../x", "/abs/path", "v1//double", "v1/./x",
                                 "", "v1/x\0y", "v1/x/"])
def test_local_keys_cannot_escape_the_root(local, key):
    with pytest.raises(ValueError, match="escapes the storage root"):
        local.store.put(key, b"x")


def test_local_list_keys_still_works(local):
    local.store.put("v1/raw_crash/20260101/a", b"1")
    local.store.put("v1/raw_crash/20260101/b", b"2")
    assert list(local.store.list_keys("v1/raw_crash/20260101/")) == [
        "v1/raw_crash/20260101/a", "v1/raw_crash/20260101/b"]
    assert list(local.store.list_keys("v1/raw_crash/20990101/")) == []


# -- a crash's writes at once (the collector's workers run them in threads) ------------------
class RecordingStore(LocalObjectStore):
    """Records when each write starts and ends; ``slow`` keys take a while, ``failing``
    ones fail."""

    def __init__(self, root, executor=None, slow=(), failing=()):
        super().__init__(root, fsync=False, executor=executor)
        self.events: list[tuple[str, str]] = []
        self.slow, self.failing = set(slow), set(failing)
        self._lock = threading.Lock()

    def put_data(self, key, data):
        with self._lock:
            self.events.append(("start", key))
        if key in self.slow:
            time.sleep(0.2)
        if key in self.failing:
            raise StorageError(f"cannot write {key}")
        super().put_data(key, data)
        with self._lock:
            self.events.append(("end", key))


def test_put_in_order_writes_a_step_at_once_and_the_next_after_it(tmp_path):
    with ThreadPoolExecutor(4) as executor:
        store = RecordingStore(tmp_path, executor, slow={"v1/a/1"})
        store.put_in_order([{"v1/a/1": b"a", "v1/b/1": b"b", "v1/c/1": io.BytesIO(b"c")},
                            {"v1/last/1": b"z"}])
    events = store.events
    # the step's writes overlap: the fast ones start before the slow one ends
    assert events.index(("start", "v1/b/1")) < events.index(("end", "v1/a/1"))
    first_step_done = max(events.index(("end", key)) for key in ("v1/a/1", "v1/b/1", "v1/c/1"))
    assert events.index(("start", "v1/last/1")) > first_step_done
    assert [store.get(k) for k in ("v1/a/1", "v1/b/1", "v1/c/1", "v1/last/1")] == \
        [b"a", b"b", b"c", b"z"]


def test_put_in_order_without_an_executor_writes_one_at_a_time_in_order(tmp_path):
    store = RecordingStore(tmp_path)
    store.put_in_order([{"v1/a/1": b"a", "v1/b/1": b"b"}, {"v1/last/1": b"z"}])
    assert store.events == [("start", "v1/a/1"), ("end", "v1/a/1"), ("start", "v1/b/1"),
                            ("end", "v1/b/1"), ("start", "v1/last/1"), ("end", "v1/last/1")]


def test_a_failed_write_stops_before_the_next_step_after_the_others_finished(tmp_path):
    with ThreadPoolExecutor(4) as executor:
        store = RecordingStore(tmp_path, executor, slow={"v1/a/1"}, failing={"v1/b/1"})
        with pytest.raises(StorageError, match="v1/b/1"):
            store.put_in_order([{"v1/a/1": b"a", "v1/b/1": b"b"}, {"v1/last/1": b"z"}])
        # raised only once the slow write of the same step had ended
        assert ("end", "v1/a/1") in store.events
    assert ("start", "v1/last/1") not in store.events
    assert not store.exists("v1/last/1")


def test_save_raw_crash_through_an_executor_is_complete(tmp_path):
    with ThreadPoolExecutor(4) as executor:
        storage = CrashStorage(LocalObjectStore(tmp_path, executor=executor))
        dumps = {"upload_file_minidump": b"MDMP" * 1000, "other": io.BytesIO(b"x" * 10)}
        storage.save_raw_crash(CRASH_ID, {"ProductName": "Firefox"}, dumps)
    assert storage.get_raw_crash(CRASH_ID) == {"ProductName": "Firefox"}
    assert storage.get_dumps(CRASH_ID) == {"upload_file_minidump": b"MDMP" * 1000,
                                           "other": b"x" * 10}


def test_local_writes_create_folders_and_leave_no_temporary_files(tmp_path):
    store = LocalObjectStore(tmp_path / "root", fsync=True)
    store.put("v1/raw_crash/20260918/a", b"1")
    store.put("v1/raw_crash/20260918/a", b"2")  # over an existing object
    store.put_file("v1/dump/a", io.BytesIO(b"3"))
    assert store.get("v1/raw_crash/20260918/a") == b"2"
    assert store.get("v1/dump/a") == b"3"
    files = sorted(str(p.relative_to(tmp_path / "root")) for p in (tmp_path / "root").rglob("*")
                   if p.is_file())
    assert files == ["v1/dump/a", "v1/raw_crash/20260918/a"]


def test_a_failed_local_write_removes_its_temporary_file(tmp_path):
    store = LocalObjectStore(tmp_path, fsync=False)

    class Broken(io.BytesIO):
        def read(self, *args):
            raise OSError("the spool file is gone")

    with pytest.raises(StorageError, match="v1/dump/a"):
        store.put_file("v1/dump/a", Broken(b"x"))
    assert [p.name for p in (tmp_path / "v1" / "dump").iterdir()] == []


def test_the_storage_executor_outside_gevent_is_the_calling_thread():
    from crashline.collector.app import storage_executor
    from crashline.collector.settings import CollectorSettings

    assert storage_executor(CollectorSettings()) is None
