"""Users, tokens and rate limits (the reference's 403 messages; limits shared in PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
import uuid

import falcon.testing
import pytest
from web_integration import SUFFIX, headers, settings_from_env

from crashline.webapp.app import create_app
from crashline.webapp.auth.store import AccountError, AccountStore
from crashline.webapp.auth.tokencache import TokenCache

pytestmark = pytest.mark.integration


def status_and_error(client, key):
    response = client.simulate_get("/api/SuperSearchFields/", headers=headers(key))
    return response.status_code, response.json.get("error")


def test_token_errors(client, tokens):  # checklist 26
    assert status_and_error(client, "0" * 32) == (403, "API Token not matched")
    assert status_and_error(client, "garbage") == (403, "API Token not matched")
    assert status_and_error(client, tokens["expired"]) == (403, "API Token found but expired")
    assert status_and_error(client, tokens["inactive"]) == (403, "User of API token not active")
    assert status_and_error(client, tokens["full"]) == (200, None)


def test_token_carries_a_subset_of_the_owner_permissions(accounts, tokens):  # checklist 27
    with pytest.raises(AccountError):
        accounts.create_token(tokens["_bob"], ["view_pii"])
    assert accounts.resolve_token(tokens["none"]).permissions == frozenset()
    assert accounts.resolve_token(tokens["pii"]).permissions == {"view_pii"}


def test_revoking_a_permission_strips_it_from_tokens(accounts):
    name = f"dave-{SUFFIX}"
    accounts.create_user(name, "dave-password", permissions=["view_pii", "view_rawdump"])
    key, token = accounts.create_token(name, ["view_pii", "view_rawdump"])
    assert accounts.resolve_token(key).permissions == {"view_pii", "view_rawdump"}
    accounts.revoke(name, ["view_pii"])
    assert accounts.resolve_token(key).permissions == {"view_rawdump"}
    accounts.grant(name, ["view_pii"])  # granting back does not widen old tokens
    assert accounts.resolve_token(key).permissions == {"view_rawdump"}
    assert accounts.get_token(token.id).permissions == {"view_rawdump"}


def test_tokens_are_stored_hashed(accounts, database, tokens):
    with database.transaction() as cur:
        cur.execute("SELECT key_hash, key_prefix FROM api_tokens")
        rows = cur.fetchall()
    assert all(tokens["full"] not in row["key_hash"] for row in rows)
    assert any(row["key_prefix"] == tokens["full"][:6] for row in rows)


def test_passwords(accounts):
    name = f"erin-{SUFFIX}"
    accounts.create_user(name, "s3cret-erin")
    assert accounts.authenticate(name, "s3cret-erin").username == name
    assert accounts.authenticate(name, "wrong") is None
    accounts.set_password(name, "n3w-erin-password")
    assert accounts.authenticate(name, "s3cret-erin") is None
    assert accounts.authenticate(name, "n3w-erin-password") is not None
    accounts.set_active(name, False)
    assert accounts.authenticate(name, "n3w-erin-password") is None
    with pytest.raises(AccountError):
        accounts.create_user(name, "again-erin-password")
    with pytest.raises(AccountError, match="at least 10 characters"):
        accounts.set_password(name, "short")
    with pytest.raises(AccountError):
        accounts.grant(name, ["fly"])


def run_admin(web_env, *args, stdin=""):
    return subprocess.run([sys.executable, "-m", "crashline.common.cli", "admin", *args],
                          env=web_env, input=stdin, capture_output=True, text=True, timeout=60)


def test_admin_cli(web_env, accounts, database, client):
    name = f"frank-{SUFFIX}"
    created = run_admin(web_env, "create-user", name, "--password-stdin",
                        "--permission", "view_pii", stdin="frank-password\n")
    assert created.returncode == 0, created.stderr
    assert run_admin(web_env, "grant", name, "view_rawdump").returncode == 0
    assert run_admin(web_env, "grant", name, "bogus").returncode == 1
    token = run_admin(web_env, "create-token", name, "--permission", "view_pii",
                      "--days", "5", "--notes", "for a notebook")
    assert token.returncode == 0, token.stderr
    key = token.stdout.strip()
    assert len(key) == 32 and "only once" in token.stderr
    assert accounts.resolve_token(key).permissions == {"view_pii"}
    listing = run_admin(web_env, "list-tokens", name)
    assert "for a notebook" in listing.stdout and key not in listing.stdout
    users = run_admin(web_env, "list-users").stdout
    assert any(line.startswith(name) and "view_pii,view_rawdump" in line
               for line in users.splitlines())
    assert accounts.authenticate(name, "frank-password") is not None
    token_id = listing.stdout.split()[0]
    assert run_admin(web_env, "delete-token", token_id).returncode == 0
    assert status_and_error(client, key) == (403, "API Token not matched")


@pytest.fixture
def limited_client(web_env, web_services):
    settings = settings_from_env(web_env, webapp_rate_limit_anonymous=3,
                                 webapp_rate_limit_authenticated=5,
                                 webapp_rate_limit_window=3600,  # no window edge mid-test
                                 webapp_trust_x_real_ip=True)
    return falcon.testing.TestClient(create_app(settings, web_services))


def test_rate_limits(limited_client, tokens):  # checklist 28
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    anon = [limited_client.simulate_get("/api/SuperSearchFields/", headers={"X-Real-IP": ip})
            for _ in range(5)]
    assert [r.status_code for r in anon] == [200, 200, 200, 429, 429]
    assert anon[0].headers["x-ratelimit-limit"] == "3"
    assert 1 <= int(anon[3].headers["retry-after"]) <= 3600
    assert "Too many requests" in anon[3].json["error"]
    # Another address, and an authenticated caller, have their own (higher) budgets.
    other = limited_client.simulate_get("/api/SuperSearchFields/",
                                        headers={"X-Real-IP": ip + "1"})
    assert other.status_code == 200
    # bob's user has its own budget: 5, not the 3 of anonymous callers, nor their address's,
    # and it is the user's wherever the requests come from.
    authed = [limited_client.simulate_get("/api/SuperSearchFields/", headers={
        "X-Real-IP": ip + str(n % 2), "Auth-Token": tokens["bob"]}) for n in range(6)]
    assert [r.status_code for r in authed] == [200] * 5 + [429]
    assert "this user" in authed[-1].json["error"]


def test_token_guesses_are_rate_limited_before_the_lookup(limited_client, tokens):
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    guesses = [limited_client.simulate_get("/api/SuperSearchFields/", headers={
        "X-Real-IP": ip, "Auth-Token": uuid.uuid4().hex}) for _ in range(7)]
    assert [r.status_code for r in guesses] == [403] * 5 + [429] * 2
    assert guesses[0].json == {"error": "API Token not matched"}
    assert "with an API token from one address" in guesses[-1].json["error"]
    # A real token from that address waits too; anonymous requests have their own budget.
    real = limited_client.simulate_get("/api/SuperSearchFields/", headers={
        "X-Real-IP": ip, "Auth-Token": tokens["bob"]})
    assert real.status_code == 429
    anonymous = limited_client.simulate_get("/api/SuperSearchFields/",
                                            headers={"X-Real-IP": ip})
    assert anonymous.status_code == 200


def test_admin_cli_refuses_what_it_cannot_do(web_env, accounts):
    name = f"gina-{SUFFIX}"
    # No terminal to prompt on: a clear error, not an EOFError traceback.
    created = run_admin(web_env, "create-user", name)
    assert created.returncode == 1
    assert "no terminal" in created.stderr and "Traceback" not in created.stderr
    empty = run_admin(web_env, "create-user", name, "--password-stdin", stdin="")
    assert empty.returncode == 1 and "no password on stdin" in empty.stderr
    with pytest.raises(AccountError):
        accounts.get_user(name)
    assert run_admin(web_env, "create-user", name, "--no-password").returncode == 0
    assert accounts.get_user(name).username == name
    # --days 0 is refused, not read as "the default 90 days".
    zero = run_admin(web_env, "create-token", name, "--days", "0")
    assert zero.returncode == 1 and "at least one day" in zero.stderr
    assert accounts.list_tokens(name) == []
    one = run_admin(web_env, "create-token", name, "--days", "1")
    assert one.returncode == 0, one.stderr
    (token,) = accounts.list_tokens(name)
    assert (token.expires_at - token.created_at).days in (0, 1)


# -- the resolved-token cache (auth/tokencache.py) -----------------------------------------
def test_a_cached_token_costs_no_lookup(accounts, database):
    name = f"jill-{SUFFIX}"
    accounts.create_user(name, "jill-password", permissions=["view_pii"])
    key, _ = accounts.create_token(name, ["view_pii"])
    store = AccountStore(database, TokenCache(100))
    generation = current_generation(database)
    assert store.resolve_token(key, generation=generation).permissions == {"view_pii"}

    class NoDatabase:
        def transaction(self):
            raise AssertionError("a cached token was looked up")

    store.db = NoDatabase()
    assert store.resolve_token(key, generation=generation).username == name
    assert store.cached_user(key) is not None
    store.db = database
    # Any account change moves the generation: the entry no longer holds.
    accounts.revoke(name, ["view_pii"])
    moved = current_generation(database)
    assert moved > generation
    assert store.resolve_token(key, generation=moved).permissions == frozenset()


def current_generation(database) -> int:
    with database.transaction() as cur:
        cur.execute("SELECT generation FROM account_generation")
        return cur.fetchone()["generation"]


@pytest.mark.parametrize("change", ["delete the token", "deactivate the user",
                                    "revoke the permission", "expire the token"])
def test_a_change_made_anywhere_holds_at_once_for_cached_tokens(client, accounts, database,
                                                                crashes, change):
    """The app caches the token after its first request; the change is made in plain SQL
    from another connection, as any tool could, and the very next request sees it."""
    name = f"hal-{change.split()[0]}-{SUFFIX}"
    accounts.create_user(name, "hal-password-1", permissions=["view_pii"])
    key, token = accounts.create_token(name, ["view_pii"])
    path = "/api/ProcessedCrash/"
    params = {"crash_id": crashes["oom1"]}
    for _ in range(2):  # resolved, then from the cache
        ok = client.simulate_get(path, params=params, headers=headers(key))
        assert ok.status_code == 200 and ok.json["user_comments"] == "it crashed again"
    statements = {
        "delete the token": ("DELETE FROM api_tokens WHERE id = %s", token.id),
        "deactivate the user": ("UPDATE users SET is_active = false WHERE username = %s", name),
        "revoke the permission": ("DELETE FROM user_permissions WHERE user_id = "
                                  "(SELECT id FROM users WHERE username = %s)", name),
        "expire the token": ("UPDATE api_tokens SET expires_at = now() WHERE id = %s",
                             token.id),
    }
    sql, arg = statements[change]
    with database.transaction() as cur:
        cur.execute(sql, (arg,))
    after = client.simulate_get(path, params=params, headers=headers(key))
    if change == "revoke the permission":
        assert after.status_code == 200
        assert "user_comments" not in after.json
    else:
        assert after.status_code == 403
        assert after.json["error"] in {"API Token not matched", "User of API token not active",
                                       "API Token found but expired"}


def test_a_cached_token_is_counted_once_per_request(limited_client, accounts):
    """Address and user in one statement once the token is cached: the user's budget (5)
    shrinks by one per request, never two."""
    name = f"ivy-{SUFFIX}"
    accounts.create_user(name, "ivy-password-1")
    key, _ = accounts.create_token(name, [])
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    answers = [limited_client.simulate_get("/api/SuperSearchFields/", headers={
        "X-Real-IP": ip, "Auth-Token": key}) for _ in range(6)]
    assert [r.status_code for r in answers] == [200] * 5 + [429]
    assert [r.headers["x-ratelimit-remaining"] for r in answers[:5]] == ["4", "3", "2", "1",
                                                                       "0"]
