"""The pure logic of sign-in, CSRF, grants, the documentation and the monitoring snapshot."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import falcon
import falcon.testing
import pytest

from crashline.common.fields import FIELDS
from crashline.webapp.api.crashes import ReprocessingResource
from crashline.webapp.api.pipeline import LedgerResource
from crashline.webapp.api.supersearch import SuperSearchResource
from crashline.webapp.auth import csrf, passwords
from crashline.webapp.auth.principal import Principal
from crashline.webapp.auth.sessions import Cookies, csrf_token_of, id_hash
from crashline.webapp.errors import APIError
from crashline.webapp.monitoring import Heartbeats, crontabber_state, job_summary
from crashline.webapp.openapi import openapi_document
from crashline.webapp.pages.accounts import account_key, safe_next
from crashline.webapp.pages.docs import OPERATOR_LABELS, api_operations, example_search
from crashline.webapp.pages.render import content_security_policy, format_bytes
from crashline.webapp.pages.siteadmin import check_grant

NOW = dt.datetime(2026, 5, 10, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("value, expected", [
    ("/search/?product=x", "/search/?product=x"), ("/", "/"), (None, "/"), ("", "/"),
    ("https://evil.example/", "/"), ("//evil.example/", "/"), ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"), ("/ok\r\nSet-Cookie: x=1", "/"), ("/" + "a" * 3000, "/"),
])
def test_after_sign_in_only_paths_of_this_site(value, expected):
    assert safe_next(value) == expected


def test_account_counters_never_hold_what_was_typed():
    key = account_key("  Alice ")
    assert key == account_key("alice") and "alice" not in key.lower().split(":", 1)[1]
    assert account_key("correct horse battery staple").endswith(
        account_key("Correct Horse Battery Staple").split(":", 1)[1])


def test_session_ids_and_csrf_tokens_are_one_way():
    session_id = "s" * 43
    assert id_hash(session_id) != csrf_token_of(session_id)
    assert session_id not in id_hash(session_id) + csrf_token_of(session_id)
    assert len(id_hash(session_id)) == 64


def test_unknown_users_cost_a_verification_too(monkeypatch):
    calls = []
    real = passwords._verify
    monkeypatch.setattr(passwords, "_verify", lambda h, p: calls.append(h) or real(h, p))
    assert passwords.verify_password(None, "guess") is False
    assert calls == [passwords._DUMMY_HASH]
    with pytest.raises(ValueError, match="at least 10"):
        passwords.check_new_password("short")


# -- CSRF ---------------------------------------------------------------------------------
def request(method="POST", headers=None, cookies=None, session=None) -> falcon.Request:
    headers = {"Host": "crash.example", **(headers or {})}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    req = falcon.testing.create_req(method=method, path="/api/tokens/", headers=headers)
    req.context.session = session
    return req


class FakeSession:
    csrf_token = "session-token"


COOKIES = Cookies(secure=True)


@pytest.mark.parametrize("headers, ok", [
    ({}, True), ({"Origin": "https://crash.example"}, True),
    ({"Origin": "https://evil.example"}, False), ({"Origin": "null"}, False),
    ({"Referer": "https://crash.example/api/tokens/"}, True),
    ({"Referer": "https://crash.example.evil.example/"}, False),
])
def test_same_origin(headers, ok):
    assert csrf.same_origin(request(headers=headers)) is ok


def test_csrf_check():
    signed_in = request(session=FakeSession())
    csrf.check(signed_in, {"csrf_token": ["session-token"]}, COOKIES)
    for form in ({}, {"csrf_token": ["other"]}, {"csrf_token": ["session-token"] * 2}):
        with pytest.raises(APIError) as refused:
            csrf.check(signed_in, form, COOKIES)
        assert refused.value.status == falcon.HTTP_403
    # The sign-in form: the cookie's token, from this site only.
    cookie = {COOKIES.login_csrf: "pre-session"}
    csrf.check(request(cookies=cookie), {"csrf_token": ["pre-session"]}, COOKIES)
    with pytest.raises(APIError):
        csrf.check(request(), {"csrf_token": ["pre-session"]}, COOKIES)
    with pytest.raises(APIError):
        csrf.check(request(cookies=cookie, headers={"Origin": "https://evil.example"}),
                   {"csrf_token": ["pre-session"]}, COOKIES)
    # Safe methods and API-token requests are not forms a browser can forge.
    csrf.check(request(method="GET"), {}, COOKIES)
    csrf.check(request(headers={"Auth-Token": "x"}), {}, COOKIES)


def test_cookie_names_carry_the_host_prefix_only_when_secure():
    assert Cookies(True).session == "__Host-crashline_session"
    assert Cookies(False).session == "crashline_session"


# -- grants -------------------------------------------------------------------------------
ADMIN = Principal(1, "root", frozenset({"admin", "view_pii"}))


def test_grants_are_limited_to_what_the_granter_has():
    assert check_grant(ADMIN, "bob", frozenset({"view_rawdump"}),
                       frozenset({"view_pii"})) == (["view_pii"], ["view_rawdump"])
    with pytest.raises(APIError) as beyond:
        check_grant(ADMIN, "bob", frozenset(), frozenset({"reprocess_crashes"}))
    assert beyond.value.status == falcon.HTTP_403
    assert "cannot grant reprocess_crashes" in beyond.value.message
    with pytest.raises(APIError) as own:
        check_grant(ADMIN, "root", frozenset({"admin", "view_pii"}), frozenset({"view_pii"}))
    assert "own admin" in own.value.message
    with pytest.raises(APIError) as unknown:
        check_grant(ADMIN, "bob", frozenset(), frozenset({"fly"}))
    assert unknown.value.status == falcon.HTTP_400


# -- documentation --------------------------------------------------------------------------
def test_every_operator_has_a_label_and_every_field_an_example_search():
    for fdef in FIELDS:
        assert all(op in OPERATOR_LABELS for op in fdef.operators), fdef.name
        link = urlsplit(example_search(fdef))
        params = parse_qs(link.query)
        assert link.path == "/search/" and fdef.name in params, fdef.name


def test_api_operations_from_the_openapi_document():
    document = openapi_document([LedgerResource(None), SuperSearchResource(None),
                                 ReprocessingResource(None)])
    ops = {op.anchor: op for op in api_operations(document)}
    ledger = ops["Ledger-get"]
    assert [p["name"] for p in ledger.inputs] == ["start", "end", "unbalanced"]
    assert not ledger.more_params and not ledger.permission_needed
    search = ops["SuperSearch-get"]
    assert search.more_params and len(search.params) > 100
    assert {p["name"] for p in search.inputs} <= {"product", "version", "signature", "date",
                                                  "_columns", "_facets", "_results_number"}
    reprocess = ops["Reprocessing-post"]
    assert reprocess.body == "form" and reprocess.permission_needed
    assert [p["name"] for p in reprocess.inputs] == ["crash_ids"]


def test_only_the_api_reference_may_run_a_script():
    assert "script-src 'none'" in content_security_policy()
    policy = content_security_policy("abc")
    assert "script-src 'nonce-abc'" in policy and "connect-src 'self'" in policy
    assert "'none'" in policy and "unsafe" not in policy


@pytest.mark.parametrize("value, text", [(0, "0 B"), (1023, "1,023 B"), (1536, "1.5 KiB"),
                                         (5 * 1024 ** 3, "5.0 GiB"), (None, "")])
def test_format_bytes(value, text):
    assert format_bytes(value) == text


# -- monitoring -----------------------------------------------------------------------------
def job(**changes) -> dict:
    row = {"name": "ledger", "created_at": NOW, "next_run": NOW + dt.timedelta(hours=1),
           "last_run": NOW - dt.timedelta(minutes=5), "last_success": NOW - dt.timedelta(hours=1),
           "error_count": 0, "last_error": None, "last_result": None, "ongoing": None,
           "ongoing_by": None}
    return {**row, **changes}


def test_job_summaries_show_error_details_to_admins_only():
    error = {"type": "KeyError", "value": "secret", "traceback": "Traceback...",
             "at": NOW.isoformat(), "slot": NOW.isoformat()}
    failing = job(error_count=2, last_error=error)
    public, detail = job_summary(failing, False), job_summary(failing, True)
    assert public["status"] == "failing" and public["retry_at"] == public["next_run"]
    assert "value" not in public["last_error"] and "traceback" not in public["last_error"]
    assert detail["last_error"]["value"] == "secret"
    assert job_summary(job(), False)["status"] == "ok"
    assert job_summary(job(ongoing=NOW), False)["status"] == "running"
    assert job_summary(job(last_success=None), False)["status"] == "never_succeeded"


def test_a_quiet_crontabber_is_not_running():
    quiet = dt.timedelta(minutes=15)
    assert crontabber_state([], NOW, quiet)["running"] is False
    recent = [job(last_run=NOW - dt.timedelta(minutes=3))]
    assert crontabber_state(recent, NOW, quiet)["running"] is True
    stale = [job(last_run=NOW - dt.timedelta(hours=2))]
    state = crontabber_state(stale, NOW, quiet)
    assert state["running"] is False and "since 2026-05-10 10:00 UTC" in state["message"]
    # A long job holding its lock counts as activity.
    busy = [job(last_run=NOW - dt.timedelta(hours=2), ongoing=NOW - dt.timedelta(minutes=1))]
    assert crontabber_state(busy, NOW, quiet)["running"] is True


def test_heartbeats_are_fetched_once_per_period():
    fetched = []

    def fetch(url, timeout):
        fetched.append(url)
        return {"ok": url.endswith("up"), "status": 200, "errors": []}

    beats = Heartbeats({"a": "http://a/up", "b": "http://b/down"}, 1, cache_seconds=60,
                       fetch=fetch)
    first = beats.result()
    assert first["a"]["ok"] and not first["b"]["ok"] and first["a"]["url"] == "http://a/up"
    assert beats.result() is first and sorted(fetched) == ["http://a/up", "http://b/down"]
