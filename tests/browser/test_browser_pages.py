"""Every page in a real browser: what it shows, that it runs nothing it should not, and
that protected data never reaches a user without the permission."""

from __future__ import annotations

import collections
import datetime as dt
from urllib.parse import quote

import pytest
import requests
from browser_support import RUN, SECRET_COMMENT, SECRET_URL, XSS, Visitor, store_raw
from playwright.sync_api import expect
from processor_support.minidump import build_minidump

from crashline.common.storage import storage_from_settings

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def q(value: str) -> str:
    return quote(value, safe="")


def ranked_pages(site) -> dict[str, str]:
    return {
        "home": "/",
        "product": f"/home/product/{site.product}",
        "product-30-days": f"/home/product/{site.product}?days=30",
        "search": f"/search/?product={q('=' + site.product)}&_facets=signature&_facets=version",
        "report": f"/report/index/{site.corpus}",
        "topcrashers": f"/topcrashers/?product={site.product}&version=1.0&days=1"
                       "&process_type=any",
        "signature": f"/signature/?signature=RankAlpha&product={q('=' + site.product)}",
    }


def test_every_page_loads_without_console_errors(visitor, site):
    for name, path in ranked_pages(site).items():
        visitor.open(path, screenshot=name)
        expect(visitor.page.locator("h1")).to_have_count(1)
        # Pages carry no script at all, and fetch nothing but our own styles and icon.
        expect(visitor.page.locator("script")).to_have_count(0)
    visitor.clean()


def test_pages_are_readable_without_javascript(browser, site):
    context = browser.new_context(base_url=site.url, java_script_enabled=False)
    try:
        page = context.new_page()
        for path in ranked_pages(site).values():
            assert page.goto(path).status == 200
            assert page.locator("main").inner_text().strip()
    finally:
        context.close()


def test_security_headers(site):
    response = requests.get(f"{site.url}/search/", timeout=30)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'none'" in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Type"].startswith("text/html")


def test_corpus_crash_shows_frames_and_source_links(visitor, site):
    visitor.open(f"/report/index/{site.corpus}")
    page = visitor.page
    expect(page.locator("h1")).to_contain_text(f"Corpus{RUN} 1.0 crash report")
    expect(page.locator("h1")).to_contain_text("[@ (anonymous namespace)::CrashFunction]")
    expect(page.locator("table.details")).to_contain_text("EXCEPTION_ACCESS_VIOLATION_WRITE")

    frames = page.locator("#frames table.frames tbody tr")
    top, caller = frames.nth(0), frames.nth(1)
    expect(top.locator("td.function")).to_have_text("`anonymous namespace'::CrashFunction")
    expect(top.locator("td.module")).to_have_text("test_app.exe")
    expect(top.locator("td.trust")).to_have_text("context")
    link = top.locator("td.source a")
    expect(link).to_have_text("c:\\test_app.cc:58")
    expect(link).to_have_attribute("href", "https://source.example/test_app.cc#L58")
    expect(caller.locator("td.function")).to_have_text("main")
    expect(caller.locator("td.source a")).to_have_attribute(
        "href", "https://source.example/test_app.cc#L65")
    expect(page.locator("table.modules").first).to_contain_text("test_app.exe")
    expect(page.locator("table.modules").first).to_contain_text("ntdll.dll")

    # The other thread on demand.
    expect(page.locator("h3", has_text="Thread 1")).to_have_count(0)
    page.get_by_role("link", name="Show the other 1 threads").click()
    expect(page.locator("h3", has_text="Thread 1")).to_have_count(1)
    visitor.clean()


def test_search_refinement_and_paging(visitor, site):
    page = visitor.page
    every = {c for ids in site.ranked.values() for c in ids}
    visitor.open(f"/search/?product={q('=' + site.product)}&_results_number=5")
    expect(page.locator("p.total")).to_have_text(f"{len(every)} crashes; page 1 of 4.")
    seen: list[str] = []
    for number in range(1, 5):
        expect(page.locator("nav.pager strong")).to_have_text(str(number))
        seen += page.locator("table.hits td.uuid a").all_inner_texts()
        if number < 4:
            page.get_by_role("link", name="next »").click()
    assert sorted(seen) == sorted(every)

    # A facet term refines the search to that signature.
    visitor.open(f"/search/?product={q('=' + site.product)}")
    page.locator("#facet-signature tr", has_text="RankAlpha").locator("a.refine").click()
    expect(page.locator("p.total")).to_have_text("5 crashes.")
    assert set(page.locator("table.hits td.signature > a:not(.refine)").all_inner_texts()) \
        == {"RankAlpha"}
    assert "signature=%3DRankAlpha" in page.url

    # A value in the results refines too, and the API URL says the same search.
    page.locator("table.hits td.version a").first.click()
    assert "version=%3D1.0" in page.url
    expect(page.locator("p.total")).to_have_text("5 crashes.")
    api = page.locator("p.api-url a").get_attribute("href")
    body = requests.get(site.url + api, timeout=30).json()
    assert body["total"] == 5

    # A filter row of the form: signature starts with RankB.
    visitor.open(f"/search/?product={q('=' + site.product)}")
    row = page.locator("fieldset.rows .row").first
    row.locator("select[name=_field]").select_option("signature")
    row.locator("select[name=_op]").select_option("^")
    row.locator("input[name=_value]").fill("RankB")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("p.total")).to_have_text("6 crashes.")
    assert "signature=%5ERankB" in page.url and "_field" not in page.url
    # The form shows the search it made.
    expect(page.locator("fieldset.rows .row").first.locator("input[name=_value]")) \
        .to_have_value("RankB")
    visitor.clean()


def test_top_crashers_ranks_with_changes_against_the_previous_window(visitor, site):
    page = visitor.page
    visitor.open(f"/topcrashers/?product={site.product}&version=1.0&days=1&process_type=any")
    rows = page.locator("table.topcrashers tbody tr")
    got = [(rows.nth(i).get_attribute("data-signature"), rows.nth(i).get_attribute("data-rank"),
            rows.nth(i).get_attribute("data-change")) for i in range(rows.count())]
    # Today: Alpha 4, Bravo 3, Charlie 2, Delta 1; the day before: Bravo 3, Charlie 2, Alpha 1.
    assert got == [("RankAlpha", "1", "2"), ("RankBravo", "2", "-1"),
                   ("RankCharlie", "3", "-1"), ("RankDelta", "4", "new")]
    alpha, delta = rows.nth(0), rows.nth(3)
    expect(alpha.locator("td.change")).to_have_text("▲2")
    expect(alpha).to_contain_text("40.00 %")
    expect(alpha).to_contain_text("+23.33")          # 4/10 now, 1/6 before
    expect(alpha.locator(".mark.startup")).to_have_text("startup")
    expect(rows.nth(1).locator("td.change")).to_have_text("▼1")
    expect(delta.locator("td.change")).to_have_text("new")
    expect(page.locator("p.summary")).to_contain_text("of all 10 crashes")

    # Without a version, the newest active one is chosen (the reference's redirect).
    visitor.open(f"/topcrashers/?product={site.product}&days=1&process_type=any")
    assert "version=1.0" in page.url

    # The signature link carries the filters and window into the signature report.
    alpha_link = page.locator("table.topcrashers td.signature a").first
    alpha_link.click()
    expect(page.locator("p.summary")).to_contain_text("4 crashes")
    visitor.clean()


def test_graph_is_drawn_and_matches_the_counts(visitor, site):
    visitor.open(f"/home/product/{site.product}")
    bars = visitor.page.locator("#volume svg rect.bar")
    drawn: dict[str, int] = collections.Counter()
    ratios = []
    for i in range(bars.count()):
        bar = bars.nth(i)
        count = int(bar.get_attribute("data-count"))
        drawn[bar.get_attribute("data-category")] += count
        ratios.append(float(bar.get_attribute("height")) / count)
    expected = collections.Counter(day.isoformat() for day in site.ranked_days)
    assert dict(drawn) == dict(expected)
    assert max(ratios) - min(ratios) < 0.01      # heights proportional to counts
    # Labelled axes, and the same numbers in the table.
    labels = visitor.page.locator("#volume svg text.axis-label").all_text_contents()
    assert labels == ["Day (UTC)", "Crashes"]
    table = visitor.page.locator("#volume table.chart-table tbody tr")
    # (inside a closed <details>: its text, not what is rendered)
    totals = {table.nth(i).locator("th").text_content():
              int(table.nth(i).locator("td").last.text_content().replace(",", ""))
              for i in range(table.count())}
    assert {d: n for d, n in totals.items() if n} == dict(expected)
    visitor.clean()


def test_pending_page_turns_into_the_report(visitor, site, settings, rabbitmq_client):
    storage = storage_from_settings(settings)
    # Stored as if RabbitMQ had refused the collector: nobody has queued it.
    crash_id = store_raw(storage, dt.datetime.now(dt.UTC),
                         {"ProductName": f"Pending{RUN}", "Version": "3.0"}, build_minidump())
    visitor.open(f"/report/index/{crash_id}", screenshot="pending")
    expect(visitor.page.locator("p.pending")).to_contain_text("not processed yet")
    # The page queued it with priority and reloads itself until the report is there.
    expect(visitor.page.locator("h1.report-title")).to_contain_text(
        f"Pending{RUN} 3.0 crash report", timeout=90_000)
    expect(visitor.page.locator("h1.report-title")).to_contain_text("[@ CrashHere]")
    visitor.clean()


def test_not_a_crash_id_gets_a_404_page_that_says_why(visitor, site):
    visitor.open("/report/index/not-a-crash-id", status=404, screenshot="not-a-crash-id")
    expect(visitor.page.locator("p.error-message")).to_contain_text("not a crash id")
    expect(visitor.page.locator("p.error-message")).to_contain_text("8-4-4-4-12")
    missing = "00000000-0000-4000-8000-000000260101"
    visitor.open(f"/report/index/{missing}", status=404)
    expect(visitor.page.locator("p.error-message")).to_contain_text(f"There is no crash {missing}")
    visitor.open(f"/report/index/bp-{site.corpus}")
    assert visitor.page.url.endswith(f"/report/index/{site.corpus}")


# -- safety -------------------------------------------------------------------------------
def hostile_pages(site) -> dict[str, str]:
    processed = requests.get(f"{site.url}/api/ProcessedCrash/",
                             params={"crash_id": site.hostile}, timeout=30).json()
    signature = processed["signature"]
    product = XSS["product"]
    return {
        "hostile-home": "/",
        "hostile-product": f"/home/product/{q(product)}",
        "hostile-search": f"/search/?product={q('=' + product)}&_columns=signature"
                          "&_columns=version&_columns=vendor&_columns=app_notes"
                          "&_facets=signature&_facets=version&_facets=vendor",
        "hostile-report": f"/report/index/{site.hostile}",
        "hostile-topcrashers": f"/topcrashers/?product={q(product)}&process_type=any",
        "hostile-signature": f"/signature/?signature={q(signature)}&_aggregation=vendor",
    }


INERT_CHECK = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      if (attr.name.startsWith('on')) bad.push(el.tagName + ' ' + attr.name);
    }
  }
  for (const a of document.querySelectorAll('a[href]')) {
    const protocol = new URL(a.href, location.href).protocol;
    if (protocol !== 'http:' && protocol !== 'https:') bad.push('link ' + a.href);
  }
  for (const tag of ['script', 'iframe', 'object', 'embed', 'img', 'b']) {
    if (document.getElementsByTagName(tag).length) bad.push('element ' + tag);
  }
  return bad;
}"""


def test_hostile_crash_data_renders_inert_on_every_page(browser, site):

    for token in (None, site.tokens["pii"]):
        visitor = Visitor(browser, site.url, token)
        try:
            for name, path in hostile_pages(site).items():
                visitor.open(path, screenshot=name if token is None else None)
                assert visitor.page.evaluate(INERT_CHECK) == [], (name, path)
            # The hostile text is there, as text.
            visitor.open(f"/report/index/{site.hostile}")
            text = visitor.page.locator("main").inner_text()
            for key in ("product", "version", "notes", "function"):
                assert XSS[key] in text, key
            assert '"><img src=x onerror=alert(1)>' in visitor.page.title()
            visitor.clean()
        finally:
            visitor.close()


def protected_pages(site) -> list[str]:
    product = q(f"=Secret{RUN}")
    return [
        "/",
        f"/home/product/Secret{RUN}",
        f"/report/index/{site.secret}",
        f"/signature/?signature=CrashHere&product={product}",
        f"/search/?product={product}&_columns=url&_columns=user_comments&_columns=signature",
        "/search/?user_comments=!__null__&_columns=user_comments&_columns=signature",
        f"/search/?url={q('~private')}&_facets=url&_facets=signature",
        f"/topcrashers/?product=Secret{RUN}&process_type=any",
    ]


@pytest.mark.parametrize("who", [None, "none"], ids=["anonymous", "no-permission"])
def test_protected_data_never_reaches_a_user_without_the_permission(visitor_as, site, who):
    visitor = visitor_as(who)
    for path in protected_pages(site):
        visitor.open(path)
        html = visitor.page.content()
        for secret in (SECRET_URL, SECRET_COMMENT, "private.example"):
            assert secret not in html, (path, secret)
    visitor.open(f"/report/index/{site.secret}")
    expect(visitor.page.locator("section#raw")).to_have_count(0)
    expect(visitor.page.locator("form.reprocess")).to_have_count(0)
    expect(visitor.page.locator("section#comments")).to_have_count(0)
    # The reprocess action itself refuses them: a token without the permission, and, before
    # that, a form without a CSRF token (anonymous: not from one of our pages).
    response = requests.post(f"{site.url}/report/reprocess/{site.secret}", timeout=30,
                             headers={"Auth-Token": site.tokens[who]} if who else {})
    assert response.status_code == 403
    assert ("reprocess_crashes" if who else "CSRF check failed") in response.text
    visitor.clean()


def test_protected_data_reaches_a_user_with_the_permission(visitor_as, site):
    visitor = visitor_as("pii")
    visitor.open(f"/report/index/{site.secret}", screenshot="report-protected")
    protected = visitor.page.locator("table.annotations.protected")
    expect(protected).to_contain_text(SECRET_URL)
    expect(protected).to_contain_text(SECRET_COMMENT)
    expect(visitor.page.locator("section#raw a", has_text="Download upload_file_minidump")) \
        .to_have_count(1)
    visitor.open(f"/signature/?signature=CrashHere&product={q(f'=Secret{RUN}')}")
    expect(visitor.page.locator("section#comments")).to_contain_text(SECRET_COMMENT)
    visitor.open(f"/search/?product={q(f'=Secret{RUN}')}&_columns=url")
    expect(visitor.page.locator("table.hits")).to_contain_text(SECRET_URL)

    # Reprocessing from the page.
    visitor.open(f"/report/index/{site.secret}")
    visitor.page.get_by_role("button", name="Reprocess this crash").click()
    expect(visitor.page.locator("p.notice")).to_contain_text("queued for reprocessing")
    visitor.clean()
