"""A collector process storing to S3: its gevent workers patch ssl before boto3 is imported
(the master never imports it), and a crash sent over HTTP lands in the bucket."""

from __future__ import annotations

import pytest
import requests

from crashline.collector.client import build_request
from crashline.common.settings import CommonSettings
from crashline.common.storage import storage_from_settings

pytestmark = pytest.mark.e2e


def test_collector_with_s3_storage(collector_env, spawn_collector, tmp_path):
    env = {**collector_env, "CRASHLINE_STORAGE_BACKEND": "s3"}
    process, url = spawn_collector(env, tmp_path / "collector.log")
    body, headers = build_request({"ProductName": "Firefox", "Version": "1"},
                                  {"upload_file_minidump": b"MDMP s3"})
    response = requests.post(f"{url}/submit", data=body, headers=headers, timeout=30)
    assert response.status_code == 200 and response.text.startswith("CrashID=bp-"), response.text
    crash_id = response.text.strip().removeprefix("CrashID=bp-")
    storage = storage_from_settings(CommonSettings(**{
        k.removeprefix("CRASHLINE_").lower(): v for k, v in env.items()
        if k.startswith("CRASHLINE_") and not k.startswith("CRASHLINE_COLLECTOR_")}))
    assert storage.get_dump(crash_id) == b"MDMP s3"
    assert storage.get_raw_crash(crash_id)["ProductName"] == "Firefox"
    assert (tmp_path / "collector.log").read_text().count("RecursionError") == 0
