"""A processed crash holding every field of the reference's schema, nested ones included,
each protected value marked: no caller without ``view_pii`` sees a marked value, through
ProcessedCrash or any Super Search column."""

from __future__ import annotations

import datetime as dt

import falcon.testing
import pytest
from harness.crashes import store_crash
from harness.reference import is_public, processed_schema, raw_schema, resolve
from web_integration import headers, settings_from_env

from crashline.common.crashid import create_crash_id
from crashline.common.fields import FIELDS
from crashline.common.search.documents import search_document
from crashline.common.storage import storage_from_settings
from crashline.webapp.app import create_app

pytestmark = pytest.mark.integration

UNPRIVILEGED = [None, "none", "rawdump"]
MARK = "PROTECTED:"
# Long before the other suites' crashes, so their counts stay theirs.
WHEN = dt.datetime.now(dt.UTC) - dt.timedelta(days=150)
WINDOW = [f">={(WHEN - dt.timedelta(days=1)).isoformat()}",
          f"<={(WHEN + dt.timedelta(days=1)).isoformat()}"]


def every_field(root: dict) -> dict:
    """A document with a value at every path of the schema: ``PROTECTED:<path>`` where the
    reference protects the value (or anything above it), ``public:<path>`` elsewhere."""

    def value(node: dict, path: str, protected: bool, depth: int) -> object:
        node = resolve(root, node)
        protected = protected or not is_public(node)
        if depth > 12:
            return None
        if node.get("properties") or node.get("pattern_properties"):
            doc = {key: value(child, f"{path}.{key}", protected, depth + 1)
                   for key, child in (node.get("properties") or {}).items()}
            for child in (node.get("pattern_properties") or {}).values():
                doc["somekey"] = value(child, f"{path}.somekey", protected, depth + 1)
            return doc
        if isinstance(node.get("items"), dict):
            return [value(node["items"], f"{path}[]", protected, depth + 1)]
        return f"{MARK if protected else 'public:'}{path.lstrip('.')}"

    return {key: value(node, key, False, 0) for key, node in root["properties"].items()}


@pytest.fixture(scope="module")
def reference_crash(web_settings, web_search):
    now = WHEN
    crash_id = create_crash_id(now)
    doc = every_field(processed_schema())
    doc.update(uuid=crash_id, crash_id=crash_id, date_processed=now.isoformat(),
               completed_datetime=now.isoformat())
    storage = storage_from_settings(web_settings)
    store_crash(storage, crash_id, {"uuid": crash_id}, {})
    storage.put_processed_crash(crash_id, doc)
    index = web_search.namer.for_date(now)
    web_search.index_document(index, crash_id, search_document(crash_id, doc))
    web_search.refresh(index)
    return crash_id, doc


def test_the_document_holds_protected_values(reference_crash):
    _, doc = reference_crash
    text = str(doc)
    for path in ("json_dump.threads[].frames[].registers.somekey", "user_comments",
                 "collector_metadata.somekey", "memory_report.reports[].path",
                 "java_exception.exception.values[].stacktrace.value"):
        assert MARK + path in text


@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_processed_crash_hides_every_protected_value(client, reference_crash, tokens, who):
    crash_id, _ = reference_crash
    response = client.simulate_get("/api/ProcessedCrash/", params={"crash_id": crash_id},
                                   headers=headers(tokens.get(who) if who else None))
    assert response.status_code == 200
    assert MARK not in response.text
    assert "public:json_dump.threads[].frames[].function" in response.text
    full = client.simulate_get("/api/ProcessedCrash/", params={"crash_id": crash_id},
                               headers=headers(tokens["pii"]))
    assert MARK + "json_dump.threads[].frames[].registers.somekey" in full.text


@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_search_columns_hide_every_protected_value(client, reference_crash, tokens, who):
    crash_id, _ = reference_crash
    columns = [f.name for f in FIELDS if f.returnable]
    texts = []
    for start in range(0, len(columns), 90):
        for path in ("/api/SuperSearch/", "/api/SuperSearchUnredacted/"):
            key = tokens["pii"] if path.endswith("Unredacted/") else (
                tokens.get(who) if who else None)
            response = client.simulate_get(path, headers=headers(key), params={
                "uuid": crash_id, "date": WINDOW, "_columns": columns[start:start + 90]})
            assert response.status_code == 200, response.text
            assert response.json["total"] == 1
            texts.append((path, response.text))
    assert not any(MARK in text for path, text in texts if path == "/api/SuperSearch/")
    # The protected values are there, for those who may see them.
    assert any(MARK + "user_comments" in text for path, text in texts
               if path.endswith("Unredacted/"))


@pytest.fixture(scope="module")
def annotated_crash(web_settings):
    """A raw crash with every annotation of the reference's schema, and one of our own."""
    crash_id = create_crash_id(WHEN)
    raw = {name: f"value of {name}" for name in raw_schema()["properties"]}
    raw.update(uuid=crash_id, TeamFlavor="nightly-x", metadata={"collector_notes": []})
    store_crash(storage_from_settings(web_settings), crash_id, raw, {})
    return crash_id, raw


@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_raw_crash_shows_the_references_public_annotations(client, annotated_crash, tokens,
                                                           who):
    crash_id, raw = annotated_crash
    response = client.simulate_get("/api/RawCrash/", params={"crash_id": crash_id},
                                   headers=headers(tokens.get(who) if who else None))
    public = {name for name, node in raw_schema()["properties"].items() if is_public(node)}
    assert set(response.json) == public
    assert client.simulate_get("/api/RawCrash/", params={"crash_id": crash_id},
                               headers=headers(tokens["pii"])).json == raw


def test_a_deployment_names_its_public_annotations(web_env, web_services, annotated_crash,
                                                   tmp_path):
    file = tmp_path / "annotations.toml"
    file.write_text('public = ["TeamFlavor"]\nprotected = ["Notes"]\n')
    settings = settings_from_env(web_env, annotations_file=str(file),
                                 protected_annotations="Vendor")
    client = falcon.testing.TestClient(create_app(settings, web_services))
    crash_id, stored = annotated_crash
    raw = client.simulate_get("/api/RawCrash/", params={"crash_id": crash_id}).json
    assert raw["TeamFlavor"] == "nightly-x" and "ProductName" in raw
    assert not {"Notes", "Vendor", "URL", "metadata"} & set(raw)
    # The data dictionary reads the same policy.
    dictionary = client.simulate_get("/api/DataDictionary/").json["annotations"]
    public = {name for name, entry in dictionary.items() if entry["permission"] == "public"}
    assert public & set(stored) == set(raw)
    assert dictionary["Notes"]["permission"] == "view_pii"
    assert dictionary["ProductName"]["search_fields"] == ["product"]


def test_the_data_dictionary_lists_nested_keys(client):
    processed = client.simulate_get("/api/DataDictionary/").json["processed_crash"]
    assert processed["json_dump.threads[].frames[].registers.*"]["permission"] == "view_pii"
    assert processed["json_dump.threads[].frames[].function"]["permission"] == "public"
    assert processed["os_name"]["search_field"] == "platform"
