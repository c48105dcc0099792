"""Crash, signature, bug and product endpoints, and the API conventions."""

from __future__ import annotations

import datetime as dt
import json

import falcon.testing
import pytest
from web_integration import drain, headers, settings_from_env

from crashline.common.crashid import create_crash_id
from crashline.webapp.app import create_app

pytestmark = pytest.mark.integration


def test_unknown_service_and_pretty_print(client):  # checklist 25
    response = client.simulate_get("/api/Nope/")
    assert response.status_code == 404
    assert response.json == {"error": "No service called 'Nope'"}
    pretty = client.simulate_get("/api/SuperSearchFields/", params={"pretty": "print"})
    assert pretty.text.startswith("{\n  ")
    assert json.loads(pretty.text) == client.simulate_get("/api/SuperSearchFields/").json


def test_api_conventions(client):
    assert client.simulate_get("/api/SuperSearchFields").status_code == 200  # no slash
    response = client.simulate_get("/api/SuperSearchFields/")
    assert response.headers["access-control-allow-origin"] == "*"
    wrong = client.simulate_post("/api/SuperSearch/")
    assert wrong.status_code == 405 and "error" in wrong.json
    assert client.simulate_get("/api/SuperSearchFields/", params={"x": "1"}).json == {
        "error": "Bad request: x: unknown parameter", "errors": {"x": ["unknown parameter"]}}
    doc = client.simulate_get("/api/openapi.json").json
    assert "/api/SuperSearch/" in doc["paths"] and "/api/Reprocessing/" in doc["paths"]
    assert client.simulate_get("/__lbheartbeat__").status_code == 200


def test_processed_crash_errors(client, crashes):
    assert client.simulate_get("/api/ProcessedCrash/").status_code == 400
    bad = client.simulate_get("/api/ProcessedCrash/", params={"crash_id": "nope"})
    assert bad.status_code == 400 and "crash_id" in bad.json["errors"]
    bad_date = client.simulate_get("/api/ProcessedCrash/", params={
        "crash_id": "de1bb258-cbbf-4589-a673-34f800999999"})
    assert bad_date.status_code == 400
    unknown = client.simulate_get("/api/ProcessedCrash/", params={"crash_id": create_crash_id()})
    assert unknown.status_code == 404 and "not found" in unknown.json["error"]
    prefixed = client.simulate_get("/api/ProcessedCrash/",
                                   params={"crash_id": "bp-" + crashes["oom2"]})
    assert prefixed.status_code == 200 and prefixed.json["uuid"] == crashes["oom2"]
    assert "no-store" in prefixed.headers["cache-control"]


def test_unprocessed_crash_is_queued_once_a_minute(client, crashes, web_services,
                                                   rabbitmq_client):  # checklist 30
    queue = web_services.queues.priority
    drain(rabbitmq_client, queue)
    for _ in range(3):
        response = client.simulate_get("/api/ProcessedCrash/",
                                       params={"crash_id": crashes["pending"]})
        assert response.status_code == 404
        assert response.json["pending"] is True
    assert drain(rabbitmq_client, queue) == [crashes["pending"]]
    # A minute later it may be queued again.
    with web_services.db.transaction() as cur:
        cur.execute("UPDATE priority_requests SET requested_at = now() - interval '61 seconds' "
                    "WHERE crash_id = %s", (crashes["pending"],))
    client.simulate_get("/api/ProcessedCrash/", params={"crash_id": crashes["pending"]})
    assert drain(rabbitmq_client, queue) == [crashes["pending"]]


def test_raw_crash_errors(client, crashes, tokens):  # checklist 18
    response = client.simulate_get("/api/RawCrash/", params={"crash_id": crashes["oom1"],
                                                             "format": "xml"})
    assert response.status_code == 400 and "format" in response.json["errors"]
    unknown = client.simulate_get("/api/RawCrash/", params={"crash_id": create_crash_id()})
    assert unknown.status_code == 404 and unknown.json["error"]
    raw_unknown = client.simulate_get("/api/RawCrash/", params={
        "crash_id": create_crash_id(), "format": "raw"}, headers=headers(tokens["rawdump"]))
    assert raw_unknown.status_code == 404


def test_reprocessing(client, crashes, tokens, web_services, rabbitmq_client):  # checklist 19
    queue = web_services.queues.reprocessing
    drain(rabbitmq_client, queue)
    auth = headers(tokens["reprocess"])
    assert client.simulate_get("/api/Reprocessing/", headers=auth).status_code == 405
    response = client.simulate_post("/api/Reprocessing/", headers=auth, params={
        "crash_ids": [crashes["oom1"], f"{crashes['oom2']}:regenerate_signature"]})
    assert response.status_code == 200, response.text
    assert response.json["result"] is True
    assert drain(rabbitmq_client, queue) == [crashes["oom1"],
                                            f"{crashes['oom2']}:regenerate_signature"]
    form = client.simulate_post("/api/Reprocessing/", headers=auth,
                                body=f"crash_ids={crashes['dom1']}:default",
                                content_type="application/x-www-form-urlencoded")
    assert form.status_code == 200, form.text
    assert drain(rabbitmq_client, queue) == [f"{crashes['dom1']}:default"]
    bogus = client.simulate_post("/api/Reprocessing/", headers=auth,
                                 params={"crash_ids": f"{crashes['oom1']}:bogus"})
    assert bogus.status_code == 400 and "crash_ids" in bogus.json["errors"]
    missing = client.simulate_post("/api/Reprocessing/", headers=auth,
                                   params={"crash_ids": create_crash_id()})
    assert missing.status_code == 404
    assert client.simulate_post("/api/Reprocessing/", headers=auth).status_code == 400
    assert drain(rabbitmq_client, queue) == []


def test_crash_verify(client, crashes):
    found = client.simulate_get("/api/CrashVerify/", params={"crash_id": crashes["oom1"]}).json
    assert found == {"uuid": crashes["oom1"], "raw_crash": True, "processed_crash": True,
                     "elasticsearch_crash": True}
    pending = client.simulate_get("/api/CrashVerify/",
                                  params={"crash_id": crashes["pending"]}).json
    assert (pending["raw_crash"], pending["processed_crash"],
            pending["elasticsearch_crash"]) == (True, False, False)


def test_crash_signature(client):
    job = {"os": "Windows NT", "crashing_thread": 0, "threads": [{"frames": [
        {"frame": 0, "function": "KiFastSystemCallRet", "module": "ntdll.dll"},
        {"frame": 1, "function": "nsAppShell::Run()", "module": "xul.dll"},
    ]}]}
    response = client.simulate_post("/api/CrashSignature/", json={"jobs": [job, {}]})
    assert response.status_code == 200, response.text
    results = response.json["results"]
    assert len(results) == 2
    assert "nsAppShell::Run" in results[0]["signature"]
    assert set(results[0]) == {"signature", "notes", "extra"}
    assert client.simulate_post("/api/CrashSignature/", json={"jobs": []}).status_code == 400
    assert client.simulate_post("/api/CrashSignature/", json=[]).status_code == 400
    assert client.simulate_post("/api/CrashSignature/", body="{nope",
                                content_type="application/json").status_code == 400


@pytest.fixture
def bugs_and_signatures(web_services):
    with web_services.db.transaction() as cur:
        cur.execute("DELETE FROM bug_associations WHERE bug_id IN (9000001, 9000002)")
        cur.execute("INSERT INTO bug_associations (bug_id, signature) VALUES "
                    "(9000001, 'websig-a'), (9000001, 'websig-b'), (9000002, 'websig-c')")
        cur.execute("INSERT INTO signatures (signature, first_date, first_build) VALUES "
                    "('websig-a', '2024-01-02T03:04:05Z', 20240101000000) "
                    "ON CONFLICT (signature) DO NOTHING")
    yield
    with web_services.db.transaction() as cur:
        cur.execute("DELETE FROM bug_associations WHERE bug_id IN (9000001, 9000002)")
        cur.execute("DELETE FROM signatures WHERE signature = 'websig-a'")


def test_bugs_include_sibling_signatures(client, bugs_and_signatures):  # checklist 20
    expected = {"hits": [{"id": 9000001, "signature": "websig-a"},
                         {"id": 9000001, "signature": "websig-b"}], "total": 2}
    assert client.simulate_get("/api/Bugs/", params={"signatures": "websig-a"}).json == expected
    assert client.simulate_post("/api/Bugs/", body="signatures=websig-b",
                                content_type="application/x-www-form-urlencoded").json == expected
    assert client.simulate_get("/api/Bugs/").status_code == 400


def test_signatures_by_bugs(client, bugs_and_signatures):  # checklist 21
    result = client.simulate_get("/api/SignaturesByBugs/",
                                 params={"bug_ids": ["9000002", "9000001"]}).json
    assert result["total"] == 3
    bad = client.simulate_get("/api/SignaturesByBugs/", params={"bug_ids": "12a"})
    assert bad.status_code == 400 and "bug_ids" in bad.json["errors"]


def test_signature_first_date(client, bugs_and_signatures):  # checklist 22
    result = client.simulate_get("/api/SignatureFirstDate/",
                                 params={"signatures": ["websig-a", "websig-none"]}).json
    assert result == {"hits": [{"signature": "websig-a",
                                "first_date": "2024-01-02T03:04:05+00:00",
                                "first_build": "20240101000000"}], "total": 1}
    assert dt.datetime.fromisoformat(result["hits"][0]["first_date"])


def test_product_versions(client, web_services):
    with web_services.db.transaction() as cur:
        cur.execute("INSERT INTO products (name) VALUES ('WebTestProduct') "
                    "ON CONFLICT DO NOTHING")
        cur.execute("INSERT INTO product_versions VALUES ('WebTestProduct', '2.0', 'beta', "
                    "now() - interval '3 days', now()), ('WebTestProduct', '1.0', 'release', "
                    "now() - interval '300 days', now() - interval '200 days') "
                    "ON CONFLICT DO NOTHING")
    try:
        result = client.simulate_get("/api/ProductVersions/",
                                     params={"product": "WebTestProduct"}).json
        assert [h["version"] for h in result["hits"]] == ["2.0", "1.0"]
        recent = client.simulate_get("/api/ProductVersions/", params={
            "product": "WebTestProduct", "active_days": "30"}).json
        assert [h["version"] for h in recent["hits"]] == ["2.0"]
        products = client.simulate_get("/api/Products/").json
        assert "WebTestProduct" in {h["product"] for h in products["hits"]}
    finally:
        with web_services.db.transaction() as cur:
            cur.execute("DELETE FROM product_versions WHERE product = 'WebTestProduct'")
            cur.execute("DELETE FROM products WHERE name = 'WebTestProduct'")


@pytest.fixture(scope="module")
def cors_client(web_env, web_services):
    settings = settings_from_env(web_env, webapp_cors_token_origins="https://crash.example")
    return falcon.testing.TestClient(create_app(settings, web_services))


def test_nosniff_everywhere(client, tokens):
    for path, key in (("/api/SuperSearchFields/", None), ("/api/Nope/", None),
                      ("/api/SuperSearch/", "expired"), ("/__heartbeat__", None),
                      ("/api/ProcessedCrash/", "pii")):
        response = client.simulate_get(path, headers=headers(tokens.get(key)))
        assert response.headers["x-content-type-options"] == "nosniff", path


def test_cors_for_public_and_token_answers(cors_client, crashes, tokens):
    origin = {"Origin": "https://elsewhere.example"}
    anonymous = cors_client.simulate_get("/api/SuperSearch/", headers=origin)
    assert anonymous.headers["access-control-allow-origin"] == "*"
    # What a token unlocks is not readable by another site's pages, nor kept by caches.
    with_token = cors_client.simulate_get("/api/SuperSearch/", headers={
        **origin, "Auth-Token": tokens["pii"]})
    assert with_token.status_code == 200
    assert "access-control-allow-origin" not in with_token.headers
    assert with_token.headers["cache-control"] == "private, no-store"
    assert "Auth-Token" in with_token.headers["vary"]
    trusted = cors_client.simulate_get("/api/SuperSearch/", headers={
        "Origin": "https://crash.example", "Auth-Token": tokens["pii"]})
    assert trusted.headers["access-control-allow-origin"] == "https://crash.example"
    assert "Origin" in trusted.headers["vary"]
    # Preflights tell browsers whether a token may be sent at all.
    preflight = {"Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "auth-token"}
    untrusted = cors_client.simulate_options("/api/SuperSearch/", headers={**preflight, **origin})
    assert "Auth-Token" not in untrusted.headers["access-control-allow-headers"]
    ok = cors_client.simulate_options("/api/SuperSearch/", headers={
        **preflight, "Origin": "https://crash.example"})
    assert ok.headers["access-control-allow-origin"] == "https://crash.example"
    assert "Auth-Token" in ok.headers["access-control-allow-headers"]
