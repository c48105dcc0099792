"""The storage key layout of DESIGN.md, shared by every backend.

``v1/raw_crash/YYYYMMDD/<id>``  raw crash JSON, written last: its presence means complete
``v1/dump_names/<id>``          JSON list of dump names
``v1/dump/<id>``                the main ``upload_file_minidump``
``v1/<dump_name>/<id>``         every other dump
``v1/processed_crash/<id>``     processed crash JSON
``v1/pending_publish/<id>``     stored crash the collector could not queue (JSON: queue,
                                reason, time); a periodic job queues it and deletes the key
``v1/received/YYYYMMDDHH/<batch>`` the collector's receipts: ids of crashes it accepted and
                                stored in that UTC hour, one per line, a batch per writer
                                and flush; what the crontabber's ledger counts as received
"""

from __future__ import annotations

import datetime as dt

from crashline.common.crashid import date_from_crash_id

MAIN_DUMP = "upload_file_minidump"
RAW_CRASH_PREFIX = "v1/raw_crash/"
PENDING_PUBLISH_PREFIX = "v1/pending_publish/"
RECEIVED_PREFIX = "v1/received/"


def raw_crash_key(crash_id: str) -> str:
    return f"{RAW_CRASH_PREFIX}{date_from_crash_id(crash_id):%Y%m%d}/{crash_id}"


def raw_crash_day_prefix(day: dt.date) -> str:
    return f"{RAW_CRASH_PREFIX}{day:%Y%m%d}/"


def dump_names_key(crash_id: str) -> str:
    return f"v1/dump_names/{crash_id}"


def dump_key(crash_id: str, dump_name: str) -> str:
    folder = "dump" if dump_name == MAIN_DUMP else dump_name
    return f"v1/{folder}/{crash_id}"


def processed_crash_key(crash_id: str) -> str:
    return f"v1/processed_crash/{crash_id}"


def pending_publish_key(crash_id: str) -> str:
    return f"{PENDING_PUBLISH_PREFIX}{crash_id}"


def received_hour_prefix(hour: dt.datetime) -> str:
    return f"{RECEIVED_PREFIX}{hour.astimezone(dt.UTC):%Y%m%d%H}/"


def received_key(hour: dt.datetime, batch: str) -> str:
    return f"{received_hour_prefix(hour)}{batch}"
