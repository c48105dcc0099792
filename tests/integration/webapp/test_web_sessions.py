"""Signing in, sessions, CSRF, tokens and the admin pages over the real PostgreSQL (each test
module's webapp in a schema of its own)."""

from __future__ import annotations

import re

import pytest
from site_client import PASSWORD, Browser, site_app, unique
from web_integration import drain, settings_from_env

from crashline.webapp.auth.sessions import id_hash

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def site(web_env, web_search, make_schema):
    url = make_schema()
    settings = settings_from_env({**web_env, "CRASHLINE_DATABASE_URL": url},
                                 webapp_trust_x_real_ip=True,
                                 webapp_login_rate_limit_account=4,
                                 webapp_login_rate_limit_client=8,
                                 webapp_rate_limit_search_anonymous=3,
                                 webapp_rate_limit_window=3600)  # no window edge mid-test
    client, accounts, db = site_app(settings, web_search, url)
    yield client, accounts, db
    db.close()


@pytest.fixture
def browser(site):
    return Browser(site[0])


@pytest.fixture
def user(site):
    name = unique("user")
    site[1].create_user(name, PASSWORD, permissions=["view_pii"])
    return name


@pytest.fixture
def admin(site):
    name = unique("admin")
    site[1].create_user(name, PASSWORD, permissions=["admin", "view_pii", "view_rawdump"])
    return name


def audit(db, action: str) -> list[dict]:
    return db.fetch_all("SELECT actor, action, target, details FROM audit_log "
                        "WHERE action = %s ORDER BY id", (action,))


# -- signing in ---------------------------------------------------------------------------
def test_sign_in_sets_a_secure_server_side_session(site, browser, user):
    _, _, db = site
    response = browser.sign_in(user)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.cookies["__Host-crashline_session"]
    assert cookie.secure and cookie.http_only and cookie.same_site == "Lax"
    assert cookie.path == "/" and cookie.domain is None
    # Only the hash is stored: the cookie's value is nowhere in the table.
    rows = db.fetch_all("SELECT id_hash FROM web_sessions")
    assert {r["id_hash"] for r in rows} >= {id_hash(cookie.value)}
    assert all(cookie.value not in r["id_hash"] for r in rows)
    profile = browser.get("/profile/")
    assert profile.status_code == 200 and f"<h1>{user}</h1>" in profile.text
    assert "public and protected data" in profile.text  # view_pii, through the session


def test_a_failed_sign_in_says_the_same_whether_the_user_exists_or_not(site, user):
    def attempt(username: str, password: str):
        b = Browser(site[0])
        response = b.post("/login/", {"username": username, "password": password},
                          token=b.csrf("/login/"))
        return response.status_code, re.sub(r'value="[^"]*"', "", response.text)

    wrong_password = attempt(user, "not the password")
    unknown_user = attempt(unique("nobody"), "not the password")
    assert wrong_password[0] == unknown_user[0] == 400
    assert "Wrong username or password." in wrong_password[1]
    assert wrong_password[1] == unknown_user[1]
    site[1].set_active(user, False)
    assert attempt(user, PASSWORD)[1] == unknown_user[1]


def test_sign_in_attempts_are_limited_per_account_and_per_client(site, user):
    def attempt(username: str, b: Browser | None = None, password: str = "guess") -> int:
        b = b or Browser(site[0])  # a new address each time unless given
        return b.post("/login/", {"username": username, "password": password},
                      token=b.csrf("/login/")).status_code

    # Per account (4 per window), from many addresses, existing or not.
    for name in (user, unique("ghost")):
        assert [attempt(name) for _ in range(5)] == [400] * 4 + [429]
    # The right password does not get through either once the account's limit is used.
    assert attempt(user, password=PASSWORD) == 429
    # Per client (8 per window), whatever names it tries.
    one = Browser(site[0])
    assert [attempt(unique("name"), one) for _ in range(9)] == [400] * 8 + [429]


def test_next_never_leaves_the_site(site, browser, user):
    token = browser.csrf("/login/")
    response = browser.post("/login/", {"username": user, "password": PASSWORD,
                                        "next": "//evil.example/x"}, token=token)
    assert response.headers["location"] == "/"
    browser.cookies.clear()
    token = browser.csrf("/login/")
    response = browser.post("/login/", {"username": user, "password": PASSWORD,
                                        "next": "/search/?product=x"}, token=token)
    assert response.headers["location"] == "/search/?product=x"


# -- CSRF -----------------------------------------------------------------------------------
def test_forms_refuse_requests_from_other_sites(site, browser, user):
    # The sign-in form: no token, a token without its cookie, another site's Origin.
    assert browser.post("/login/", {"username": user, "password": PASSWORD},
                        with_token=False).status_code == 403
    assert Browser(site[0]).post("/login/", {"username": user, "password": PASSWORD},
                                 token="made-up").status_code == 403
    token = browser.csrf("/login/")
    evil = Browser(site[0], origin="https://evil.example")
    evil.cookies = dict(browser.cookies)
    assert evil.post("/login/", {"username": user, "password": PASSWORD},
                     token=token).status_code == 403

    # Signed in: a form needs the session's token, from this site.
    assert browser.sign_in(user).status_code == 303
    create = {"days": "5", "notes": "forged"}
    assert browser.post("/api/tokens/", create, with_token=False).status_code == 403
    assert browser.post("/api/tokens/", create, token="0" * 64).status_code == 403
    evil.cookies = dict(browser.cookies)
    refused = evil.post("/api/tokens/", create, token=browser.csrf("/api/tokens/"))
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert site[1].list_tokens(user) == []
    assert browser.post("/api/tokens/", create).status_code == 200
    assert len(site[1].list_tokens(user)) == 1


def test_the_crash_page_reprocess_form_needs_the_session_token(site, crashes, rabbitmq_client):
    client, accounts, _ = site
    queue = rabbitmq_client.names.reprocessing
    drain(rabbitmq_client, queue)
    name = unique("remy")
    accounts.create_user(name, PASSWORD, permissions=["reprocess_crashes"])
    b = Browser(client)
    b.sign_in(name)
    path = f"/report/reprocess/{crashes['oom1']}"
    token = b.csrf(f"/report/index/{crashes['oom1']}")  # the report page's own form
    evil = Browser(client, origin="https://evil.example")
    evil.cookies = dict(b.cookies)
    for refused in (b.post(path, {}, with_token=False), b.post(path, {}, token="0" * 64),
                    evil.post(path, {}, token=token)):
        assert refused.status_code == 403 and "CSRF" in refused.text
    assert drain(rabbitmq_client, queue) == []
    done = b.post(path, {}, token=token)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/report/index/{crashes['oom1']}?reprocessed=1"
    assert drain(rabbitmq_client, queue) == [crashes["oom1"]]


# -- sessions end at once -------------------------------------------------------------------
def test_sign_out_ends_the_session(site, browser, user):
    browser.sign_in(user)
    stolen = dict(browser.cookies)
    assert browser.post("/logout/", {}).status_code == 303
    assert "__Host-crashline_session" not in browser.cookies
    thief = Browser(site[0])
    thief.cookies = stolen
    page = thief.get("/profile/")
    assert page.status_code == 303 and page.headers["location"].startswith("/login/")


def test_deactivation_ends_every_session_at_once(site, admin, user):
    alice, bob = Browser(site[0]), Browser(site[0])
    alice.sign_in(admin)
    bob.sign_in(user)
    assert bob.get("/profile/").status_code == 200
    assert alice.post("/siteadmin/users/active",
                      {"username": user, "active": "false"}).status_code == 303
    assert bob.get("/profile/").status_code == 303
    assert audit(site[2], "user.deactivate")[-1]["target"] == user


def test_a_new_password_ends_the_other_sessions(site, user):
    here, elsewhere = Browser(site[0]), Browser(site[0])
    here.sign_in(user)
    elsewhere.sign_in(user)
    changed = here.post("/profile/password", {"current": PASSWORD, "new": "a new password 1",
                                              "again": "a new password 1"})
    assert changed.status_code == 303
    assert here.get("/profile/").status_code == 200
    assert elsewhere.get("/profile/").status_code == 303
    wrong = here.post("/profile/password", {"current": "nope", "new": "another one 12",
                                            "again": "another one 12"})
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text


# -- tokens ---------------------------------------------------------------------------------
def test_tokens_from_the_page(site, browser, user):
    client, accounts, db = site
    browser.sign_in(user)
    created = browser.post("/api/tokens/", [("permission", "view_pii"), ("days", "7"),
                                            ("notes", "my notebook")])
    assert created.status_code == 200
    key = re.search(r'id="new-token-key">([0-9a-f]{32})<', created.text).group(1)
    [token] = accounts.list_tokens(user)
    assert token.permissions == {"view_pii"} and token.notes == "my notebook"
    assert accounts.resolve_token(key).permissions == {"view_pii"}
    # The key is shown once: the list never shows it again.
    listing = browser.get("/api/tokens/")
    assert key not in listing.text and token.key_prefix in listing.text
    # More than the user has is refused.
    beyond = browser.post("/api/tokens/", [("permission", "view_rawdump"), ("days", "7")])
    assert beyond.status_code == 403 and "you do not have it" in beyond.text
    assert len(accounts.list_tokens(user)) == 1
    # Revoking: the API refuses the key at once; another user's token cannot be revoked.
    assert client.simulate_get("/api/SuperSearchFields/",
                               headers={"Auth-Token": key}).status_code == 200
    assert browser.post(f"/api/tokens/{token.id}/revoke", {}).status_code == 303
    refused = client.simulate_get("/api/SuperSearchFields/", headers={"Auth-Token": key})
    assert refused.status_code == 403 and refused.json["error"] == "API Token not matched"
    other = unique("other")
    accounts.create_user(other, PASSWORD)
    _, theirs = accounts.create_token(other)
    assert browser.post(f"/api/tokens/{theirs.id}/revoke", {}).status_code == 404
    assert accounts.get_token(theirs.id).id == theirs.id
    assert [e["actor"] for e in audit(db, "token.create") if user in e["target"]] == [user]


def test_account_pages_need_a_session_not_a_token(site, user):
    client, accounts, _ = site
    key, _ = accounts.create_token(user, ["view_pii"])
    for path in ("/profile/", "/api/tokens/", "/siteadmin/"):
        assert client.simulate_get(path, headers={"Auth-Token": key}).status_code == 403
        anonymous = client.simulate_get(path)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/login/?next=")
    # A token cannot make tokens (the API-token header is exempt from CSRF, not from this).
    made = client.simulate_post("/api/tokens/", body="days=5",
                                headers={"Auth-Token": key,
                                         "Content-Type": "application/x-www-form-urlencoded"})
    assert made.status_code == 403


# -- admin ----------------------------------------------------------------------------------
ADMIN_POSTS = [("/siteadmin/users/create", {"username": "x-forged", "password": PASSWORD}),
               ("/siteadmin/users/permissions", {"username": "x", "permission": "admin"}),
               ("/siteadmin/users/active", {"username": "x", "active": "false"}),
               ("/siteadmin/tokens/1/revoke", {}),
               ("/siteadmin/status/", {"message": "forged", "severity": "info"}),
               ("/siteadmin/status/clear", {})]
ADMIN_PAGES = ["/siteadmin/", "/siteadmin/tokens/", "/siteadmin/status/",
               "/siteadmin/indices/", "/siteadmin/auditlog/"]


def test_admin_pages_refuse_everyone_without_admin(site, browser, user):
    browser.sign_in(user)
    for path in ADMIN_PAGES:
        page = browser.get(path)
        assert page.status_code == 403 and "admin" in page.text, path
    for path, form in ADMIN_POSTS:
        assert browser.post(path, form).status_code == 403, path
    assert site[1].get_user(user).permissions == {"view_pii"}
    assert site[2].fetch_all("SELECT * FROM status_messages WHERE message = 'forged'") == []


def test_admin_grants_and_revokes_and_it_is_audited(site, browser, admin, user):
    client, accounts, db = site
    browser.sign_in(admin)
    for path in ADMIN_PAGES:
        assert browser.get(path).status_code == 200, path
    key, _ = accounts.create_token(user, ["view_pii"])
    # The form sends the whole set: +view_rawdump, -view_pii.
    done = browser.post("/siteadmin/users/permissions", [("username", user),
                                                        ("permission", "view_rawdump")])
    assert done.status_code == 303
    assert accounts.get_user(user).permissions == {"view_rawdump"}
    assert accounts.resolve_token(key).permissions == frozenset()  # revoked from tokens too
    grants, revokes = audit(db, "user.grant"), audit(db, "user.revoke")
    assert grants[-1] == {"actor": admin, "action": "user.grant", "target": user,
                          "details": {"permissions": ["view_rawdump"]}}
    assert revokes[-1]["details"] == {"permissions": ["view_pii"]}
    log = browser.get("/siteadmin/auditlog/").text
    assert f"<td>{admin}</td>" in log and "user.grant" in log and "user.revoke" in log


def test_an_admin_cannot_grant_more_than_they_have(site, admin, user):
    client, accounts, db = site
    b = Browser(client)
    b.sign_in(admin)
    refused = b.post("/siteadmin/users/permissions", [("username", user),
                                                     ("permission", "view_pii"),
                                                     ("permission", "reprocess_crashes")])
    assert refused.status_code == 403 and "reprocess_crashes" in refused.text
    assert accounts.get_user(user).permissions == {"view_pii"}
    # Nor to themselves, nor to a user they create; nor drop their own admin.
    assert b.post("/siteadmin/users/permissions",
                  [("username", admin), *(("permission", p) for p in (
                      "admin", "view_pii", "view_rawdump", "upload_symbols"))]).status_code == 403
    assert b.post("/siteadmin/users/create", [("username", unique("new")),
                                             ("permission", "upload_symbols")]).status_code == 403
    assert b.post("/siteadmin/users/permissions",
                  [("username", admin), ("permission", "view_pii")]).status_code == 403
    assert b.post("/siteadmin/users/active",
                  {"username": admin, "active": "false"}).status_code == 403
    assert accounts.get_user(admin).permissions == {"admin", "view_pii", "view_rawdump"}


def test_admin_creates_a_user_who_can_sign_in(site, browser, admin):
    browser.sign_in(admin)
    name = unique("created")
    done = browser.post("/siteadmin/users/create", [("username", name), ("password", PASSWORD),
                                                   ("permission", "view_pii")])
    assert done.status_code == 303
    assert Browser(site[0]).sign_in(name).status_code == 303
    short = browser.post("/siteadmin/users/create", [("username", unique("x")),
                                                    ("password", "short")])
    assert short.status_code == 400 and "at least 10 characters" in short.text
    assert audit(site[2], "user.create")[-1]["details"] == {"permissions": ["view_pii"],
                                                            "password": True}


def test_status_message_on_every_page(site, browser, admin):
    browser.sign_in(admin)
    message = unique("Maintenance tonight")
    assert browser.post("/siteadmin/status/", {"message": message,
                                               "severity": "warning"}).status_code == 303
    anonymous = Browser(site[0])
    for path in ("/documentation/", "/login/", "/no/such/page", "/monitoring/"):
        page = anonymous.get(path)
        assert 'data-severity="warning"' in page.text and message in page.text, path
    assert browser.post("/siteadmin/status/clear", {}).status_code == 303
    assert message not in anonymous.get("/documentation/").text
    assert [e["action"] for e in audit(site[2], "status.set")] != []


def test_page_searches_are_rate_limited(site):
    visitor = Browser(site[0])
    assert [visitor.get("/search/").status_code for _ in range(4)] == [200, 200, 200, 429]
    refused = visitor.get("/search/")
    assert "text/html" in refused.headers["content-type"] and "sign in" in refused.text
    assert int(refused.headers["retry-after"]) > 0
    # Pages that do not search are not counted.
    assert visitor.get("/documentation/").status_code == 200


@pytest.mark.parametrize("path", ["/", "/home/product/NoSuchProduct", "/topcrashers/?product=x",
                                  "/signature/?signature=x", "/missing-symbols/"])
def test_every_page_that_searches_is_rate_limited(site, path):
    # Counted before the page runs, so a product that does not exist counts too.
    visitor = Browser(site[0])
    statuses = [visitor.get(path).status_code for _ in range(4)]
    assert 429 not in statuses[:3] and statuses[3] == 429, statuses


def test_the_api_reads_the_session_for_reads_only(site, crashes):
    """The crash page links to raw data and dumps in the API: a signed-in browser reads them
    with its session; no POST to the API acts on a cookie (nothing to forge)."""
    client, accounts, _ = site
    name = unique("reader")
    accounts.create_user(name, PASSWORD, permissions=["view_pii", "reprocess_crashes"])
    b = Browser(client)
    b.sign_in(name)
    crash = b.get("/api/ProcessedCrash/", params={"crash_id": crashes["oom1"]})
    assert crash.status_code == 200 and crash.json["url"] == "https://example.com/a"
    assert crash.headers["cache-control"] == "private, no-store"
    assert "access-control-allow-origin" not in crash.headers
    anonymous = client.simulate_get("/api/ProcessedCrash/", params={"crash_id": crashes["oom1"]})
    assert "url" not in anonymous.json
    reprocess = client.simulate_post("/api/Reprocessing/", cookies=b.cookies,
                                     params={"crash_ids": crashes["oom1"]})
    assert reprocess.status_code == 403 and "reprocess_crashes" in reprocess.json["error"]
