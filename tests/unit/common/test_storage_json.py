"""Crash storage's JSON: orjson where it can, json for what orjson refuses, same documents."""

import json
import math

import pytest

from crashline.common.storage import CrashStorage
from crashline.common.storage.base import _dumps_json
from crashline.common.storage.keys import processed_crash_key
from crashline.common.storage.local import LocalObjectStore

CRASH_ID = "de1bb258-cbbf-4589-a673-34f800160918"


@pytest.fixture
def storage(tmp_path):
    return CrashStorage(LocalObjectStore(tmp_path, fsync=False))


def test_compact_sorted_like_json():
    doc = {"b": [1, 2.5, None, True], "a": {"z": "x", "y": "é"}, "c": ""}
    assert json.loads(_dumps_json(doc)) == doc
    assert _dumps_json({"b": 1, "a": {"d": 2, "c": 3}}) == b'{"a":{"c":3,"d":2},"b":1}'


@pytest.mark.parametrize("doc", [
    {"big": 2**70, "small": -(2**65)},      # integers over 64 bits
    {"1": "a", "nested": {2: "b"}},         # keys that are not strings
])
def test_what_orjson_refuses_round_trips_through_json(storage, doc):
    storage.put_processed_crash(CRASH_ID, doc)
    assert storage.get_processed_crash(CRASH_ID) == json.loads(json.dumps(doc))


def test_documents_written_by_json_with_nan_still_read(storage):
    storage.store.put(processed_crash_key(CRASH_ID), b'{"x":NaN,"y":1}')
    stored = storage.get_processed_crash(CRASH_ID)
    assert math.isnan(stored["x"]) and stored["y"] == 1
