"""Crashes processed from real stack-walker output (the corpus dumps and a synthetic one,
through the real processor) read back through every endpoint that returns crash data: a
caller without ``view_pii`` sees no protected key at any depth, one with it sees it all."""

from __future__ import annotations

import datetime as dt

import pytest
from harness.crashes import store_crash
from processor_support.minidump import MinidumpSpec, build_minidump, symbol_file
from processor_support.workers import stackwalker_path
from web_integration import headers

from crashline.common.crashid import create_crash_id
from crashline.common.fields import FIELDS, processed_tree
from crashline.common.storage import storage_from_settings

pytestmark = [pytest.mark.integration, pytest.mark.corpus]

UNPRIVILEGED = [None, "bob", "none", "rawdump", "reprocess"]  # no view_pii
# Keys minidump-stackwalk emits that nobody has declared public (hence protected), and the
# protected keys of the processed crash.
UNDECLARED = {"registers", "handles", "proc_limits", "process_uptime",
              "linux_memory_map_count", "thread_id", "adjusted_address", "access_type",
              "instruction_pointer_update"}
PROTECTED_KEYS = {"mdsw_stderr", "mdsw_return_code", "signature_debug", "collector_metadata",
                  "mac_boot_args", "soft_errors", "java_stack_trace_raw"}
SECRETS = ("https://secret.example", "my phone number", "TEAM-SECRET", "user@example.com")
RAW = {"ProductName": "Walked", "Version": "2.0", "URL": "https://secret.example/x",
       "Comments": "my phone number is 555", "MyTeamAnnotation": "TEAM-SECRET",
       "JavaStackTrace": "java.lang.Error: user@example.com\n\tat a.b.C.run(C.java:3)",
       "AbortMessage": "assertion failed"}


# Long before the other suites' crashes, so their counts stay theirs.
WHEN = dt.datetime.now(dt.UTC) - dt.timedelta(days=160)
WINDOW = [f">={(WHEN - dt.timedelta(days=1)).isoformat()}",
          f"<={(WHEN + dt.timedelta(days=1)).isoformat()}"]


@pytest.fixture(scope="module")
def walked(corpus, web_env, web_settings, web_search, database, tmp_path_factory):
    """name -> (crash id, processed crash as stored)."""
    from crashline.processor.app import build_processor
    from crashline.processor.processor import Job, Result
    from crashline.processor.settings import ProcessorSettings

    symbols = tmp_path_factory.mktemp("walked-symbols")
    symbol_file(symbols)
    values = {k.removeprefix("CRASHLINE_").lower(): v for k, v in web_env.items()
              if k.startswith("CRASHLINE_")}
    settings = ProcessorSettings(**values, stackwalker_command=stackwalker_path(),
                                 symbols_dirs=f"{symbols},{corpus / 'symbols'}",
                                 symbols_cache_dir=str(symbols / "cache"),
                                 processor_search_refresh=True)
    processor = build_processor(settings, with_metrics=False).processor
    storage = storage_from_settings(web_settings)
    windows = (corpus / "minidumps" / "windows-x86-test_app.dmp").read_bytes()
    linux = (corpus / "minidumps" / "linux-x86_64-mini.dmp").read_bytes()
    dumps = {
        "windows": {"upload_file_minidump": windows},
        "linux": {"upload_file_minidump": linux},
        "synthetic": {"upload_file_minidump": build_minidump(MinidumpSpec(threads=3, frames=4))},
        "two_dumps": {"upload_file_minidump": windows, "upload_file_minidump_browser": linux},
    }
    crashes = {}
    for name, files in dumps.items():
        crash_id = create_crash_id(WHEN)
        raw = {**RAW, "uuid": crash_id, "submitted_timestamp": WHEN.isoformat()}
        store_crash(storage, crash_id, raw, files)
        outcome = processor.handle(Job(crash_id))
        assert outcome.result is Result.SAVED, outcome.reason
        crashes[name] = (crash_id, storage.get_processed_crash(crash_id))
    return crashes


def keys_anywhere(value: object) -> set[str]:
    found: set[str] = set()
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found |= set(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def undeclared_paths(value: object, node, path: str = "") -> list[str]:
    """Paths of ``value`` the registry's tree does not declare public (independently of the
    redaction code: it only reads the tree)."""
    if isinstance(value, dict):
        bad = []
        for key, item in value.items():
            child = node.child(key) if node is not None else None
            here = f"{path}.{key}".lstrip(".")
            if child is None or not child.visible:
                bad.append(here)
            else:
                bad += undeclared_paths(item, child, here)
        return bad
    if isinstance(value, list):
        items = node.items if node is not None and node.items is not None else node
        return [p for item in value for p in undeclared_paths(item, items, path + "[]")]
    return []


def test_the_walked_crashes_hold_what_must_be_hidden(walked):
    # Otherwise the tests below would prove nothing.
    stored = {name: keys_anywhere(processed) for name, (_, processed) in walked.items()}
    assert all("registers" in keys for keys in stored.values())
    assert all({"mdsw_stderr", "java_stack_trace_raw"} <= keys for keys in stored.values())
    assert "handles" in stored["windows"] and "soft_errors" in stored["linux"]
    assert "upload_file_minidump_browser" in walked["two_dumps"][1]


@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_processed_crash_shows_no_protected_key_at_any_depth(client, walked, tokens, who):
    for name, (crash_id, stored) in walked.items():
        response = client.simulate_get("/api/ProcessedCrash/", params={"crash_id": crash_id},
                                       headers=headers(tokens.get(who) if who else None))
        assert response.status_code == 200, response.text
        doc = response.json
        assert not (keys_anywhere(doc) & (UNDECLARED | PROTECTED_KEYS)), name
        assert undeclared_paths(doc, processed_tree()) == [], name
        assert not [f.name for f in FIELDS if not f.public and f.source_path in doc]
        assert not any(secret in response.text for secret in SECRETS), name
        # ... and still the whole public stack.
        frames = doc["json_dump"]["threads"][0]["frames"]
        assert len(frames) == len(stored["json_dump"]["threads"][0]["frames"])
        assert {"module", "offset", "trust"} <= set(frames[0])
        assert doc["signature"] == stored["signature"]


def test_processed_crash_in_full_with_view_pii(client, walked, tokens):
    for crash_id, stored in walked.values():
        response = client.simulate_get("/api/ProcessedCrash/", params={"crash_id": crash_id},
                                       headers=headers(tokens["pii"]))
        assert response.json == stored


@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_raw_crash_keeps_public_annotations_only(client, walked, tokens, who):
    crash_id, _ = walked["windows"]
    response = client.simulate_get("/api/RawCrash/", params={"crash_id": crash_id},
                                   headers=headers(tokens.get(who) if who else None))
    assert response.json == {"ProductName": "Walked", "Version": "2.0",
                             "AbortMessage": "assertion failed", "uuid": crash_id,
                             "submitted_timestamp": response.json["submitted_timestamp"]}


@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_every_search_column_and_facet(client, walked, tokens, who):
    ids = [crash_id for crash_id, _ in walked.values()]
    public = {f.name for f in FIELDS if f.public}
    columns = [f.name for f in FIELDS if f.returnable]
    facets = [f.name for f in FIELDS if f.facetable]
    seen: dict[str, dict] = {}
    for start in range(0, max(len(columns), len(facets)), 50):  # 100 values per parameter
        response = client.simulate_get("/api/SuperSearch/", headers=headers(
            tokens.get(who) if who else None), params={
            "uuid": ids, "date": WINDOW, "_columns": ["uuid", *columns[start:start + 50]],
            "_facets": facets[start:start + 50] or [""], "_facets_size": 5})
        assert response.status_code == 200, response.text
        result = response.json
        assert {hit["uuid"] for hit in result["hits"]} == set(ids)
        assert all(set(hit) <= public for hit in result["hits"])
        assert set(result["facets"]) <= public
        assert not any(secret in response.text for secret in SECRETS)
        for hit in result["hits"]:
            seen.setdefault(hit["uuid"], {}).update(hit)
    # The public columns came back, filled from the walk.
    assert all(hit["reason"] and hit["cpu_arch"] and hit["signature"] for hit in seen.values())


def test_every_search_column_with_view_pii(client, walked, tokens):
    ids = [crash_id for crash_id, _ in walked.values()]
    result = client.simulate_get("/api/SuperSearchUnredacted/", headers=headers(tokens["pii"]),
                                 params={"uuid": ids, "date": WINDOW,
                                         "_columns": ["uuid", "url",
                                                                   "java_stack_trace_raw"]}).json
    assert {hit["url"] for hit in result["hits"]} == {RAW["URL"]}
    assert all("user@example.com" in hit["java_stack_trace_raw"] for hit in result["hits"])


def test_crash_verify_says_where_not_what(client, walked):
    crash_id, _ = walked["windows"]
    response = client.simulate_get("/api/CrashVerify/", params={"crash_id": crash_id})
    assert response.json == {"uuid": crash_id, "raw_crash": True, "processed_crash": True,
                             "elasticsearch_crash": True}
