"""Accounts, tokens, the admin pages, the documentation and the monitoring page in a real
browser, over a real collector, processor, webapp and crontabber commands.

The site runs in a namespace of its own (a PostgreSQL schema, queues, indices and a storage
folder): the status message, job states and ledger are one per site, and these tests make a
job fail and the ledger disagree on purpose. The tests run in order and the last one reads
the webapp's log for every secret the others used.
"""

from __future__ import annotations

import datetime as dt
import http.server
import os
import re
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import pytest
import requests
from browser_support import SCREENSHOTS, Visitor, store_raw, wait_processed
from crontabber_support import namespaced
from harness.services import BIN, pipeline
from playwright.sync_api import expect
from processor_support.minidump import build_minidump

from crashline.common.database import Database
from crashline.common.fields import FIELDS
from crashline.common.queue import queue_from_settings
from crashline.common.search import search_from_settings
from crashline.common.settings import CommonSettings
from crashline.common.storage import storage_from_settings
from crashline.webapp.auth.store import AccountStore

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

RUN = uuid.uuid4().hex[:6]
SECRET_URL = f"https://private.example/ACCOUNTS-{RUN}"
SECRET_COMMENT = f"ACCOUNTS-COMMENT-{RUN}"
PASSWORDS = {"admin": f"admin-pw-{RUN}-xyz", "dana": f"dana-pw-{RUN}-xyz",
             "erik": f"erik-pw-{RUN}-xyz", "remy": f"remy-pw-{RUN}-xyz"}
SESSION_COOKIE = "__Host-crashline_session"


@dataclass
class Site:
    url: str
    env: dict[str, str]
    services: dict
    accounts: AccountStore
    secret: str                 # a crash with protected annotations
    unqueued: str               # stored two hours ago and never queued: the ledger differs
    users: dict[str, str]       # role -> username
    secrets: list[str] = field(default_factory=list)  # what must never reach a log

    def api(self, path: str, key: str | None = None, **params) -> requests.Response:
        return requests.get(f"{self.url}{path}", params=params, timeout=30,
                            headers={"Auth-Token": key} if key else {})


def _settings(env: dict[str, str]) -> CommonSettings:
    return CommonSettings(**{k.removeprefix("CRASHLINE_").lower(): v for k, v in env.items()
                             if k.startswith("CRASHLINE_")})


@pytest.fixture(scope="module")
def site(crashline_env, make_schema, search_backend, rabbitmq_client,
         tmp_path_factory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("accounts")
    env = namespaced(crashline_env, "accounts", make_schema(), str(tmp / "crashes"))
    settings = _settings(env)
    db = Database(settings.database_url)
    accounts = AccountStore(db)
    users = {role: f"{role}-{RUN}" for role in PASSWORDS}
    accounts.create_user(users["admin"], PASSWORDS["admin"],
                         permissions=["admin", "view_pii", "view_rawdump"])
    accounts.create_user(users["dana"], PASSWORDS["dana"])
    accounts.create_user(users["erik"], PASSWORDS["erik"], permissions=["view_pii"])
    accounts.create_user(users["remy"], PASSWORDS["remy"], permissions=["reprocess_crashes"])
    with pipeline(env, tmp, []) as services:
        web = services["webapp"].url
        dump = tmp / "plain.dmp"
        dump.write_bytes(build_minidump())
        out = subprocess.run(
            [str(BIN / "crashline"), "submit", "--url", f"{services['collector'].url}/submit",
             "--dump", str(dump), "-a", f"ProductName=Accounts{RUN}", "-a", "Version=1.0",
             "-a", f"URL={SECRET_URL}", "-a", f"Comments={SECRET_COMMENT}"],
            capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        secret = out.stdout.strip()
        unqueued = store_raw(storage_from_settings(settings),
                             dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
                             {"ProductName": f"Accounts{RUN}", "Version": "1.0"},
                             build_minidump())
        wait_processed(web, secret)
        yield Site(web, env, services, accounts, secret, unqueued, users,
                   secrets=list(PASSWORDS.values()))
    db.close()
    queue = queue_from_settings(settings)
    for name in queue.names.all:
        queue.channel.queue_delete(queue=name)
    queue.close()
    search = search_from_settings(settings)
    for name in search.existing_indices():
        search.delete_index(name)


def sign_in(visitor: Visitor, username: str, password: str, next_path: str = "/") -> None:
    visitor.open(f"/login/?next={quote(next_path)}")
    page = visitor.page
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("header .account a.user")).to_have_text(username)


def session_cookie(visitor: Visitor) -> str:
    [cookie] = [c for c in visitor.context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    return cookie["value"]


@pytest.fixture
def browse(browser, site):
    opened: list[Visitor] = []

    def make() -> Visitor:
        v = Visitor(browser, site.url)
        opened.append(v)
        return v

    yield make
    for v in opened:
        v.clean()
        v.close()


def expected_http_errors(visitor: Visitor, status: int) -> None:
    """The browser logs every answer with an error status to the console: forget those
    (the test asked for them), and only those."""
    logged = f"the server responded with a status of {status}"
    assert visitor.errors and all(logged in e for e in visitor.errors), visitor.errors
    visitor.errors.clear()


def shot(visitor: Visitor, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    visitor.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# -- tokens -------------------------------------------------------------------------------
def test_user_creates_uses_and_revokes_a_token(browse, site):
    user = browse()
    sign_in(user, site.users["erik"], PASSWORDS["erik"])
    site.secrets.append(session_cookie(user))
    page = user.page
    user.open("/api/tokens/", screenshot="tokens")
    expect(page.locator("table.tokens")).to_contain_text("You have no tokens.")
    # Only the user's own permissions are offered.
    expect(page.locator("form.create-token input[name=permission]")).to_have_count(1)
    page.get_by_label("view_pii").check()
    page.get_by_label("Notes").fill("for the notebook")
    page.get_by_role("button", name="Create the token").click()
    key = page.locator("#new-token-key").inner_text()
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    site.secrets.append(key)
    shot(user, "token-created")
    row = page.locator("table.tokens tbody tr").first
    expect(row.locator("td.notes")).to_have_text("for the notebook")
    expect(row.locator("td.permissions")).to_have_text("view_pii")

    # The key works on the API, with the token's permission.
    answer = site.api("/api/ProcessedCrash/", key, crash_id=site.secret)
    assert answer.status_code == 200 and answer.json()["url"] == SECRET_URL
    # Shown once: a reload lists the token without its key.
    user.open("/api/tokens/")
    assert key not in page.content()
    expect(page.locator("table.tokens td.permissions")).to_have_text("view_pii")

    page.locator("table.tokens tbody tr").first.get_by_role("button", name="Revoke").click()
    expect(page.locator("p.notice")).to_contain_text("no longer works")
    refused = site.api("/api/ProcessedCrash/", key, crash_id=site.secret)
    assert refused.status_code == 403
    assert refused.json() == {"error": "API Token not matched"}
    assert key not in refused.text


# -- admin --------------------------------------------------------------------------------
def test_admin_grant_shows_protected_annotations_on_the_crash_page(browse, site):
    dana, admin = browse(), browse()
    sign_in(dana, site.users["dana"], PASSWORDS["dana"], f"/report/index/{site.secret}")
    expect(dana.page.locator("h1.report-title")).to_contain_text(f"Accounts{RUN} 1.0")
    expect(dana.page.locator("table.annotations.protected")).to_have_count(0)
    assert SECRET_URL not in dana.page.content()
    expect(dana.page.locator("header .access")).to_have_text("public data only")

    sign_in(admin, site.users["admin"], PASSWORDS["admin"], "/siteadmin/")
    site.secrets.append(session_cookie(admin))
    row = admin.page.locator(f"table.users tr[data-username='{site.users['dana']}']")
    row.get_by_label("view_pii").check()
    row.get_by_role("button", name="Save").click()
    expect(admin.page.locator("p.notice")).to_contain_text(f"{site.users['dana']}: +view_pii")
    shot(admin, "siteadmin-users")

    dana.open(f"/report/index/{site.secret}", screenshot="report-after-grant")
    protected = dana.page.locator("table.annotations.protected")
    expect(protected).to_contain_text(SECRET_URL)
    expect(protected).to_contain_text(SECRET_COMMENT)
    expect(dana.page.locator("header .access")).to_have_text("public and protected data")

    admin.open("/siteadmin/indices/", screenshot="siteadmin-indices")
    index = admin.page.locator("table.indices tbody tr").first
    expect(index).to_contain_text("-accounts-")
    assert int(index.locator("td.num").first.inner_text().replace(",", "")) >= 1

    admin.open("/siteadmin/auditlog/", screenshot="auditlog")
    grant = admin.page.locator("table.auditlog tr[data-action='user.grant']").first
    expect(grant).to_contain_text(site.users["admin"])
    expect(grant).to_contain_text(site.users["dana"])
    expect(grant).to_contain_text("view_pii")


def test_the_crash_page_reprocess_form_works_signed_in(browse, site):
    remy = browse()
    sign_in(remy, site.users["remy"], PASSWORDS["remy"], f"/report/index/{site.secret}")
    form = remy.page.locator("form.reprocess")
    assert form.locator("input[name=csrf_token]").get_attribute("value")  # the session's
    form.get_by_role("button", name="Reprocess this crash").click()
    expect(remy.page.locator("p.notice")).to_contain_text("queued for reprocessing")


def test_status_message_appears_on_every_page(browse, site):
    admin, visitor = browse(), browse()
    sign_in(admin, site.users["admin"], PASSWORDS["admin"], "/siteadmin/status/")
    message = f"Planned maintenance {RUN}: crashes are queued, not lost."
    admin.page.get_by_label("Message").fill(message)
    admin.page.get_by_label("Severity").select_option("critical")
    admin.page.get_by_role("button", name="Show it on every page").click()
    pages = ["/", f"/search/?product={quote('=Accounts' + RUN)}",
             f"/report/index/{site.secret}", f"/topcrashers/?product=Accounts{RUN}"
             "&version=1.0&process_type=any", "/signature/?signature=CrashHere",
             "/documentation/", "/documentation/datadictionary/",
             "/documentation/supersearch/", "/documentation/api/",
             "/documentation/send-crashes/", "/monitoring/", "/login/"]
    try:
        for path in pages:
            visitor.open(path)
            banner = visitor.page.locator("div.banner")
            expect(banner).to_have_attribute("data-severity", "critical")
            expect(banner).to_contain_text(message)
        visitor.open("/no/such/page", status=404, screenshot="status-banner-404")
        expect(visitor.page.locator("div.banner")).to_contain_text(message)
        expected_http_errors(visitor, 404)
        for path in ("/profile/", "/api/tokens/", "/siteadmin/"):
            admin.open(path)
            expect(admin.page.locator("div.banner")).to_contain_text(message)
    finally:
        admin.open("/siteadmin/status/")
        admin.page.get_by_role("button", name="Remove the current message").click()
    visitor.open("/")
    expect(visitor.page.locator("div.banner")).to_have_count(0)


# -- documentation ------------------------------------------------------------------------
def test_data_dictionary_lists_every_registry_field(browse, site):
    visitor = browse()
    visitor.open("/documentation/datadictionary/", screenshot="datadictionary")
    rows = visitor.page.locator("table.dictionary tbody tr").evaluate_all("""rows =>
        rows.map(r => [r.querySelector('th code').textContent,
                       r.querySelector('td.type').textContent,
                       r.querySelector('td.description').textContent,
                       r.querySelector('td.access').textContent,
                       r.querySelector('td.operators').textContent])""")
    shown = {name: (type_, description, access, operators)
             for name, type_, description, access, operators in rows}
    assert len(rows) == len(shown) == len(FIELDS)
    for fdef in FIELDS:
        type_, description, access, operators = shown[fdef.name]
        assert type_ == fdef.type.value
        assert description.startswith(fdef.description)
        assert access == ("public" if fdef.public else f"protected: {fdef.permission}")
        assert operators  # every field takes some operator
    # An example link is a working search.
    visitor.page.locator("tr#field-product a.example").click()
    expect(visitor.page.locator("h1")).to_contain_text("Super Search")
    assert "product=" in visitor.page.url


def test_api_reference_try_it_with_a_token(browse, site):
    response = requests.get(f"{site.url}/documentation/api/", timeout=30)
    csp = response.headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'nonce-([^']+)'", csp).group(1)
    assert "unsafe-inline" not in csp and "connect-src 'self'" in csp
    assert f'nonce="{nonce}"' in response.text
    # Every other page still forbids every script.
    assert "script-src 'none'" in requests.get(f"{site.url}/", timeout=30).headers[
        "Content-Security-Policy"]

    key, _ = site.accounts.create_token(site.users["erik"], ["view_pii"])
    site.secrets.append(key)
    visitor = browse()
    visitor.open("/documentation/api/")
    page = visitor.page
    expect(page.locator("section#UploadSymbols-post form input[type=file]")).to_have_count(1)
    scripts = page.locator("script")
    assert scripts.count() == 1 and scripts.first.get_attribute("src") == "/static/apidoc.js"
    form = page.locator("section#ProcessedCrash-get form.try-it")
    form.locator("input[name=crash_id]").fill(site.secret)

    # Anonymous: public data only.
    form.get_by_role("button", name="Try it").click()
    answer = form.locator("output.answer")
    expect(answer).to_have_attribute("data-status", "200")
    expect(answer.locator("pre")).to_contain_text(f'"uuid": "{site.secret}"')
    assert SECRET_URL not in answer.inner_text()

    # With the token: the protected URL, sent in the header, never in the address.
    page.get_by_label("API token").fill(key)
    with page.expect_request(lambda r: "/api/ProcessedCrash/" in r.url) as sent:
        form.get_by_role("button", name="Try it").click()
    assert sent.value.headers.get("auth-token") == key and key not in sent.value.url
    expect(answer.locator("pre")).to_contain_text(SECRET_URL)
    expect(answer.locator(".status")).to_contain_text("HTTP 200")
    shot(visitor, "api-try-it")

    # An endpoint that needs a permission the token lacks answers 403, shown as such.
    search = page.locator("section#SuperSearchUnredacted-get form.try-it")
    page.get_by_label("API token").fill("0" * 32)
    search.get_by_role("button", name="Try it").click()
    expect(search.locator("output.answer")).to_have_attribute("data-status", "403")
    expect(search.locator("output.answer pre")).to_contain_text("API Token not matched")
    expected_http_errors(visitor, 403)


def test_send_crashes_page_names_this_collector(browse, site):
    visitor = browse()
    visitor.open("/documentation/send-crashes/", screenshot="send-crashes")
    collector = f"{site.services['collector'].url}/submit"
    expect(visitor.page.locator("#collector-url")).to_have_text(collector)
    expect(visitor.page.locator("#crashline-submit + pre")).to_contain_text(
        f"crashline submit --url {collector}")
    expect(visitor.page.locator("table.recommended tr.essential")).to_have_count(2)
    expect(visitor.page.locator("table.send-annotations tbody tr")).to_have_count(
        len([f for f in FIELDS if f.annotations]))  # every annotation Crashline reads
    expect(visitor.page.locator("tr.essential[data-field=product] th")).to_contain_text(
        "ProductName")
    expect(visitor.page.locator("#symbols")).to_contain_text("dump_syms")
    expect(visitor.page.locator("#upload-symbols pre")).to_have_text(
        f"CRASHLINE_API_TOKEN=<key> crashline upload-symbols build/symbols/ --url {site.url}")


# -- monitoring ---------------------------------------------------------------------------
def crontabber(site: Site, *args: str, **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRASHLINE_")}
    return subprocess.run([str(BIN / "crashline"), "crontabber", *args],
                          env={**env, **site.env, **extra}, capture_output=True, text=True,
                          timeout=300)


def test_monitoring_shows_a_failed_job_and_a_ledger_difference(browse, site):
    visitor = browse()
    visitor.open("/monitoring/", screenshot="monitoring-before-crontabber")
    page = visitor.page
    expect(page.locator("p.crontabber-state")).to_contain_text("never run against this database")
    expect(page.locator("tr[data-service=collector]")).to_have_class("ok")
    expect(page.locator("tr[data-service=processor]")).to_have_class("ok")

    # A job made to fail (its bug tracker does not answer), and the ledger counted.
    failed = crontabber(site, "run-job", "bug-associations", "--force",
                        CRASHLINE_CRONTABBER_BUGZILLA_URL="http://127.0.0.1:9/rest")
    assert failed.returncode != 0, failed.stdout + failed.stderr
    ledger = crontabber(site, "run-job", "ledger", "--force")
    assert ledger.returncode == 0, ledger.stdout + ledger.stderr

    admin = browse()
    sign_in(admin, site.users["admin"], PASSWORDS["admin"], "/monitoring/")
    page = admin.page
    shot(admin, "monitoring")
    job = page.locator("tr[data-job='bug-associations']")
    expect(job).to_have_attribute("data-status", "failing")
    expect(job.locator("td.errors")).to_contain_text("1 in a row")
    expect(job).to_contain_text("retry at")
    expect(job.locator("details.traceback")).to_have_count(1)
    expect(page.locator(".health.problems")).to_contain_text("job bug-associations is failing")

    hour = page.locator("table.ledger tr.unbalanced")
    expect(hour).to_have_count(1)
    difference = hour.locator("div.difference[data-kind=stored_not_processed]")
    expect(difference).to_contain_text(site.unqueued)
    expect(difference.locator("a.crash")).to_have_attribute(
        "href", f"/report/index/{site.unqueued}")
    expect(page.locator("p.crontabber-state")).to_contain_text("The crontabber is running")

    # The same as JSON.
    body = site.api("/api/Monitoring/").json()
    jobs = {j["name"]: j for j in body["crontabber"]["jobs"]}
    assert jobs["bug-associations"]["status"] == "failing"
    unbalanced = [h for h in body["ledger"]["hours"] if not h["balanced"]]
    assert unbalanced[0]["differences"]["stored_not_processed"]["crash_ids"] == [site.unqueued]


# -- safety -------------------------------------------------------------------------------
class EvilSite:
    """A page on another site (``localhost``, not ``127.0.0.1``) whose form posts to ours."""

    def __init__(self, target: str, fields: dict[str, str]):
        inputs = "".join(f'<input name="{k}" value="{v}">' for k, v in fields.items())
        html = (f'<!doctype html><title>win a prize</title><form method="post" '
                f'action="{target}">{inputs}<button>Claim</button></form>').encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(html)))
                self.end_headers()
                self.wfile.write(html)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://localhost:{self.server.server_port}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("target", ["/api/tokens/", "/siteadmin/users/permissions",
                                    "/report/reprocess/"])
def test_a_cross_site_post_is_refused(browse, site, target):
    victim = browse()
    user = "remy" if target.startswith("/report") else "admin"  # who could do it here
    sign_in(victim, site.users[user], PASSWORDS[user])
    if target.startswith("/report"):
        target += site.secret
    before = site.accounts.list_tokens(site.users["admin"])
    evil = EvilSite(f"{site.url}{target}", {
        "permission": "admin", "days": "30", "notes": "forged", "username": site.users["dana"],
        "csrf_token": "guessed"})
    try:
        victim.open(evil.url)
        with victim.page.expect_response(lambda r: target in r.url) as answer:
            victim.page.get_by_role("button", name="Claim").click()
        assert answer.value.status == 403
        expect(victim.page.locator("p.error-message")).to_contain_text("CSRF")
    finally:
        evil.close()
    expected_http_errors(victim, 403)
    assert site.accounts.list_tokens(site.users["admin"]) == before
    assert "admin" not in site.accounts.get_user(site.users["dana"]).permissions
    # Still signed in: the forged request changed nothing, not even the session.
    victim.open("/profile/")


def test_self_escalation_is_refused(browse, site):
    erik = browse()
    sign_in(erik, site.users["erik"], PASSWORDS["erik"], "/api/tokens/")
    token = erik.page.locator("form.create-token input[name=csrf_token]").get_attribute("value")
    # A hand-made form asking for a permission erik lacks, with his own valid CSRF token.
    answer = erik.page.request.post(f"{site.url}/api/tokens/", form={
        "csrf_token": token, "permission": "view_rawdump", "days": "5"})
    assert answer.status == 403 and "view_rawdump" in answer.text()
    assert all("view_rawdump" not in t.permissions
               for t in site.accounts.list_tokens(site.users["erik"]))
    # Nor can erik grant himself anything: the admin pages refuse him outright.
    grant = erik.page.request.post(f"{site.url}/siteadmin/users/permissions", form={
        "csrf_token": token, "username": site.users["erik"], "permission": "view_rawdump"})
    assert grant.status == 403
    assert site.accounts.get_user(site.users["erik"]).permissions == {"view_pii"}
    # An admin grants only what they have (the admin here lacks reprocess_crashes).
    admin = browse()
    sign_in(admin, site.users["admin"], PASSWORDS["admin"], "/siteadmin/")
    row = admin.page.locator(f"table.users tr[data-username='{site.users['admin']}']")
    expect(row.get_by_label("reprocess_crashes")).to_be_disabled()
    admin_token = row.locator("input[name=csrf_token]").first.get_attribute("value")
    wanted = ["admin", "view_pii", "view_rawdump", "reprocess_crashes"]
    escalate = admin.page.request.post(
        f"{site.url}/siteadmin/users/permissions",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data=urlencode([("csrf_token", admin_token), ("username", site.users["admin"]),
                        *(("permission", p) for p in wanted)]))
    assert escalate.status == 403 and "reprocess_crashes" in escalate.text()
    assert "reprocess_crashes" not in site.accounts.get_user(site.users["admin"]).permissions


def test_admin_pages_refuse_everyone_without_admin(browse, site):
    paths = ["/siteadmin/", "/siteadmin/tokens/", "/siteadmin/status/",
             "/siteadmin/indices/", "/siteadmin/auditlog/"]
    anonymous = browse()
    for path in paths:
        anonymous.open(path)  # to the sign-in page, which shows nothing of the admin's
        assert anonymous.page.url.startswith(f"{site.url}/login/")
        expect(anonymous.page.locator("table.users, table.auditlog")).to_have_count(0)
    erik = browse()
    sign_in(erik, site.users["erik"], PASSWORDS["erik"])
    for path in paths:
        erik.open(path, status=403)
        expect(erik.page.locator("p.error-message")).to_contain_text("'admin' permission")
        expect(erik.page.locator("table")).to_have_count(0)
    expected_http_errors(erik, 403)
    expect(erik.page.locator("header a[href='/siteadmin/']")).to_have_count(0)
    key, _ = site.accounts.create_token(site.users["admin"], ["admin"])
    site.secrets.append(key)
    for path in paths:  # not even an admin's token: admin pages need a signed-in admin
        assert requests.get(f"{site.url}{path}", headers={"Auth-Token": key},
                            timeout=30).status_code == 403


def test_secrets_never_reach_logs_metrics_or_error_pages(browse, site):
    # A failed sign-in does not echo the password; an error page does not echo a token.
    visitor = browse()
    visitor.open("/login/")
    visitor.page.get_by_label("Username").fill(site.users["dana"])
    visitor.page.get_by_label("Password").fill(PASSWORDS["dana"] + "-wrong")
    visitor.page.get_by_role("button", name="Sign in").click()
    expect(visitor.page.locator("p.error-message")).to_have_text("Wrong username or password.")
    assert PASSWORDS["dana"] not in visitor.page.content()
    expected_http_errors(visitor, 400)
    for key in site.secrets:
        answer = site.api("/api/SuperSearchFields/", key)
        assert key not in answer.text
        page = requests.get(f"{site.url}/profile/", timeout=30,
                            cookies={SESSION_COOKIE: key}, allow_redirects=False)
        assert key not in page.text and key not in page.headers.get("location", "")

    assert len(site.secrets) >= 6  # passwords, token keys and session ids of the tests
    metrics = requests.get(f"{site.url}/metrics", timeout=30).text
    logs = {name: service.logs() for name, service in site.services.items()}
    assert "POST /login/" in logs["webapp"]  # the log is the one these tests wrote to
    for secret in site.secrets:
        assert secret not in metrics
        for name, text in logs.items():
            assert secret not in text, f"a secret is in the {name} log"
