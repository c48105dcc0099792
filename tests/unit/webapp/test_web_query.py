import pytest
from web_support import PII, parse

from crashline.webapp.errors import ParamError


def filters(body):
    return body["query"]["bool"]["filter"][1:]  # [0] is the date window


def test_default_request(search):
    body = search({})
    assert body["size"] == 100 and body["from"] == 0
    assert body["_source"] == ["uuid", "date", "signature", "product", "version"]
    assert body["aggs"] == {"signature": {"terms": {"field": "signature", "size": 50}}}
    window = body["query"]["bool"]["filter"][0]["range"]["date"]
    assert window == {"gte": "2024-06-08T12:00:00+00:00", "lte": "2024-06-15T12:00:00+00:00"}
    assert body["track_total_hits"] is True


@pytest.mark.parametrize("value, clause", [
    ("foo", {"match_phrase": {"signature.full": "foo"}}),
    ("=foo", {"term": {"signature": "foo"}}),
    ("~fo*o", {"wildcard": {"signature": {"value": "*fo\\*o*"}}}),
    ("^foo", {"prefix": {"signature": {"value": "foo"}}}),
    ("$foo", {"wildcard": {"signature": {"value": "*foo"}}}),
    ("@fo+", {"regexp": {"signature": {"value": "fo+"}}}),
    ("__null__", {"bool": {"must_not": [{"exists": {"field": "signature"}}]}}),
])
def test_string_operators(search, value, clause):
    assert filters(search({"signature": value})) == [clause]


def test_negation_goes_to_must_not(search):
    body = search({"signature": "!~foo", "address": "!__null__"})
    assert filters(body) == []
    assert body["query"]["bool"]["must_not"] == [
        {"wildcard": {"signature": {"value": "*foo*"}}},
        {"bool": {"must_not": [{"exists": {"field": "address"}}]}},
    ]


def test_same_field_or_different_fields_and_ranges_and(search):
    body = search({"product": ["Firefox", "Fennec"], "uptime": [">=10", "<100", "5"]})
    assert filters(body) == [
        {"bool": {"should": [{"term": {"product": "Firefox"}}, {"term": {"product": "Fennec"}}],
                  "minimum_should_match": 1}},
        {"range": {"uptime": {"gte": 10}}},
        {"range": {"uptime": {"lt": 100}}},
        {"term": {"uptime": 5}},
    ]


def test_booleans_and_enums(search):
    assert filters(search({"startup_crash": "__true__"})) == [{"term": {"startup_crash": True}}]
    assert filters(search({"version": "120.0b"})) == [
        {"prefix": {"version": {"value": "120.0b"}}}]


def test_unknown_parameter_is_refused():
    with pytest.raises(ParamError) as info:
        parse({"nosuchfield": "x"})
    assert info.value.param == "nosuchfield"


def test_protected_filters_columns_sorts_facets_are_dropped_for_anonymous(search):
    params = {"user_comments": "~crash", "_columns": ["signature", "user_comments"],
              "_sort": ["-url", "date"], "_facets": ["signature", "phc_kind"],
              "_aggs.product": ["phc_kind", "version"], "_aggs.phc_kind": ["product"]}
    body = search(params)
    assert filters(body) == []
    assert body["_source"] == ["signature"]
    assert body["sort"] == [{"date": {"order": "asc", "unmapped_type": "date"}}]
    assert set(body["aggs"]) == {"signature", "product"}
    assert set(body["aggs"]["product"]["aggs"]) == {"version"}
    pii = search(params, PII)
    assert filters(pii) == [{"wildcard": {"user_comments": {"value": "*crash*"}}}]
    assert pii["_source"] == ["signature", "user_comments"]
    assert set(pii["aggs"]) == {"signature", "product", "phc_kind"}


@pytest.mark.parametrize("params, param", [
    ({"_columns": "nope"}, "_columns"),
    ({"_sort": "-nope"}, "_sort"),
    ({"_facets": "nope"}, "_facets"),
    ({"_facets": "uuid"}, "_facets"),          # not facetable
    ({"_facets": "_histogram.signature"}, "_facets"),
    ({"_facets": "_cardinality.nope"}, "_facets"),
    ({"_results_number": "1001"}, "_results_number"),
    ({"_results_number": "-1"}, "_results_number"),
    ({"_results_offset": "9950", "_results_number": "100"}, "_results_offset"),
    ({"_facets_size": "10001"}, "_facets_size"),
    ({"_facets_size": "many"}, "_facets_size"),
    ({"_return_query": "perhaps"}, "_return_query"),
    ({"_aggs.nope": "product"}, "_aggs.nope"),
    ({"_aggs.product.version.platform.cpu_arch": "x"},
     "_aggs.product.version.platform.cpu_arch"),
    ({"_aggs.product": "nope"}, "_aggs.product"),
    ({"_histogram.signature": "product"}, "_histogram.signature"),
    ({"_histogram.date": "product", "_histogram_interval.date": "fortnight"},
     "_histogram_interval.date"),
    ({"_histogram.uptime": "product", "_histogram_interval.uptime": "0"},
     "_histogram_interval.uptime"),
    ({"_histogram.uptime": "product", "_histogram_interval.uptime": "1.5"},
     "_histogram_interval.uptime"),
    ({"_results_number": ["1", "2"]}, "_results_number"),
])
def test_bad_meta_parameters(params, param):
    with pytest.raises(ParamError) as info:
        parse(params)
    assert info.value.param == param


def test_columns_sort_paging(search):
    body = search({"_columns": ["signature", "build_id", "signature"], "_sort": "-build_id",
                   "_results_number": "10", "_results_offset": "20"})
    assert body["_source"] == ["signature", "build_id"]
    assert body["sort"] == [{"build_id": {"order": "desc", "unmapped_type": "long"}}]
    assert (body["size"], body["from"]) == (10, 20)


def test_nested_aggs_histograms_cardinality(search):
    body = search({"_facets": ["_cardinality.install_time", "_histogram.uptime"],
                   "_aggs.product.version": "_cardinality.install_time",
                   "_histogram.date": ["product", "_cardinality.install_time"],
                   "_histogram_interval.date": "1d", "_histogram_interval.uptime": "60",
                   "_facets_size": "7"})
    aggs = body["aggs"]
    assert aggs["cardinality_install_time"] == {"cardinality": {"field": "install_time"}}
    assert aggs["histogram_uptime"] == {"histogram": {"field": "uptime", "interval": 60,
                                                      "min_doc_count": 1}}
    assert aggs["product"] == {"terms": {"field": "product", "size": 7}, "aggs": {
        "version": {"terms": {"field": "version", "size": 7}, "aggs": {
            "cardinality_install_time": {"cardinality": {"field": "install_time"}}}}}}
    assert aggs["histogram_date"] == {
        "date_histogram": {"field": "date", "calendar_interval": "day", "min_doc_count": 1},
        "aggs": {"product": {"terms": {"field": "product", "size": 7}},
                 "cardinality_install_time": {"cardinality": {"field": "install_time"}}}}


def test_fixed_date_intervals_and_deep_nesting(search):
    body = search({"_histogram.date": "", "_histogram_interval.date": "6h",
                   "_aggs.android_cpu_abi.android_manufacturer.android_model": "version",
                   "_aggs.product.platform.cpu_arch": "version"})
    assert body["aggs"]["histogram_date"]["date_histogram"]["fixed_interval"] == "6h"
    model = body["aggs"]["android_cpu_abi"]["aggs"]["android_manufacturer"]["aggs"]
    assert set(model["android_model"]["aggs"]) == {"version"}
    assert "cpu_arch" in body["aggs"]["product"]["aggs"]["platform"]["aggs"]


def test_aggs_on_the_default_facet_merge(search):
    body = search({"_aggs.signature": "product"})
    assert body["aggs"]["signature"]["aggs"] == {"product": {"terms": {"field": "product",
                                                                       "size": 50}}}


def test_facets_size_zero_means_no_aggregations(search):
    assert "aggs" not in search({"_facets_size": "0", "_histogram.date": "product"})


def test_empty_values_are_ignored(search):
    body = search({"signature": "", "_facets": ""})
    assert filters(body) == [] and "aggs" not in body


def test_aliases_mean_their_field_everywhere(search):
    by_alias = search({"os_name": "Linux", "_columns": ["uuid", "os_version"],
                       "_facets": ["os_pretty_version", "_cardinality.os_name"],
                       "_sort": "-os_name", "_aggs.product.os_name": "os_version",
                       "_histogram.uptime": "os_name"})
    by_name = search({"platform": "Linux", "_columns": ["uuid", "platform_version"],
                      "_facets": ["platform_pretty_version", "_cardinality.platform"],
                      "_sort": "-platform", "_aggs.product.platform": "platform_version",
                      "_histogram.uptime": "platform"})
    assert by_alias == by_name
    assert by_name["_source"] == ["uuid", "platform_version"]
    assert {"term": {"platform": "Linux"}} in by_name["query"]["bool"]["filter"]
    # Both names at once: one field, values OR-ed.
    both = search({"platform": "Linux", "os_name": "Android"})
    assert both["query"]["bool"]["filter"][1]["bool"]["should"] == [
        {"term": {"platform": "Linux"}}, {"term": {"platform": "Android"}}]
