from crashline.common.fields import FIELDS
from crashline.webapp.api.crashes import RawCrashResource, ReprocessingResource
from crashline.webapp.api.signatures import CrashSignatureResource
from crashline.webapp.api.supersearch import SuperSearchResource
from crashline.webapp.openapi import openapi_document


def test_openapi_lists_every_search_field_and_meta_parameter():
    doc = openapi_document([SuperSearchResource.__new__(SuperSearchResource)])
    params = {p["name"]: p for p in doc["paths"]["/api/SuperSearch/"]["get"]["parameters"]}
    assert {f.name for f in FIELDS} <= set(params)
    for meta in ("_columns", "_sort", "_results_number", "_results_offset", "_facets",
                 "_facets_size", "_return_query", "_histogram.date",
                 "_histogram_interval.date", "_aggs.product.version"):
        assert meta in params, meta
    assert params["_results_number"]["schema"] == {"type": "integer", "minimum": 0,
                                                   "maximum": 1000, "default": 100}
    assert params["signature"]["schema"]["type"] == "array"
    assert params["signature"]["explode"] is True
    assert "protected" in params["user_comments"]["description"]


def test_openapi_operations():
    doc = openapi_document([r.__new__(r) for r in (RawCrashResource, ReprocessingResource,
                                                    CrashSignatureResource)])
    assert doc["openapi"].startswith("3.1")
    raw = doc["paths"]["/api/RawCrash/"]["get"]
    fmt = next(p for p in raw["parameters"] if p["name"] == "format")
    assert fmt["schema"]["enum"] == ["meta", "raw"]
    reprocess = doc["paths"]["/api/Reprocessing/"]["post"]
    assert reprocess["security"] == [{"AuthToken": []}]
    assert "reprocess_crashes" in reprocess["description"]
    body = doc["paths"]["/api/CrashSignature/"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["required"] == ["jobs"]
