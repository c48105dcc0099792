"""The pages' pure logic: source links, chart geometry, top-crasher ranking, the search
form's round trip, stack rows."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from crashline.common.fields import get_field
from crashline.webapp.auth.principal import ANONYMOUS, Principal
from crashline.webapp.pages.charts import histogram_chart, horizontal_bars, nice_ticks
from crashline.webapp.pages.render import url
from crashline.webapp.pages.report import frame_label, frame_rows
from crashline.webapp.pages.search import SearchForm, normalise, refine_value
from crashline.webapp.pages.signature import uptime_buckets
from crashline.webapp.pages.sources import SourceLinks, parse_source
from crashline.webapp.pages.topcrashers import rank
from crashline.webapp.settings import DEFAULT_SOURCE_URLS, WebappSettings

LINKS = SourceLinks({**DEFAULT_SOURCE_URLS, "path": "https://src.example/{path}#L{line}"})


# -- source links -------------------------------------------------------------------------
@pytest.mark.parametrize("file, line, expected", [
    ("hg:hg.mozilla.org/mozilla-central:dom/base/Foo.cpp:0123abcd", 7,
     "https://hg.mozilla.org/mozilla-central/file/0123abcd/dom/base/Foo.cpp#l7"),
    ("git:github.com/rust-lang/rust:library/core/src/panicking.rs:4b91a6", 12,
     "https://github.com/rust-lang/rust/blob/4b91a6/library/core/src/panicking.rs#L12"),
    ("git:gitlab.com/group/project:src/a b.c:v1.2", 3,
     "https://gitlab.com/group/project/-/blob/v1.2/src/a%20b.c#L3"),
    ("c:\\src\\app.cc", 58, "https://src.example/src/app.cc#L58"),
    ("/builds/worker/<x>.cc", None, "https://src.example/builds/worker/%3Cx%3E.cc#L"),
    ("javascript:alert(1)", 1, "https://src.example/javascript%3Aalert%281%29#L1"),
])
def test_source_links(file, line, expected):
    assert LINKS.url(file, line) == expected


@pytest.mark.parametrize("file", [
    'hg:evil.example"><script>:x:y',          # root is no host
    "hg:a.example/repo:../../etc/passwd:1",    # path escapes
    "git:github.com@evil.example/x:a:b",       # userinfo trick
    "hg:hg.example/repo:a.cc:rev with space",
    "", "\x00", None, 42,
])
def test_source_links_refuse_what_has_not_the_right_shape(file):
    assert LINKS.url(file, 1) is None


def test_plain_paths_link_nowhere_by_default():
    assert SourceLinks(DEFAULT_SOURCE_URLS).url("c:\\src\\app.cc", 1) is None
    assert parse_source("c:\\src\\app.cc").path == "src/app.cc"


@pytest.mark.parametrize("templates", [
    {"path": "javascript:alert(1)//{path}"}, {"hg": "https://{root}/{evil}"},
    {"path": "https://x/{rev}/{path}"}, {"svn": "https://x/{path}"},
])
def test_settings_refuse_bad_source_templates(templates):
    with pytest.raises(ValidationError):
        WebappSettings(webapp_source_urls=templates)


# -- charts -------------------------------------------------------------------------------
@pytest.mark.parametrize("maximum, ticks", [
    (0, [0, 1]), (1, [0, 1]), (4, [0, 1, 2, 3, 4]), (10, [0, 5, 10]),
    (37, [0, 10, 20, 30, 40]), (1234, [0, 500, 1000, 1500]),
])
def test_nice_ticks(maximum, ticks):
    assert nice_ticks(maximum) == ticks


def test_histogram_chart_fills_empty_days_and_folds_small_series():
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    buckets = [
        {"term": "2026-01-01T00:00:00+00:00", "count": 6, "facets": {"version": [
            {"term": "2.0", "count": 3}, {"term": "1.0", "count": 2}]}},   # 1 without version
        {"term": "2026-01-03T00:00:00+00:00", "count": 9, "facets": {"version": [
            {"term": "2.0", "count": 6}, {"term": "1.0", "count": 2},
            {"term": "0.9", "count": 1}]}},
    ]
    chart = histogram_chart("t", buckets, "version", start, start + dt.timedelta(days=2), top=2)
    assert chart.series == ["2.0", "1.0", "other"]
    assert [(day, counts, total) for day, counts, total in chart.rows] == [
        ("2026-01-01", [3, 2, 1], 6), ("2026-01-02", [0, 0, 0], 0),
        ("2026-01-03", [6, 2, 1], 9)]
    # Heights are proportional to counts, stacked without gaps, inside the plot.
    ratios = {round(b.height / b.count, 6) for b in chart.bars}
    assert len(ratios) == 1
    day3 = [b for b in chart.bars if b.category == "2026-01-03"]
    assert day3[0].y + day3[0].height == chart.bottom
    assert all(a.y == pytest.approx(b.y + b.height) for a, b in zip(day3, day3[1:], strict=False))
    assert min(b.y for b in chart.bars) >= chart.top


def test_horizontal_bars_keep_order_and_scale():
    chart = horizontal_bars("t", [("a", 10), ("b", 5)], x_label="Crashes", y_label="x")
    assert [b.category for b in chart.bars] == ["a", "b"]
    assert chart.bars[0].width == pytest.approx(2 * chart.bars[1].width)


# -- top crashers -------------------------------------------------------------------------
def facet(term, count, **sub):
    return {"term": term, "count": count, "facets": sub}


def test_rank_marks_changes_new_signatures_and_startup():
    current = {"total": 10, "facets": {"signature": [
        facet("a", 5, platform=[{"term": "Linux", "count": 5}],
              startup_crash=[{"term": "T", "count": 5}],
              histogram_uptime=[{"term": 0, "count": 3}, {"term": 120, "count": 2}],
              cardinality_install_time={"value": 4}),
        facet("b", 3, startup_crash=[{"term": "T", "count": 1}, {"term": "F", "count": 2}],
              is_garbage_collecting=[{"term": "T", "count": 2}]),
        facet("c", 2),
    ]}}
    previous = {"total": 4, "facets": {"signature": [facet("b", 3), facet("a", 1)]}}
    a, b, c = rank(current, previous, ["Linux", "Windows NT"])
    assert (a.rank, a.rank_change, a.share, a.share_change) == (1, 1, 50.0, 25.0)
    assert (b.rank, b.rank_change) == (2, -1)
    assert c.is_new and c.rank_change is None and c.share_change is None
    assert a.os_counts == [5, 0] and a.installs == 4
    assert (a.startup, b.startup, c.startup) == ("startup", "potential startup", "")
    assert a.startup_window and not b.startup_window
    assert b.gc_count == 2


# -- search form --------------------------------------------------------------------------
def test_form_submission_becomes_the_api_query_and_back():
    submitted = {
        "_form": ["1"], "_from": ["2026-01-01T00:00"], "_to": [""], "product": ["Firefox"],
        "version": [""], "_field": ["signature", "uptime", "address", ""],
        "_op": ["!~", ">=", "!__null__", ""], "_value": ["OOM", "60", "", ""],
        "_columns": ["signature"], "page": ["3"],
    }
    pairs = normalise(submitted)
    assert sorted(pairs) == sorted([
        ("product", "Firefox"), ("_columns", "signature"), ("date", ">=2026-01-01T00:00"),
        ("signature", "!~OOM"), ("uptime", ">=60"), ("address", "!__null__")])
    params: dict[str, list[str]] = {}
    for name, value in pairs:
        params.setdefault(name, []).append(value)
    form = SearchForm(params, ANONYMOUS)
    assert form.date_from == "2026-01-01T00:00" and form.simple == {"product": "Firefox"}
    assert [(r.field, r.op, r.value) for r in form.rows] == [
        ("signature", "!~", "OOM"), ("uptime", ">=", "60"), ("address", "!__null__", "")]
    assert form.columns == ["signature"]


def test_form_hides_protected_fields_and_says_what_it_ignored():
    params = {"user_comments": ["~x"], "_columns": ["url", "signature"]}
    anonymous = SearchForm(params, ANONYMOUS)
    assert anonymous.ignored == ["user_comments"] and anonymous.columns == ["signature"]
    assert "user_comments" not in {f.name for f in anonymous.visible}
    reader = SearchForm(params, Principal(1, "r", frozenset({"view_pii"})))
    assert reader.ignored == [] and reader.columns == ["url", "signature"]


@pytest.mark.parametrize("field, value, expected", [
    ("signature", "~not an operator", "=~not an operator"), ("uptime", 12, "=12"),
    ("startup_crash", "T", "__true__"), ("startup_crash", False, "!__true__"),
    ("date", "2026-01-01", None), ("signature", None, None),
])
def test_refine_values_match_exactly(field, value, expected):
    assert refine_value(get_field(field), value) == expected


def test_url_replaces_and_removes_parameters():
    params = {"a": ["1", "2"], "page": ["3"], "b": ["x&y"]}
    assert url("/s/", params, page=None, b="z") == "/s/?a=1&a=2&b=z"
    assert url("/s/") == "/s/"


# -- stacks and summaries -----------------------------------------------------------------
def test_frame_rows_show_inlines_before_their_frame_and_label_fallbacks():
    frames = [
        {"frame": 0, "module": "app", "function": "outer", "file": "c:\\a.cc", "line": 3,
         "trust": "context", "inlines": [{"function": "inner", "file": "c:\\b.h", "line": 9}]},
        {"frame": 1, "module": "lib.so", "module_offset": "0x10", "trust": "scan",
         "missing_symbols": True},
        "not a frame",
    ]
    rows = frame_rows(frames, LINKS)
    assert [(r.number, r.label, r.inline) for r in rows] == [
        (0, "inner", True), (0, "outer", False), (1, "lib.so@0x10", False)]
    assert rows[0].source_url == "https://src.example/b.h#L9"
    assert rows[2].missing_symbols and rows[2].source_url is None
    assert frame_label({"offset": "0x5"}) == "@0x5"
    assert frame_label({"file": "x.c", "line": 2}) == "x.c#2"
    assert frame_rows(None, LINKS) == []


def test_uptime_buckets():
    histogram = [{"term": 0, "count": 4}, {"term": 60, "count": 1}, {"term": 840, "count": 2},
                 {"term": 3540, "count": 1}, {"term": 7200, "count": 3}]
    assert uptime_buckets(histogram) == [("< 1 min", 4), ("1–5 min", 1), ("5–15 min", 2),
                                         ("15–60 min", 1), ("> 1 h", 3)]
