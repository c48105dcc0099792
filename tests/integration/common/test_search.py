"""The search backend against every real engine of this run (see ``engine_backend`` in
tests/conftest.py: the stack's own and those ``make test`` adds)."""

from __future__ import annotations

import pytest

from crashline.common.search.client import DocumentRejected, WrongEngine
from crashline.common.search.documents import search_document
from crashline.common.settings import SearchEngine

pytestmark = pytest.mark.integration


@pytest.fixture
def backend(engine_backend):
    return engine_backend


def crash(n: int, product: str, signature: str, date: str) -> dict:
    return {"uuid": f"de1bb258-cbbf-4589-a673-34f80016{n:04d}",
            "product": product, "signature": signature, "date_processed": date,
            "build": 20260901000000 + n, "user_comments": "secret"}


def index_crashes(backend, crashes):
    index = backend.namer.for_date(__import__("datetime").date(2026, 9, 18))
    for c in crashes:
        backend.index_document(index, c["uuid"], search_document(c["uuid"], c))
    backend.refresh(index)
    return index


def test_engine_answers_without_get_root(backend, engine_url):
    info = backend.check()
    assert info["engine"] == engine_url[0].value
    major = int(info["version"].split(".")[0])
    assert major in backend.engine.majors


def test_the_wrong_product_is_named(search_backend_for, engine_url):
    """A client for the other product, pointed at this engine, refuses it clearly."""
    engine, url = engine_url
    other = (SearchEngine.OPENSEARCH if engine is SearchEngine.ELASTICSEARCH
             else SearchEngine.ELASTICSEARCH)
    with pytest.raises(WrongEngine, match=f"CRASHLINE_SEARCH_ENGINE={other.value}"):
        search_backend_for(other, url).check()


def test_create_index_from_registry(backend):
    index = backend.namer.for_date(__import__("datetime").date(2026, 9, 18))
    backend.ensure_index(index)
    backend.ensure_index(index)  # twice is fine
    assert backend.existing_indices() == [index]


def test_an_older_index_gets_the_fields_added_since(backend):
    """An index made before a field joined the registry is given it on first use, so the
    week's index in service keeps taking new fields."""
    from crashline.common.fields import REGISTRY
    from crashline.common.search.mapping import index_body

    index = backend.namer.for_date(__import__("datetime").date(2026, 9, 18))
    older = tuple(f for name, f in REGISTRY.items() if name != "missing_symbol_files")
    backend._json("PUT", f"/{index}", index_body(older))
    backend.ensure_index(index)
    backend.index_document(index, "c1", {"missing_symbol_files": ["a.pdb/ABC", "b.pdb/DEF"]},
                           refresh=True)
    found = backend.search([index], {"query": {"term": {"missing_symbol_files": "b.pdb/DEF"}}})
    assert [h["_id"] for h in found["hits"]["hits"]] == ["c1"]


def test_index_get_search_aggregate(backend):
    crashes = [crash(n, "Fennec" if n % 3 else "Thunder", f"sig{n % 2}",
                     "2026-09-18T10:00:00+00:00") for n in range(9)]
    index = index_crashes(backend, crashes)

    doc = backend.get_document(index, crashes[0]["uuid"])
    assert doc["signature"] == "sig0" and doc["product"] == "Thunder"
    assert backend.get_document(index, "de1bb258-cbbf-4589-a673-34f800169999") is None

    result = backend.search(
        [index],
        {"query": {"term": {"product": "Fennec"}},
         "aggs": {"sigs": {"terms": {"field": "signature"}}}, "size": 100},
    )
    assert result["hits"]["total"]["value"] == 6
    buckets = {b["key"]: b["doc_count"] for b in result["aggregations"]["sigs"]["buckets"]}
    assert buckets == {"sig0": 3, "sig1": 3}


def test_reindexing_overwrites_by_crash_id(backend):
    c = crash(1, "Fennec", "old", "2026-09-18T10:00:00+00:00")
    index = index_crashes(backend, [c])
    c["signature"] = "new"
    index_crashes(backend, [c])
    result = backend.search([index], {"query": {"match_all": {}}})
    assert result["hits"]["total"]["value"] == 1
    assert result["hits"]["hits"][0]["_source"]["signature"] == "new"


def test_full_text_subfield(backend):
    index = index_crashes(backend, [crash(1, "Fennec", "mozilla::dom::Foo::Bar | baz",
                                          "2026-09-18T10:00:00+00:00")])
    result = backend.search([index], {"query": {"match": {"signature.full": "Bar"}}})
    assert result["hits"]["total"]["value"] == 1


def test_missing_indices_are_skipped(backend):
    index = index_crashes(backend, [crash(1, "Fennec", "s", "2026-09-18T10:00:00+00:00")])
    result = backend.search([index, backend.namer.for_date(__import__("datetime").date(2001, 1,
                                                                                       1))],
                            {"query": {"match_all": {}}})
    assert result["hits"]["total"]["value"] == 1
    assert backend.search([], {"query": {"match_all": {}}})["hits"]["total"]["value"] == 0


def test_unmapped_fields_are_not_indexed(backend):
    index = backend.namer.for_date(__import__("datetime").date(2026, 9, 18))
    backend.index_document(index, "x", {"crash_id": "x", "surprise": {"deep": 1}}, refresh=True)
    result = backend.search([index], {"query": {"exists": {"field": "surprise.deep"}}})
    assert result["hits"]["total"]["value"] == 0


def test_bulk_indexing_names_each_refused_document(backend):
    good = [crash(n, "Fennec", f"sig{n}", "2026-09-18T10:00:00+00:00") for n in range(3)]
    bad = {**crash(9, "Fennec", "bad", "2026-09-18T10:00:00+00:00"),
           "completed_datetime": "not a date"}
    index = backend.namer.for_date(__import__("datetime").date(2026, 9, 18))
    refused = backend.index_documents(
        [(index, c["uuid"], search_document(c["uuid"], c)) for c in [*good, bad]],
        refresh=True)
    assert list(refused) == [bad["uuid"]]
    assert isinstance(refused[bad["uuid"]], DocumentRejected)
    assert refused[bad["uuid"]].field == "processed_date"
    result = backend.search([index], {"query": {"match_all": {}}, "size": 10})
    assert sorted(h["_id"] for h in result["hits"]["hits"]) == sorted(c["uuid"] for c in good)
    assert backend.index_documents([]) == {}
