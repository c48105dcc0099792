"""Details of the reference's API that existing clients rely on: format=meta,
VersionString, NoOp (and unknown parameters still answered with 400)."""

from __future__ import annotations

import datetime as dt

import pytest
from web_integration import NOW

from crashline.common.crashid import create_crash_id
from crashline.common.search.documents import search_document
from crashline.webapp.api.versions import version_strings

pytestmark = pytest.mark.integration

WHEN = NOW - dt.timedelta(days=100)  # away from the other suites' windows
BUILDS = {  # (channel, build id): versions seen
    ("beta", 20250101000001): ["130.0b3", "130.0rc1"],
    ("beta", 20250101000002): ["131.0rc1", "131.0rc2"],
    ("release", 20250101000003): ["131.0", "131.0.1"],
}


@pytest.fixture(scope="module")
def builds(web_search):
    touched = set()
    for (channel, build), versions in BUILDS.items():
        for version in versions:
            crash_id = create_crash_id(WHEN)
            index = web_search.namer.for_date(WHEN)
            web_search.index_document(index, crash_id, search_document(crash_id, {
                "uuid": crash_id, "date_processed": WHEN.isoformat(), "product": "Compat",
                "version": version, "release_channel": channel, "build": build}))
            touched.add(index)
    for index in touched:
        web_search.refresh(index)


@pytest.mark.parametrize("channel, build, expected", [
    ("beta", 20250101000001, ["130.0b3"]),           # a beta build: its rc is not listed
    ("beta", 20250101000002, ["131.0rc1", "131.0rc2"]),  # no beta: only its rcs
    ("release", 20250101000003, ["131.0", "131.0.1"]),
    ("release", 20250101000009, []),
])
def test_version_string(client, builds, channel, build, expected):
    response = client.simulate_get("/api/VersionString/", params={
        "product": "Compat", "channel": channel, "build_id": str(build)})
    assert response.status_code == 200, response.text
    assert response.json == {"hits": [{"version_string": v} for v in expected],
                             "total": len(expected)}


def test_version_string_needs_its_parameters(client):
    for params in ({}, {"product": "Compat", "channel": "beta"},
                   {"product": "Compat", "channel": "beta", "build_id": "2025-01-01"},
                   {"product": "Compat", "channel": "beta", "build_id": "1", "x": "y"}):
        response = client.simulate_get("/api/VersionString/", params=params)
        assert response.status_code == 400, params


def test_version_rule_for_betas():
    assert version_strings(["1.0b1", "1.0rc1", "1.0"], "Beta") == ["1.0b1", "1.0"]
    assert version_strings(["1.0rc1", "1.0"], "aurora") == ["1.0rc1"]
    assert version_strings(["1.0rc1", "1.0"], "nightly") == ["1.0rc1", "1.0"]


def test_noop(client):
    assert client.simulate_get("/api/NoOp/").json == {"hits": [], "total": 0}
    assert client.simulate_get("/api/NoOp/", params={"product": "Firefox"}).json == {
        "hits": [], "total": 0}
    bad = client.simulate_get("/api/NoOp/", params={"product": "bad"})
    assert bad.status_code == 400 and "product" in bad.json["errors"]
    unknown = client.simulate_get("/api/NoOp/", params={"whatever": "1"})
    assert unknown.status_code == 400  # the reference drops unknown parameters; we say so


def test_format_meta(client, crashes, tokens):
    crash_id = crashes["oom1"]
    plain = client.simulate_get("/api/ProcessedCrash/", params={"crash_id": crash_id})
    meta = client.simulate_get("/api/ProcessedCrash/",
                               params={"crash_id": crash_id, "format": "meta"})
    assert meta.status_code == 200 and meta.json == plain.json
    raw = client.simulate_get("/api/RawCrash/", params={"crash_id": crash_id, "format": "meta"})
    assert raw.status_code == 200 and raw.json["ProductName"] == "Firefox"
    for path in ("/api/ProcessedCrash/", "/api/RawCrash/"):
        other = client.simulate_get(path, params={"crash_id": crash_id, "format": "xml"})
        assert other.status_code == 400 and "format" in other.json["errors"]
