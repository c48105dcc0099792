"""Browser tests: Playwright for Python driving Debian's Chromium (never a browser of
Playwright's own) over a real collector, processor and webapp, with crashes from the corpus
and synthetic ones made here.

Crashes of four kinds are made once per session:

- the corpus's Windows crash, submitted through the collector;
- ranked crashes: four signatures in known numbers today and the day before, stored the
  way the collector stores them (back-dated) and queued for the real processor;
- a hostile crash: annotations, module and function names and source files that try to
  inject markup, break attributes and smuggle ``javascript:`` URLs;
- a crash with protected data (URL, comments) with markers to look for.

The services run for this module only: their processor consumes the session's queues,
which later suites use with processors of their own.

A screenshot of every page a test opens is kept in ``tests/browser/screenshots/`` (git
ignores it), so a person can look at the last run.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from harness.services import BIN, pipeline, wait_for
from processor_support.minidump import MinidumpSpec, Module, build_minidump, symbol_file

from crashline.common.crashid import create_crash_id
from crashline.common.storage import storage_from_settings

CHROMIUM = os.environ.get("CRASHLINE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
SOURCE_TEMPLATE = "https://source.example/{path}#L{line}"
RUN = uuid.uuid4().hex[:6]

# The ranked crashes: signature -> (crashes in the last day, crashes the day before).
RANKED = {"RankAlpha": (4, 1), "RankBravo": (3, 3), "RankCharlie": (2, 2), "RankDelta": (1, 0)}
RANKED_FUNCTIONS = {0x1000 * (i + 3): (name, 10 + i) for i, name in enumerate(RANKED)}

# Hostile text: each would run script, add an attribute or make a live link if a page
# printed it raw. None contains "/" (module names and symbol paths split on it).
XSS = {
    "product": 'Evil"><img src=x onerror=alert(1)>',
    "version": "1.0'><svg onload=alert(2)>",
    "notes": '"><script>alert(3)</script>',
    "vendor": "javascript:alert(4)",
    "module": "c:\\app\\x\" onmouseover=\"alert(5)\"<b>.exe",
    "function": "Evil<script>alert(6)</script>\"'",
    "source": "javascript:alert(7)",
}
HOSTILE_MODULE = Module(name=XSS["module"], debug_file="hostile.pdb",
                        guid=uuid.UUID("11111111-2222-3333-4444-555555555555"))
SECRET_URL = f"https://private.example/SECRET-URL-{RUN}"
SECRET_COMMENT = f"SECRET-COMMENT-{RUN}"


@dataclass
class Site:
    url: str
    product: str            # the ranked crashes' product
    corpus: str             # crash ids
    hostile: str
    secret: str
    ranked: dict[str, list[str]] = field(default_factory=dict)
    ranked_days: list[dt.date] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    services: dict = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def _submit(collector_url: str, dump: Path, annotations: dict[str, str]) -> str:
    args = [str(BIN / "crashline"), "submit", "--url", f"{collector_url}/submit",
            "--dump", str(dump)]
    for name, value in annotations.items():
        args += ["-a", f"{name}={value}"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def store_raw(storage, when: dt.datetime, annotations: dict[str, str], dump: bytes) -> str:
    """A crash stored as the collector stores it, received at ``when``."""
    crash_id = create_crash_id(when)
    raw = {**annotations, "uuid": crash_id, "submitted_timestamp": when.isoformat(),
           "metadata": {"submitted_timestamp": when.isoformat(), "collector_notes": []}}
    storage.save_raw_crash(crash_id, raw, {"upload_file_minidump": dump})
    return crash_id


def wait_processed(url: str, crash_id: str, timeout: float = 120) -> None:
    def found():
        r = requests.get(f"{url}/api/SuperSearch/", params={"uuid": crash_id}, timeout=30)
        if r.status_code == 503:  # a new weekly index is starting
            return None
        assert r.status_code == 200, r.text
        return r.json()["total"] == 1

    wait_for(found, timeout, f"crash {crash_id} to be processed and indexed")


@pytest.fixture(scope="module")
def site(crashline_env, settings, database, search_backend, rabbitmq_client, corpus,
         tmp_path_factory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("browser")
    env = dict(crashline_env)
    env["CRASHLINE_SEARCH_INDEX_TEMPLATE"] = env["CRASHLINE_SEARCH_INDEX_TEMPLATE"].replace(
        "-%Y%W", "-browser-%Y%W")
    symbols = tmp / "symbols"
    symbol_file(symbols, functions={0x1000: ("CrashHere(int)", 42), 0x2000: ("main", 7),
                                    **RANKED_FUNCTIONS}, source="c:\\src\\ranked.cc")
    symbol_file(symbols, HOSTILE_MODULE, {0x1000: (XSS["function"], 3), 0x2000: ("main", 7)},
                source=XSS["source"])
    webapp_env = {"CRASHLINE_WEBAPP_SOURCE_URLS": '{"hg": "https://{root}/file/{rev}/{path}'
                  '#l{line}", "path": "' + SOURCE_TEMPLATE + '"}'}
    with pipeline(env, tmp, [str(symbols), str(corpus / "symbols")], webapp_env) as services:
        web = services["webapp"].url
        collector = services["collector"].url
        storage = storage_from_settings(settings)
        now = dt.datetime.now(dt.UTC)
        product = f"Ranked{RUN}"

        corpus_id = _submit(collector, corpus / "minidumps/windows-x86-test_app.dmp",
                            {"ProductName": f"Corpus{RUN}", "Version": "1.0"})
        hostile_dump = tmp / "hostile.dmp"
        hostile_dump.write_bytes(build_minidump(MinidumpSpec(modules=[HOSTILE_MODULE])))
        hostile_id = _submit(collector, hostile_dump, {
            "ProductName": XSS["product"], "Version": XSS["version"], "Notes": XSS["notes"],
            "Vendor": XSS["vendor"], "ProcessType": "parent", "URL": XSS["vendor"],
            "Comments": XSS["notes"]})
        plain_dump = tmp / "plain.dmp"
        plain_dump.write_bytes(build_minidump())
        secret_id = _submit(collector, plain_dump, {
            "ProductName": f"Secret{RUN}", "Version": "2.0", "URL": SECRET_URL,
            "Comments": SECRET_COMMENT})

        ranked: dict[str, list[str]] = {}
        days: list[dt.date] = []
        for i, (name, (today, before)) in enumerate(RANKED.items()):
            offset = 0x1000 * (i + 3) + 0x10
            dump = build_minidump(MinidumpSpec(crash_offset=offset))
            for n, hours in [(today, 2 + i), (before, 30 + i)]:
                for k in range(n):
                    when = now - dt.timedelta(hours=hours, minutes=k)
                    days.append(when.date())
                    crash_id = store_raw(storage, when, {
                        "ProductName": product, "Version": "1.0", "ProcessType": "parent",
                        "StartupCrash": "1" if name == "RankAlpha" else "0"}, dump)
                    rabbitmq_client.publish(rabbitmq_client.names.standard, crash_id)
                    ranked.setdefault(name, []).append(crash_id)

        from crashline.webapp.auth.store import AccountStore

        accounts = AccountStore(database)
        user, reader = f"browser-{RUN}", f"reader-{RUN}"
        accounts.create_user(user, permissions=["view_pii", "view_rawdump",
                                                "reprocess_crashes"])
        accounts.create_user(reader)
        tokens = {"pii": accounts.create_token(user, ["view_pii", "view_rawdump",
                                                      "reprocess_crashes"])[0],
                  "none": accounts.create_token(reader, [])[0]}

        for crash_id in [corpus_id, hostile_id, secret_id,
                         *(c for ids in ranked.values() for c in ids)]:
            wait_processed(web, crash_id)
        yield Site(web, product, corpus_id, hostile_id, secret_id, ranked, days, tokens,
                   services, env)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Visitor:
    """A browser tab of one user (anonymous, or an API token) that records everything a page
    should never do: console errors, uncaught exceptions, dialogs."""

    def __init__(self, browser, base_url: str, token: str | None = None):
        headers = {"Auth-Token": token} if token else {}
        self.context = browser.new_context(base_url=base_url, extra_http_headers=headers,
                                           viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

        def on_dialog(dialog):
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        self.page.on("dialog", on_dialog)

    def open(self, path: str, screenshot: str | None = None, status: int = 200):
        response = self.page.goto(path)
        assert response is not None and response.status == status, (
            path, response and response.status, response and response.text()[:2000])
        if screenshot:
            SCREENSHOTS.mkdir(exist_ok=True)
            self.page.screenshot(path=str(SCREENSHOTS / f"{screenshot}.png"), full_page=True)
        return response

    def clean(self) -> None:
        """Nothing ran that should not have."""
        assert self.errors == [], self.errors
        assert self.dialogs == [], self.dialogs

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visitor(browser, site) -> Iterator[Visitor]:
    v = Visitor(browser, site.url)
    yield v
    v.close()


@pytest.fixture
def visitor_as(browser, site):
    opened: list[Visitor] = []

    def make(token_name: str | None) -> Visitor:
        v = Visitor(browser, site.url, site.tokens[token_name] if token_name else None)
        opened.append(v)
        return v

    yield make
    for v in opened:
        v.close()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
