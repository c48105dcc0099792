"""Hostile request bodies and parameters: each gets a clear 4xx, never a 500."""

from __future__ import annotations

import pytest
from web_integration import headers

pytestmark = pytest.mark.integration

DEEP = 100_000  # far deeper than json's recursion limit


def deep_list(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("path, body", [
    ("/api/CrashSignature/", '{"jobs": [' + deep_list(DEEP) + "]}"),
    ("/api/CrashSignature/", '{"jobs": [{"threads": ' + deep_list(80) + "}]}"),
    ("/api/Bugs/", '{"signatures": ' + deep_list(DEEP) + "}"),
    ("/api/Reprocessing/", '{"crash_ids": ' + deep_list(DEEP) + "}"),
])
def test_deeply_nested_json_bodies_are_refused(client, tokens, path, body):
    response = client.simulate_post(path, body=body, headers={
        **headers(tokens["full"]), "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert "nested more than 64 levels" in response.json["error"]


def test_json_balloons_are_refused_before_they_are_built(client):
    balloon = '{"jobs": [' + "[]," * 3_000_000 + "[]]}"  # 9 MB: 3 million lists
    response = client.simulate_post("/api/CrashSignature/", body=balloon,
                                     headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "more than 500000 values" in response.json["error"]


# Invalid, too big, too complex to determinize, a dangling escape.
@pytest.mark.parametrize("regex", ["[", "a{1,99999}", "[ac]*a[ac]{50,200}", ".*a.{0,300}", "\\"])
def test_refused_regexes_get_our_message_not_the_engines(client, crashes, web_search, regex):
    response = client.simulate_get("/api/SuperSearch/", params={"signature": "@" + regex})
    assert response.status_code == 400, response.text
    assert response.json["errors"] == {"signature": [
        "the search engine refused this regular expression (invalid, or too complex); "
        "it uses Lucene syntax and must match the whole value"]}
    text = response.text.lower()
    for leak in ("exception", "shard", "index", "uuid", "crashline-", "caused"):
        assert leak not in text
