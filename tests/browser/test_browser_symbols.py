"""Symbols that arrive late, end to end: the corpus's Windows crash is submitted while the
symbol store is empty (a module-offset signature, its module on the missing-symbols report),
its symbols are uploaded with ``crashline upload-symbols``, and the crash is processed again
on its own: function, file and line in the API and in Chromium, the reason in its history,
and the signature report showing the move. Every process is real (gunicorn collector and
webapp, a processor with ``minidump-stackwalk`` asking the webapp's symbol server)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from urllib.parse import quote

import pytest
import requests
from browser_support import RUN, Visitor, _submit, wait_processed
from harness.services import BIN, pipeline, wait_for
from playwright.sync_api import expect

from crashline.webapp.auth.store import AccountStore

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

DEBUG_ID = "5A9832E5287241C1838ED98914E9B7FF1"
MODULE = f"test_app.pdb/{DEBUG_ID}"
SYMBOLICATED = "(anonymous namespace)::CrashFunction"
UPLOAD_LIMIT = 5_000_000  # the corpus's symbols are 0.8 MB


@dataclass
class LateSymbols:
    url: str
    crash_id: str
    product: str
    token: str
    before: dict           # the processed crash before its symbols arrived
    report_before: dict    # the MissingSymbols answer then
    upload: subprocess.CompletedProcess
    after: dict            # the processed crash after


def api(url: str, endpoint: str, **params) -> requests.Response:
    return requests.get(f"{url}/api/{endpoint}/", params=params, timeout=30)


@pytest.fixture(scope="module")
def late(crashline_env, database, search_backend, rabbitmq_client, corpus, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("late-symbols")
    env = dict(crashline_env)
    env["CRASHLINE_SEARCH_INDEX_TEMPLATE"] = env["CRASHLINE_SEARCH_INDEX_TEMPLATE"].replace(
        "-%Y%W", "-symbols-%Y%W")
    # The catalog is in the database every test session shares, the store in this session's
    # storage: forget earlier sessions' upload of these symbols.
    with database.transaction() as cur:
        cur.execute("DELETE FROM symbol_files WHERE debug_file = 'test_app.pdb' AND "
                    "debug_id = %s", (DEBUG_ID,))
    webapp_env = {"CRASHLINE_SYMBOLS_UPLOAD_MAX_BYTES": str(UPLOAD_LIMIT)}
    with pipeline(env, tmp, [], webapp_env) as services:  # the symbol store only
        url = services["webapp"].url
        product = f"LateSymbols{RUN}"
        crash_id = _submit(services["collector"].url,
                           corpus / "minidumps/windows-x86-test_app.dmp",
                           {"ProductName": product, "Version": "1.0"})
        wait_processed(url, crash_id)
        before = api(url, "ProcessedCrash", crash_id=crash_id).json()
        report_before = api(url, "MissingSymbols", product=product).json()

        accounts = AccountStore(database)
        accounts.create_user(f"ci-{RUN}", permissions=["upload_symbols"])
        token = accounts.create_token(f"ci-{RUN}", ["upload_symbols"])[0]
        upload = subprocess.run(
            [str(BIN / "crashline"), "upload-symbols", str(corpus / "symbols"), "--url", url,
             "--no-progress"], env={**os.environ, "CRASHLINE_API_TOKEN": token},
            capture_output=True, text=True, timeout=120)

        def symbolicated():
            hits = api(url, "SuperSearch", uuid=crash_id, _columns="signature").json()["hits"]
            return hits and hits[0]["signature"] == SYMBOLICATED

        if upload.returncode == 0:
            wait_for(symbolicated, 120, f"crash {crash_id} to be reprocessed with symbols")
        after = api(url, "ProcessedCrash", crash_id=crash_id).json()
        yield LateSymbols(url, crash_id, product, token, before, report_before, upload, after)


def test_before_its_symbols_the_crash_has_a_module_offset_signature(late):
    # Frames without symbols are module and offset; the signature is the module's name, as
    # the reference's generator makes it.
    assert late.before["signature"] == "test_app.exe"
    frame = late.before["json_dump"]["crashing_thread"]["frames"][0]
    assert frame["missing_symbols"] is True and frame["function"] is None
    assert (frame["module"], frame["module_offset"]) == ("test_app.exe", "0x0000429e")
    assert MODULE in late.before["missing_symbol_files"]
    [row] = [h for h in late.report_before["hits"] if h["debug_file"] == "test_app.pdb"]
    assert row["debug_id"] == DEBUG_ID and row["crashes"] == 1
    assert row["uploaded_at"] is None
    assert row["products"] == [{"product": late.product, "crashes": 1,
                                "versions": [{"version": "1.0", "crashes": 1}]}]


def test_uploaded_symbols_reprocess_the_crash_on_its_own(late):
    assert late.upload.returncode == 0, late.upload.stderr
    assert '"stored": 1' in late.upload.stdout
    after = late.after
    assert after["signature"] == SYMBOLICATED
    frame = after["json_dump"]["crashing_thread"]["frames"][0]
    assert frame["function"] == "`anonymous namespace'::CrashFunction"
    assert frame["file"] == "c:\\test_app.cc" and frame["line"] == 58
    assert MODULE not in after["missing_symbol_files"]  # kernel32's are still missing
    # Its history says why it was processed again, and what its signature was.
    assert f"reprocessed: symbols arrived for {MODULE}" in after["processor_notes"]
    assert after["processor_history"] and \
        "reprocessed" not in after["processor_history"][0]
    assert after["signature_moved_from"] == late.before["signature"]
    # Searchable under its new signature, by what it moved from.
    found = api(late.url, "SuperSearch", signature_moved_from="=" + late.before["signature"],
                product="=" + late.product, _columns="signature").json()
    assert found["hits"] == [{"signature": SYMBOLICATED}]


def test_the_crash_page_shows_function_file_and_line(browser, late):
    visitor = Visitor(browser, late.url)
    try:
        visitor.open(f"/report/index/{late.crash_id}", screenshot="late-symbols-report")
        top = visitor.page.locator("#frames table.frames tbody tr").nth(0)
        expect(top.locator("td.function")).to_have_text("`anonymous namespace'::CrashFunction")
        expect(top.locator("td.source")).to_have_text("c:\\test_app.cc:58")
        expect(visitor.page.locator("#notes")).to_contain_text(
            f"reprocessed: symbols arrived for {MODULE}")
        visitor.clean()
    finally:
        visitor.close()


def test_the_signature_report_shows_the_move(browser, late):
    old = late.before["signature"]
    visitor = Visitor(browser, late.url)
    try:
        visitor.open(f"/signature/?signature={quote(SYMBOLICATED)}&product=%3D{late.product}",
                     screenshot="late-symbols-signature")
        here = visitor.page.locator("table.moves tr.moved-here")
        expect(here).to_have_count(1)
        expect(here.locator("td").nth(0)).to_have_text(old)
        expect(here.locator("td").nth(2)).to_have_text("1")
        visitor.open(f"/signature/?signature={quote(old)}&product=%3D{late.product}")
        away = visitor.page.locator("table.moves tr.moved-away")
        expect(away.locator("td").nth(1)).to_have_text(SYMBOLICATED)
        visitor.clean()
    finally:
        visitor.close()


def test_the_missing_symbols_page(browser, late):
    visitor = Visitor(browser, late.url)
    try:
        visitor.open(f"/missing-symbols/?product={late.product}&days=1",
                     screenshot="missing-symbols")
        expect(visitor.page.locator("h1")).to_have_text("Missing symbols")
        # Reprocessed with test_app's symbols, the crash misses only kernel32's now.
        rows = visitor.page.locator("table.missing-symbols tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.locator("td.debug-file")).to_have_text("kernel32.pdb")
        expect(rows.locator("td.products")).to_have_text(f"{late.product} 1.0 (1)")
        expect(rows.locator("td.status")).to_have_text("missing")
        visitor.clean()
    finally:
        visitor.close()


def test_a_chunked_upload_is_bounded_by_the_server(late):
    """No Content-Length: the webapp counts as it reads (gunicorn decodes the chunks)."""
    def body():
        yield b"MODULE windows x86 " + DEBUG_ID.encode() + b" test_app.pdb\n"
        chunk = b"x" * (1 << 20)
        for _ in range(UPLOAD_LIMIT // len(chunk) + 2):
            yield chunk

    response = requests.post(f"{late.url}/api/UploadSymbols/", data=body(), timeout=300,
                             headers={"Auth-Token": late.token})
    assert response.status_code == 413, response.text
