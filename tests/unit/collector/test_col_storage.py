"""What the collector added to the shared crash storage: streamed dumps, pending-publish
records, and the key checks of the local backend."""

from __future__ import annotations

import io

import pytest

from crashline.common.storage import CrashStorage
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
