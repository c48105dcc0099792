"""Webapp integration fixtures: the app over the real PostgreSQL, OpenSearch, RabbitMQ and
crash storage, with crashes indexed by the processor's own document code."""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
import uuid
from pathlib import Path

import falcon.testing
import pytest
from harness.crashes import store_crash
from harness.services import ServiceProcess, free_port

from crashline.common.crashid import create_crash_id
from crashline.common.search import search_from_settings
from crashline.common.search.documents import search_document
from crashline.common.storage import storage_from_settings
from crashline.webapp.app import create_app
from crashline.webapp.auth.store import AccountStore
from crashline.webapp.services import Services
from crashline.webapp.settings import WebappSettings

NOW = dt.datetime.now(dt.UTC)
SUFFIX = uuid.uuid4().hex[:8]
ALL_PERMISSIONS = ["view_pii", "view_rawdump", "reprocess_crashes"]


def webapp_env(crashline_env: dict[str, str]) -> dict[str, str]:
    env = dict(crashline_env)
    # Our own indices, so other suites indexing in this session cannot change our counts.
    env["CRASHLINE_SEARCH_INDEX_TEMPLATE"] = env["CRASHLINE_SEARCH_INDEX_TEMPLATE"].replace(
        "-%Y%W", "-webapp-%Y%W")
    for limit in ("RATE_LIMIT_ANONYMOUS", "RATE_LIMIT_AUTHENTICATED", "RATE_LIMIT_SEARCH_ANONYMOUS",
                  "RATE_LIMIT_SEARCH_AUTHENTICATED"):
        env[f"CRASHLINE_WEBAPP_{limit}"] = "0"
    env["CRASHLINE_WEBAPP_INDEX_CACHE_SECONDS"] = "0"
    return env


def settings_from_env(env: dict[str, str], **overrides) -> WebappSettings:
    values = {k.removeprefix("CRASHLINE_").lower(): v for k, v in env.items()
              if k.startswith("CRASHLINE_")}
    values.update(overrides)
    return WebappSettings(**values)


@pytest.fixture(scope="session")
def web_env(crashline_env) -> dict[str, str]:
    return webapp_env(crashline_env)


@pytest.fixture(scope="session")
def web_settings(web_env) -> WebappSettings:
    return settings_from_env(web_env)


@pytest.fixture(scope="session")
def web_search(web_settings, search_backend):
    backend = search_from_settings(web_settings)
    yield backend
    for name in backend.existing_indices():
        backend.delete_index(name)


@pytest.fixture(scope="session")
def web_services(web_settings, database, web_search, rabbitmq_client) -> Services:
    return Services(web_settings, db=database, search=web_search)


@pytest.fixture(scope="session")
def client(web_settings, web_services) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(create_app(web_settings, web_services))


def drain(rabbitmq_client, queue: str) -> list[str]:
    """The bodies waiting in ``queue``, taken off it."""
    bodies = []
    while (message := rabbitmq_client.get(queue)) is not None:
        rabbitmq_client.ack(message)
        bodies.append(message.body)
    return bodies


# -- crashes ------------------------------------------------------------------------------
def processed_crash(crash_id: str, when: dt.datetime, **fields) -> dict:
    doc = {
        "uuid": crash_id, "crash_id": crash_id, "date_processed": when.isoformat(),
        "completed_datetime": when.isoformat(), "success": True,
        "json_dump": {"status": "OK", "threads": [], "mac_boot_args": "-v secret",
                      "system_info": {"os": fields.get("os_name", "Linux")}},
        "not_in_any_schema": "private",
    }
    doc.update(fields)
    return doc


# name: (hours ago, fields)
CRASHES = {
    "oom1": (1, dict(signature="OOM | small", product="Firefox", version="120.0",
                     os_name="Windows NT", build=20240101000000, uptime=10, install_time=1000,
                     address="0x0", user_comments="it crashed again",
                     url="https://example.com/a", is_garbage_collecting=True,
                     startup_crash=True, cpu_arch="x86", phc_kind="FreedPage")),
    "oom2": (2, dict(signature="OOM | small", product="Firefox", version="120.0b3",
                     os_name="Windows NT", build=20240102000000, uptime=100, install_time=1000,
                     address="0x0", is_garbage_collecting=False, startup_crash=False,
                     cpu_arch="amd64")),
    "oom3": (5, dict(signature="OOM | large", product="Firefox", version="120.0b5",
                     os_name="Linux", build=20240103000000, uptime=1000, install_time=2000,
                     user_comments="lost my tabs", cpu_arch="amd64")),
    "dom1": (30, dict(signature="mozilla::dom::Foo::Bar", product="Fennec", version="119.0",
                      os_name="Android", build=20231201000000, uptime=5, install_time=3000,
                      address="0xdeadbeef", android_cpu_abi="armeabi-v7a",
                      android_manufacturer="Samsung", android_model="SM-G900",
                      cpu_arch="arm")),
    "dom2": (50, dict(signature="mozilla::dom::Foo::Baz", product="Fennec", version="119.0",
                      os_name="Android", build=20231202000000, uptime=50, install_time=3000,
                      address="0xdeadbeef", android_cpu_abi="arm64-v8a",
                      android_manufacturer="Google", android_model="Pixel 7",
                      cpu_arch="arm64")),
    "gc": (70, dict(signature="js::GCMarker::markStack", product="Thunderbird",
                    version="115.5.0", os_name="Mac OS X", build=20231115000000, uptime=3600,
                    install_time=4000, address="0x8", cpu_arch="arm64",
                    url="https://example.org/secret")),
    "old": (24 * 10, dict(signature="OldCrash", product="Firefox", version="118.0",
                          os_name="Windows NT", build=20231001000000, uptime=7,
                          install_time=5000, address="0x1", cpu_arch="x86")),
}
IN_DEFAULT_WINDOW = [name for name, (hours, _) in CRASHES.items() if hours < 24 * 7]


@pytest.fixture(scope="session")
def crashes(web_settings, web_search):
    """name -> crash id; each crash indexed, stored raw (with dumps) and processed."""
    storage = storage_from_settings(web_settings)
    ids: dict[str, str] = {}
    touched: set[str] = set()
    for name, (hours, fields) in CRASHES.items():
        when = NOW - dt.timedelta(hours=hours)
        crash_id = create_crash_id(when)
        ids[name] = crash_id
        processed = processed_crash(crash_id, when, **fields)
        index = web_search.namer.for_date(when)
        web_search.index_document(index, crash_id, search_document(crash_id, processed))
        touched.add(index)
        raw = {"ProductName": fields["product"], "Version": fields["version"],
               "URL": "https://example.com/raw-secret", "Comments": "raw comment",
               "metadata": {"collector_notes": []}, "uuid": crash_id}
        store_crash(storage, crash_id, raw, {"upload_file_minidump": b"MDMP" + name.encode(),
                                               "memory_report": b"\x1f\x8bgz"})
        storage.put_processed_crash(crash_id, processed)
    # A crash the processor has not got to yet: raw only.
    pending = create_crash_id(NOW)
    store_crash(storage, pending, {"ProductName": "Firefox"}, {"upload_file_minidump": b"M"})
    ids["pending"] = pending
    for index in touched:
        web_search.refresh(index)
    return ids


# -- accounts -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def accounts(database) -> AccountStore:
    return AccountStore(database)


@pytest.fixture(scope="session")
def tokens(accounts) -> dict[str, str]:
    """Keys of API tokens: full (all permissions), pii, rawdump, reprocess (one each),
    none (owner has all, token none), bob (owner has none), expired, inactive."""
    alice, bob, carol = (f"{n}-{SUFFIX}" for n in ("alice", "bob", "carol"))
    accounts.create_user(alice, "alice-password", permissions=ALL_PERMISSIONS)
    accounts.create_user(bob, "bob-password")
    accounts.create_user(carol, None, permissions=["view_pii"])
    keys = {
        "full": accounts.create_token(alice, ALL_PERMISSIONS)[0],
        "pii": accounts.create_token(alice, ["view_pii"])[0],
        "rawdump": accounts.create_token(alice, ["view_rawdump"])[0],
        "reprocess": accounts.create_token(alice, ["reprocess_crashes"])[0],
        "none": accounts.create_token(alice, [])[0],
        "bob": accounts.create_token(bob, [])[0],
        "expired": accounts.create_token(alice, ["view_pii"], days=1,
                                         now=NOW - dt.timedelta(days=2))[0],
        "inactive": accounts.create_token(carol, ["view_pii"])[0],
    }
    accounts.set_active(carol, False)
    keys["_alice"], keys["_bob"] = alice, bob
    return keys


def headers(key: str | None) -> dict[str, str]:
    return {"Auth-Token": key} if key else {}


# -- the real server ----------------------------------------------------------------------
@contextlib.contextmanager
def running_webapp(env: dict[str, str]):
    """``crashline-webapp`` (gunicorn) on a free port with ``env``; yields its base URL."""
    port = free_port(range(18080, 18100))
    with tempfile.TemporaryDirectory(prefix="crashline-webapp-") as logs:
        # inherit_env: the caller's own CRASHLINE_* variables reach the webapp too
        webapp = ServiceProcess(
            "crashline-webapp", {**env, "CRASHLINE_WEBAPP_BIND": f"127.0.0.1:{port}"}, port,
            Path(logs) / "webapp.log", inherit_env=True)
        try:
            yield webapp.wait_ready(60).url
        finally:
            webapp.stop(15)
