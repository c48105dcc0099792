"""Super Search against OpenSearch with crashes indexed by the processor's document code."""

from __future__ import annotations

import datetime as dt

import pytest
from web_integration import CRASHES, IN_DEFAULT_WINDOW, NOW, headers

pytestmark = pytest.mark.integration


def search(client, token=None, **params):
    params = {k.replace("__", "."): v for k, v in params.items()}
    response = client.simulate_get("/api/SuperSearch/", params=params, headers=headers(token))
    assert response.status_code == 200, response.text
    return response.json


def ids(result):
    return {hit["uuid"] for hit in result["hits"]}


def names(crashes, *which):
    return {crashes[name] for name in which}


def iso(hours_ago: float) -> str:
    return (NOW - dt.timedelta(hours=hours_ago)).isoformat()


def test_default_search_shape_and_window(client, crashes):  # checklist 1, 2
    result = search(client)
    assert set(result) == {"hits", "total", "facets", "errors"}
    assert result["total"] == len(IN_DEFAULT_WINDOW)
    assert ids(result) == names(crashes, *IN_DEFAULT_WINDOW)  # "old" is 10 days old
    assert set(result["hits"][0]) == {"uuid", "date", "signature", "product", "version"}
    assert {"term": "OOM | small", "count": 2} in result["facets"]["signature"]
    counts = [row["count"] for row in result["facets"]["signature"]]
    assert counts == sorted(counts, reverse=True)


def test_date_rules(client, crashes):  # checklist 2, 3
    assert ids(search(client, date=f">={iso(12)}")) == names(crashes, "oom1", "oom2", "oom3")
    two_bounds = search(client, date=[f">={iso(40)}", f"<{iso(3)}"])  # checklist 6
    assert ids(two_bounds) == names(crashes, "oom3", "dom1")
    # No lower bound: the 7 days before the upper one.
    assert ids(search(client, date=f"<{iso(24 * 9)}")) == names(crashes, "old")
    for bad in ("2024-01-01", [">=2020-01-01", "<2021-06-01"]):
        response = client.simulate_get("/api/SuperSearch/", params={"date": bad})
        assert response.status_code == 400
        assert "date" in response.json["errors"]


@pytest.mark.parametrize("bounds", [["<=9999-12-31"], [">=9999-12-25", "<=9999-12-31T23:59:59"],
                                    ["<0001-01-08"], ["<0001-01-05"]])
def test_dates_at_the_ends_of_the_calendar(client, crashes, bounds):
    response = client.simulate_get("/api/SuperSearch/", params={"date": bounds})
    if bounds == ["<0001-01-05"]:  # the default lower bound, 7 days earlier, cannot exist
        assert response.status_code == 400 and "date" in response.json["errors"]
        return
    assert response.status_code == 200, response.text
    assert response.json["total"] == 0
    # Beyond the retention window no index is even looked for.
    missing = set() if bounds == ["<0001-01-08"] else {"missing_index"}
    assert {e["type"] for e in response.json["errors"]} == missing


def test_missing_indices_are_reported(client, crashes, web_search):
    result = search(client, date=[f">={iso(24 * 60)}", f"<={iso(0)}"])
    assert result["total"] == len(CRASHES)
    missing = {e["index"] for e in result["errors"] if e["type"] == "missing_index"}
    wanted = web_search.namer.for_range(NOW - dt.timedelta(days=60), NOW)
    existing = set(web_search.existing_indices())
    assert missing == set(wanted) - existing and missing


def test_return_query_runs_nothing(client, crashes, web_search):  # checklist 13
    result = search(client, _return_query="true", signature="~OOM")
    assert set(result) == {"query", "indices"}
    assert result["indices"] and set(result["indices"]) <= set(web_search.existing_indices())
    assert {"wildcard": {"signature": {"value": "*OOM*"}}} in \
        result["query"]["query"]["bool"]["filter"]


@pytest.mark.parametrize("value, expected", [
    ("OOM", {"oom1", "oom2", "oom3"}),                          # match (analysed)
    ("=OOM | small", {"oom1", "oom2"}),                         # exact
    ("~dom::Foo", {"dom1", "dom2"}),                            # contains
    ("^mozilla::", {"dom1", "dom2"}),                           # starts with
    ("$::Baz", {"dom2"}),                                       # ends with
    ("@js::.*Stack", {"gc"}),                                   # regexp
    ("!~OOM", {"dom1", "dom2", "gc"}),                          # negation
    ("!=OOM | small", {"oom3", "dom1", "dom2", "gc"}),
    ("!^mozilla", {"oom1", "oom2", "oom3", "gc"}),
    ("!$Baz", {"oom1", "oom2", "oom3", "dom1", "gc"}),
    ("!@.*OOM.*", {"dom1", "dom2", "gc"}),
])
def test_string_operators(client, crashes, value, expected):  # checklist 5
    assert ids(search(client, signature=value)) == names(crashes, *expected)


def test_same_field_or_and_different_fields_and(client, crashes):  # checklist 6
    assert ids(search(client, product=["Fennec", "Thunderbird"])) == \
        names(crashes, "dom1", "dom2", "gc")
    assert ids(search(client, product="Firefox", platform="Linux")) == names(crashes, "oom3")
    assert ids(search(client, signature=["~OOM", "!=OOM | large"])) == \
        names(crashes, "oom1", "oom2")


def test_number_ranges_and_equality(client, crashes):
    assert ids(search(client, uptime=[">=10", "<1000"])) == names(crashes, "oom1", "oom2",
                                                                   "dom2")
    assert ids(search(client, uptime=">1000")) == names(crashes, "gc")
    assert ids(search(client, uptime="<=5")) == names(crashes, "dom1")
    assert ids(search(client, uptime=["5", "50"])) == names(crashes, "dom1", "dom2")
    assert ids(search(client, uptime="!>=100")) == names(crashes, "oom1", "dom1", "dom2")
    assert ids(search(client, build_id=">=20240102000000")) == names(crashes, "oom2", "oom3")


def test_null_and_true(client, crashes):  # checklist 7
    with_address = {"oom1", "oom2", "dom1", "dom2", "gc"}
    assert ids(search(client, address="!__null__")) == names(crashes, *with_address)
    assert ids(search(client, address="__null__")) == names(crashes, "oom3")
    assert ids(search(client, startup_crash="__true__")) == names(crashes, "oom1")
    assert ids(search(client, startup_crash="!__true__")) == \
        names(crashes, *(set(IN_DEFAULT_WINDOW) - {"oom1"}))


def test_version_ending_in_b_means_every_beta(client, crashes):  # checklist 8
    assert ids(search(client, version="120.0b")) == names(crashes, "oom2", "oom3")
    assert ids(search(client, version="^120.0b")) == names(crashes, "oom2", "oom3")
    assert ids(search(client, version="120.0")) == names(crashes, "oom1")


def test_columns_sort_and_paging(client, crashes):  # checklist 12
    result = search(client, _columns=["uuid", "build_id", "uptime"], _sort="-build_id")
    builds = [hit["build_id"] for hit in result["hits"]]
    assert builds == sorted(builds, reverse=True)
    assert set(result["hits"][0]) == {"uuid", "build_id", "uptime"}
    ascending = search(client, _columns="uptime", _sort="uptime")
    assert [h["uptime"] for h in ascending["hits"]] == [5, 10, 50, 100, 1000, 3600]
    page = search(client, _columns="uptime", _sort="uptime", _results_number=2,
                  _results_offset=2)
    assert [h["uptime"] for h in page["hits"]] == [50, 100]
    assert page["total"] == len(IN_DEFAULT_WINDOW)
    multi = search(client, _columns=["product", "uptime"], _sort=["product", "-uptime"])
    assert [(h["product"], h["uptime"]) for h in multi["hits"]] == [
        ("Fennec", 50), ("Fennec", 5), ("Firefox", 1000), ("Firefox", 100), ("Firefox", 10),
        ("Thunderbird", 3600)]
    for params in ({"_columns": "nope"}, {"_sort": "nope"}, {"_results_number": "1001"},
                   {"_results_offset": "9901", "_results_number": "100"},
                   {"_facets_size": "10001"}):
        response = client.simulate_get("/api/SuperSearch/", params=params)
        assert response.status_code == 400, params
        assert set(response.json["errors"]) <= set(params)


def test_facets_and_facets_size(client, crashes):
    result = search(client, _facets=["product", "platform", "startup_crash"], _facets_size=1)
    assert result["facets"]["product"] == [{"term": "Firefox", "count": 3}]
    assert len(result["facets"]["platform"]) == 1
    assert {"term": "T", "count": 1} in search(client, _facets="startup_crash")[
        "facets"]["startup_crash"]
    assert search(client, _facets_size=0)["facets"] == {}


def test_cardinality(client, crashes):  # checklist 9
    result = search(client, _facets="_cardinality.install_time")
    assert result["facets"]["cardinality_install_time"] == {"value": 4}


def test_histogram_by_day_split_by_product(client, crashes):  # checklist 10
    result = search(client, **{"_histogram.date": "product", "_histogram_interval.date": "1d"})
    buckets = result["facets"]["histogram_date"]
    assert sum(b["count"] for b in buckets) == len(IN_DEFAULT_WINDOW)
    assert all(b["count"] > 0 for b in buckets)  # no empty buckets
    for bucket in buckets:
        day = dt.datetime.fromisoformat(bucket["term"])
        assert (day.hour, day.minute) == (0, 0)
        assert sum(p["count"] for p in bucket["facets"]["product"]) == bucket["count"]
    seen = {p["term"] for b in buckets for p in b["facets"]["product"]}
    assert seen == {"Firefox", "Fennec", "Thunderbird"}


def test_number_histogram_with_interval(client, crashes):
    result = search(client, **{"_histogram.uptime": "", "_histogram_interval.uptime": "1000"})
    assert result["facets"]["histogram_uptime"] == [
        {"term": 0, "count": 4}, {"term": 1000, "count": 1}, {"term": 3000, "count": 1}]


def test_nested_aggregations(client, crashes):  # checklist 11
    result = search(client, **{"_aggs.product.version": "_cardinality.install_time"})
    products = {row["term"]: row for row in result["facets"]["product"]}
    firefox_versions = {v["term"]: v for v in products["Firefox"]["facets"]["version"]}
    assert set(firefox_versions) == {"120.0", "120.0b3", "120.0b5"}
    assert firefox_versions["120.0b5"]["facets"]["cardinality_install_time"] == {"value": 1}
    fennec = products["Fennec"]["facets"]["version"]
    assert fennec == [{"term": "119.0", "count": 2,
                       "facets": {"cardinality_install_time": {"value": 1}}}]
    deep = search(client, **{"_aggs.android_cpu_abi.android_manufacturer.android_model": ""})
    abis = {row["term"]: row for row in deep["facets"]["android_cpu_abi"]}
    maker = abis["arm64-v8a"]["facets"]["android_manufacturer"][0]
    assert maker["term"] == "Google"
    assert maker["facets"]["android_model"] == [{"term": "Pixel 7", "count": 1}]


def test_fixed_date_interval(client, crashes):
    result = search(client, **{"_histogram.date": "", "_histogram_interval.date": "1s"})
    buckets = result["facets"]["histogram_date"]
    assert len(buckets) == len(IN_DEFAULT_WINDOW)  # one crash per second bucket, none empty
    assert all(b["count"] == 1 for b in buckets)


def test_bad_regex_is_a_400(client, crashes):
    response = client.simulate_get("/api/SuperSearch/", params={"signature": "@[unclosed"})
    assert response.status_code == 400
    assert "signature" in response.json["errors"]


def test_fields_endpoint(client):
    fields = client.simulate_get("/api/SuperSearchFields/").json
    assert fields["signature"]["query_type"] == "string"
    assert fields["user_comments"]["permissions_needed"] == ["view_pii"]
    assert fields["product"]["permissions_needed"] == []


def test_reference_field_names_and_our_old_ones(client, crashes):
    # A search URL written for the reference, with its platform field names.
    reference = search(client, platform="Windows NT", _columns=["uuid", "platform"],
                       _facets=["platform"], _sort="uuid")
    assert ids(reference) == names(crashes, "oom1", "oom2")
    assert {hit["platform"] for hit in reference["hits"]} == {"Windows NT"}
    assert reference["facets"]["platform"] == [{"term": "Windows NT", "count": 2}]
    # The names Crashline used before are aliases: same results, answered by field name.
    assert search(client, os_name="Windows NT", _columns=["uuid", "os_name"],
                  _facets=["os_name"], _sort="uuid") == reference
    fields = client.simulate_get("/api/SuperSearchFields/").json
    assert fields["platform"]["in_database_name"] == "os_name"
    assert "os_name" not in fields and "Also accepted as os_name" in \
        fields["platform"]["description"]
