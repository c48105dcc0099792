"""Security properties, each with a test:

- API tokens are stored only as their SHA-256 digest (and the first 6 of their 32 hex
  characters, to tell them apart), and the only comparison a key ever meets is of that
  digest: the database is never given the key, so how long a lookup takes depends on a
  digest the caller cannot steer, not on how much of a real key a guess shares;
- dumps are downloaded only with ``view_rawdump``, whatever the token's state and however
  the request is written;
- rate limits are shared by every worker of every webapp process.

Protected data never reaching logs, metric labels or error messages is checked by the runs
that produce the most of them: the fault matrix greps every log, metric page and anonymous
API answer of its run for the secrets planted in its crashes (leaks.py), and the hostile
collector and processor tests grep theirs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import uuid

import pytest
import requests
from harness.crashes import store_crash
from harness.services import ServiceProcess, free_port

from crashline.common.crashid import create_crash_id
from crashline.common.storage import storage_from_settings
from crashline.webapp.auth.store import NOT_MATCHED, AccountStore, TokenRejected

pytestmark = pytest.mark.integration

PORTS = range(18450, 18500)
DUMP = b"MDMP" + b"dump-bytes-only-view_rawdump-may-see-" + uuid.uuid4().hex.encode()
SECRET_URL = f"https://example.com/?session=secret-{uuid.uuid4().hex}"


@contextlib.contextmanager
def webapp(env: dict[str, str], tmp_path, **settings: str):
    port = free_port(PORTS)
    service = ServiceProcess("crashline-webapp", {
        **env, "CRASHLINE_WEBAPP_BIND": f"127.0.0.1:{port}", "CRASHLINE_WEBAPP_WORKERS": "2",
        "CRASHLINE_WEBAPP_INDEX_CACHE_SECONDS": "0", **settings}, port,
        tmp_path / f"webapp-{port}.log")
    try:
        yield service.wait_ready(60)
    finally:
        service.stop()


@pytest.fixture
def accounts(database) -> AccountStore:
    return AccountStore(database)


def user(accounts: AccountStore, *permissions: str) -> str:
    name = f"security-{uuid.uuid4().hex[:8]}"
    accounts.create_user(name, permissions=permissions)
    return name


# -- tokens ---------------------------------------------------------------------------------
def columns(database) -> list[tuple[str, str]]:
    """(table, column) of every column of the database's own tables that can hold text."""
    rows = database.fetch_all(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND data_type IN "
        "('text', 'character varying', 'character', 'bytea', 'json', 'jsonb', 'ARRAY')")
    return [(row["table_name"], row["column_name"]) for row in rows]


def test_token_keys_are_stored_only_as_digests(database, accounts, crashline_env, tmp_path):
    owner = user(accounts, "view_pii")
    key, token = accounts.create_token(owner, ["view_pii"])
    secret_part = key[6:]  # the first 6 characters are stored, to tell tokens apart
    [row] = database.fetch_all("SELECT key_hash, key_prefix FROM api_tokens WHERE id = %s",
                               (token.id,))
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert row["key_prefix"] == key[:6]
    found = []
    for table, column in columns(database):
        [hit] = database.fetch_all(
            f'SELECT count(*) AS n FROM "{table}" WHERE "{column}"::text LIKE %s',
            (f"%{secret_part}%",))
        if hit["n"]:
            found.append(f"{table}.{column}")
    assert not found, f"the key is stored in {found}"

    # Nor does it reach the webapp's log, used or guessed.
    with webapp(crashline_env, tmp_path) as service:
        for candidate in (key, key[:-1] + ("0" if key[-1] != "0" else "1")):
            requests.get(f"{service.url}/api/SuperSearchFields/",
                         headers={"Auth-Token": candidate}, timeout=30)
        logs = service.logs()
    assert secret_part not in logs and secret_part[:-1] not in logs


class SpyCursor:
    def __init__(self, cursor, seen: list):
        self._cursor, self._seen = cursor, seen

    def execute(self, sql, params=None):
        self._seen.append((sql, params))
        return self._cursor.execute(sql, params)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


class SpyDatabase:
    """The real database, recording every statement and its parameters."""

    def __init__(self, database):
        self.database = database
        self.seen: list[tuple[str, object]] = []

    @contextlib.contextmanager
    def transaction(self):
        with self.database.transaction() as cursor:
            yield SpyCursor(cursor, self.seen)


def test_a_key_is_compared_only_as_its_digest(database, accounts):
    owner = user(accounts, "view_pii")
    key, _ = accounts.create_token(owner, ["view_pii"])
    spy = SpyDatabase(database)
    store = AccountStore(spy)
    assert store.resolve_token(key).username == owner

    # Guesses sharing none, all but the last, or only the stored prefix of the key.
    flip = {c: "0" if c != "0" else "1" for c in "0123456789abcdef"}
    guesses = [flip[key[0]] + key[1:], key[:-1] + flip[key[-1]], key[:6] + "0" * 26,
               uuid.uuid4().hex]
    for guess in guesses:
        with pytest.raises(TokenRejected) as refused:
            store.resolve_token(guess)
        assert str(refused.value) == NOT_MATCHED  # the same answer, however close

    asked = [str(params) for _, params in spy.seen]
    for candidate in (key, *guesses):
        assert not any(candidate[6:] in text for text in asked), (candidate, spy.seen)
    digests = {hashlib.sha256(c.encode()).hexdigest() for c in (key, *guesses)}
    looked_up = {p[0] for sql, p in spy.seen if "key_hash = %s" in sql}
    assert looked_up == digests  # every comparison was of a digest


# -- dumps ----------------------------------------------------------------------------------
@pytest.fixture
def crash(settings) -> str:
    storage = storage_from_settings(settings)
    crash_id = create_crash_id()
    store_crash(storage, crash_id, {"ProductName": "Security", "Version": "1",
                                    "URL": SECRET_URL, "uuid": crash_id},
                {"upload_file_minidump": DUMP, "other": DUMP})
    now = dt.datetime.now(dt.UTC).isoformat()
    storage.put_processed_crash(crash_id, {
        "uuid": crash_id, "crash_id": crash_id, "date_processed": now, "product": "Security",
        "version": "1", "signature": "sec", "url": SECRET_URL, "success": True,
        "completed_datetime": now, "json_dump": {"status": "OK", "threads": []}})
    return crash_id


@pytest.fixture
def keys(accounts) -> dict[str, str | None]:
    """Callers: every way of not having view_rawdump, and one that has it."""
    everything = ["view_pii", "view_rawdump", "reprocess_crashes"]
    owner = user(accounts, *everything)
    revoked, inactive = user(accounts, *everything), user(accounts, *everything)
    found = {
        "anonymous": None,
        "none": accounts.create_token(owner, [])[0],
        "pii": accounts.create_token(owner, ["view_pii"])[0],
        "reprocess": accounts.create_token(owner, ["reprocess_crashes"])[0],
        "expired": accounts.create_token(owner, ["view_rawdump"], days=1,
                                         now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))[0],
        "owner lost view_rawdump": accounts.create_token(revoked, ["view_rawdump"])[0],
        "owner inactive": accounts.create_token(inactive, ["view_rawdump"])[0],
        "guessed": uuid.uuid4().hex,
        "rawdump": accounts.create_token(owner, ["view_rawdump"])[0],
    }
    accounts.revoke(revoked, ["view_rawdump"])
    accounts.set_active(inactive, False)
    return found


def test_dumps_only_with_view_rawdump(crashline_env, tmp_path, crash, keys):
    crash_id = crash
    requests_ = [
        f"/api/RawCrash/?crash_id={crash_id}&format=raw",
        f"/api/RawCrash/?crash_id={crash_id}&format=raw&name=other",
        f"/api/RawCrash/?crash_id={crash_id}&format=meta&format=raw",
        f"/api/RawCrash/?crash_id={crash_id}&format=RAW",
        f"/api/RawCrash/?crash_id={crash_id}&FORMAT=raw",
        f"/api/RawCrash/?crash_id={crash_id}&format=raw&name=..%2Fraw_crash",
        f"/api/RawCrash/?crash_id=bp-{crash_id}&format=raw",
        f"/api/RawCrash/?crash_id={crash_id}",
        f"/api/ProcessedCrash/?crash_id={crash_id}",
        f"/report/index/{crash_id}",
        f"/report/index/bp-{crash_id}",
    ]
    leaked = []
    with webapp(crashline_env, tmp_path, CRASHLINE_WEBAPP_RATE_LIMIT_ANONYMOUS="0",
                CRASHLINE_WEBAPP_RATE_LIMIT_AUTHENTICATED="0") as service:
        for who, key in keys.items():
            headers = {"Auth-Token": key} if key else {}
            for path in requests_:
                answer = requests.get(service.url + path, headers=headers, timeout=30)
                assert answer.status_code < 500, (who, path, answer.text[:300])
                if DUMP in answer.content:
                    leaked.append((who, path))
    allowed = {("rawdump", requests_[0]), ("rawdump", requests_[1]),
               ("rawdump", requests_[2]), ("rawdump", requests_[6])}
    assert set(leaked) <= allowed, set(leaked) - allowed
    assert ("rawdump", requests_[0]) in leaked and ("rawdump", requests_[1]) in leaked


# -- rate limits ----------------------------------------------------------------------------
def test_rate_limits_are_shared_by_every_worker_of_every_process(crashline_env, tmp_path,
                                                                 accounts):
    limits = {"CRASHLINE_WEBAPP_RATE_LIMIT_ANONYMOUS": "6",
              "CRASHLINE_WEBAPP_RATE_LIMIT_AUTHENTICATED": "8",
              "CRASHLINE_WEBAPP_RATE_LIMIT_WINDOW": "3600",  # no window edge mid-test
              "CRASHLINE_WEBAPP_TRUST_X_REAL_IP": "true"}
    key, _ = accounts.create_token(user(accounts, "view_pii"), ["view_pii"])
    with webapp(crashline_env, tmp_path, **limits) as one, \
            webapp(crashline_env, tmp_path, **limits) as two:
        address = f"198.51.100.{uuid.uuid4().int % 250}"
        # A new connection per request, to both processes in turn (and so their workers).
        anonymous = [requests.get(f"{service.url}/api/SuperSearchFields/", timeout=30,
                                  headers={"X-Real-IP": address}).status_code
                     for service in [one, two] * 6]
        # The per-user limit holds across addresses as well as processes.
        per_user = [requests.get(f"{service.url}/api/SuperSearchFields/", timeout=30,
                                 headers={"X-Real-IP": f"203.0.113.{i}",
                                          "Auth-Token": key}).status_code
                    for i, service in enumerate([one, two] * 6)]
    assert anonymous == [200] * 6 + [429] * 6
    assert per_user == [200] * 8 + [429] * 4
