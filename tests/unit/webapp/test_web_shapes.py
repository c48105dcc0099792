from web_support import parse

from crashline.webapp.redaction import redact_processed, redact_raw
from crashline.webapp.supersearch.response import shape_response


def test_response_shape_and_facets():
    request = parse({"_facets": ["signature", "_cardinality.install_time", "startup_crash"],
                     "_histogram.date": "product", "_columns": ["uuid", "signature"]})
    result = {
        "hits": {"total": {"value": 3}, "hits": [
            {"_source": {"uuid": "a", "signature": "s1"}},
            {"_source": {"uuid": "b"}},
        ]},
        "aggregations": {
            "signature": {"buckets": [{"key": "s1", "doc_count": 2}]},
            "cardinality_install_time": {"value": 5},
            "startup_crash": {"buckets": [{"key": 1, "key_as_string": "true", "doc_count": 1},
                                          {"key": 0, "key_as_string": "false",
                                           "doc_count": 2}]},
            "histogram_date": {"buckets": [
                {"key": 1718409600000, "doc_count": 2,
                 "product": {"buckets": [{"key": "Firefox", "doc_count": 2}]}},
                {"key": 1718496000000, "doc_count": 0, "product": {"buckets": []}},
            ]},
        },
        "_shards": {"failures": [{"index": "i1"}, {"index": "i1"}]},
    }
    response = shape_response(request, result, ["missing-1"])
    assert response["total"] == 3
    assert response["hits"] == [{"uuid": "a", "signature": "s1"},
                                {"uuid": "b", "signature": None}]
    facets = response["facets"]
    assert facets["signature"] == [{"term": "s1", "count": 2}]
    assert facets["cardinality_install_time"] == {"value": 5}
    assert facets["startup_crash"] == [{"term": "T", "count": 1}, {"term": "F", "count": 2}]
    assert facets["histogram_date"] == [{"term": "2024-06-15T00:00:00+00:00", "count": 2,
                                         "facets": {"product": [{"term": "Firefox",
                                                                 "count": 2}]}}]
    assert response["errors"] == [{"type": "missing_index", "index": "missing-1"},
                                  {"type": "shards", "index": "i1", "shards_count": 2}]


def test_facets_of_an_empty_result():
    request = parse({"_facets": ["signature", "_cardinality.install_time"]})
    response = shape_response(request, {"hits": {"total": {"value": 0}, "hits": []}}, [])
    assert response["facets"] == {"signature": [], "cardinality_install_time": {"value": 0}}


def test_processed_crash_redaction_is_an_allowlist():
    processed = {
        "signature": "s", "product": "Firefox", "user_comments": "my email is x@y.z",
        "url": "https://secret", "not_in_any_schema": 1, "memory_report": {"a": 1},
        "collector_metadata": {"collector_notes": ["x"]},
        "json_dump": {"threads": [], "mac_boot_args": "-v", "system_info": {"os": "Linux"}},
        "memory_measures": {"explicit": 5},
    }
    redacted = redact_processed(processed)
    assert redacted == {"signature": "s", "product": "Firefox",
                        "json_dump": {"threads": [], "system_info": {"os": "Linux"}},
                        "memory_measures": {"explicit": 5}}
    assert processed["json_dump"]["mac_boot_args"] == "-v"  # the input is left alone


def test_raw_crash_redaction_is_an_allowlist():
    raw = {"ProductName": "Firefox", "Version": "1", "URL": "https://secret",
           "Comments": "c", "metadata": {"x": 1}, "SomethingNew": "?", "PHCKind": "k"}
    assert redact_raw(raw) == {"ProductName": "Firefox", "Version": "1"}
