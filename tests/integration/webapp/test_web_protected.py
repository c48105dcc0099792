"""No caller without a permission sees what it protects: anonymous, a token whose owner lacks
it, a token whose owner has it but the token does not, and a token with another permission."""

from __future__ import annotations

import pytest
from web_integration import IN_DEFAULT_WINDOW, headers

from crashline.common.fields import FIELDS

pytestmark = pytest.mark.integration

PROTECTED = [f for f in FIELDS if not f.public]
UNPRIVILEGED = [None, "bob", "none", "rawdump", "reprocess"]  # no view_pii
NO_RAWDUMP = [None, "bob", "none", "pii", "reprocess"]


def get(client, path, key=None, **params):
    return client.simulate_get(path, params=params, headers=headers(key))


@pytest.mark.parametrize("who", UNPRIVILEGED)
@pytest.mark.parametrize("field", PROTECTED, ids=lambda f: f.name)
def test_search_drops_protected_fields(client, crashes, tokens, who, field):
    key = tokens.get(who) if who else None
    params = {field.name: "!__null__", "_columns": ["uuid", field.name]}
    params["_facets"] = ["product", field.name] if field.facetable else ["product"]
    response = get(client, "/api/SuperSearch/", key, **params)
    assert response.status_code == 200, response.text
    result = response.json
    assert result["total"] == len(IN_DEFAULT_WINDOW)  # the filter was dropped
    assert all(set(hit) == {"uuid"} for hit in result["hits"])
    assert set(result["facets"]) <= {"product"}
    assert f'"{field.name}"' not in response.text


def test_pii_token_uses_protected_fields(client, crashes, tokens):  # checklist 14
    anonymous = get(client, "/api/SuperSearch/", None, user_comments="~crashed",
                    _columns=["uuid", "user_comments"]).json
    assert anonymous["total"] == len(IN_DEFAULT_WINDOW)
    assert "crashed again" not in str(anonymous)
    for key in ("pii", "full"):
        result = get(client, "/api/SuperSearch/", tokens[key], user_comments="~crashed",
                     _columns=["uuid", "user_comments"], _facets="phc_kind").json
        assert result["hits"] == [{"uuid": crashes["oom1"], "user_comments": "it crashed again"}]
        assert result["facets"]["phc_kind"] == [{"term": "FreedPage", "count": 1}]


@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_unredacted_search_needs_view_pii(client, crashes, tokens, who):  # checklist 15
    response = get(client, "/api/SuperSearchUnredacted/", tokens.get(who) if who else None)
    assert response.status_code == 403
    assert response.json == {"error": "Use of this endpoint requires the 'view_pii' permission"}


def test_unredacted_search_with_view_pii(client, crashes, tokens):
    response = get(client, "/api/SuperSearchUnredacted/", tokens["pii"], url="!__null__",
                   _columns=["uuid", "url"])
    assert response.status_code == 200
    assert {h["url"] for h in response.json["hits"]} == {"https://example.com/a",
                                                         "https://example.org/secret"}


@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_processed_crash_is_redacted(client, crashes, tokens, who):  # checklist 16
    response = get(client, "/api/ProcessedCrash/", tokens.get(who) if who else None,
                   crash_id=crashes["oom1"])
    assert response.status_code == 200
    doc = response.json
    assert doc["signature"] == "OOM | small" and doc["product"] == "Firefox"
    for secret in ("user_comments", "url", "not_in_any_schema", "phc_kind"):
        assert secret not in doc
    assert "mac_boot_args" not in doc["json_dump"]
    assert "secret" not in response.text and "crashed again" not in response.text


def test_processed_crash_in_full_with_view_pii(client, crashes, tokens):
    doc = get(client, "/api/ProcessedCrash/", tokens["pii"], crash_id=crashes["oom1"]).json
    assert doc["user_comments"] == "it crashed again"
    assert doc["not_in_any_schema"] == "private"
    assert doc["json_dump"]["mac_boot_args"] == "-v secret"


@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_raw_crash_annotations_are_redacted(client, crashes, tokens, who):
    response = get(client, "/api/RawCrash/", tokens.get(who) if who else None,
                   crash_id=crashes["oom1"])
    assert response.status_code == 200
    assert response.json == {"ProductName": "Firefox", "Version": "120.0",
                             "uuid": crashes["oom1"]}


def test_raw_crash_annotations_in_full_with_view_pii(client, crashes, tokens):
    raw = get(client, "/api/RawCrash/", tokens["pii"], crash_id=crashes["oom1"]).json
    assert raw["URL"] == "https://example.com/raw-secret" and "metadata" in raw


@pytest.mark.parametrize("who", NO_RAWDUMP)
def test_dump_download_needs_view_rawdump(client, crashes, tokens, who):  # checklist 17
    for name in ("upload_file_minidump", "memory_report"):
        response = get(client, "/api/RawCrash/", tokens.get(who) if who else None,
                       crash_id=crashes["oom1"], format="raw", name=name)
        assert response.status_code == 403
        assert response.json == {
            "error": "Use of this endpoint requires the 'view_rawdump' permission"}


def test_dump_download_with_view_rawdump(client, crashes, tokens):
    response = get(client, "/api/RawCrash/", tokens["rawdump"], crash_id=crashes["oom1"],
                   format="raw")
    assert response.status_code == 200
    assert response.content == b"MDMPoom1"
    assert response.headers["content-type"] == "application/octet-stream"
    assert f'filename="{crashes["oom1"]}.dmp"' in response.headers["content-disposition"]
    other = get(client, "/api/RawCrash/", tokens["rawdump"], crash_id=crashes["oom1"],
                format="raw", name="memory_report")
    assert other.content == b"\x1f\x8bgz"
    assert f"{crashes['oom1']}-memory_report.json.gz" in other.headers["content-disposition"]
    missing = get(client, "/api/RawCrash/", tokens["rawdump"], crash_id=crashes["oom1"],
                  format="raw", name="nosuchdump")
    assert missing.status_code == 404


@pytest.mark.parametrize("who", [None, "bob", "none", "pii", "rawdump"])
def test_reprocessing_needs_reprocess_crashes(client, crashes, tokens, who):  # checklist 19
    response = client.simulate_post("/api/Reprocessing/", params={"crash_ids": crashes["oom1"]},
                                     headers=headers(tokens.get(who) if who else None))
    assert response.status_code == 403
    assert "reprocess_crashes" in response.json["error"]
