import datetime as dt

from crashline.common.fields import FIELDS, REGISTRY, FieldType
from crashline.common.search.documents import BAD_DATA, search_document
from crashline.common.search.indices import IndexNamer
from crashline.common.search.mapping import index_body


def test_mapping_has_every_registry_field_with_its_type():
    props = index_body()["mappings"]["properties"]
    assert props["crash_id"] == {"type": "keyword"}
    for field in FIELDS:
        assert field.name in props
    assert props["signature"]["type"] == "keyword"
    assert props["signature"]["fields"]["full"]["type"] == "text"
    assert props["build_id"]["type"] == "long"
    assert index_body()["mappings"]["dynamic"] is False


def test_document_takes_registry_fields_from_their_source_paths():
    doc = search_document(
        "de1bb258-cbbf-4589-a673-34f800160918",
        {"signature": "foo | bar", "build": "20260101120000", "json_dump": {"huge": 1},
         "date_processed": "2026-09-18T10:00:00+00:00", "not_a_field": "x"},
    )
    assert doc == {
        "crash_id": "de1bb258-cbbf-4589-a673-34f800160918",
        "signature": "foo | bar",
        "build_id": 20260101120000,
        "date": "2026-09-18T10:00:00+00:00",
    }


def test_values_are_cleaned_so_the_engine_accepts_them():
    doc = search_document(
        "x",
        {
            "signature": "s" * 20_000,            # keyword longer than the engine allows
            "product": 17,                        # not a string
            "cpu_count": 2**40,                   # outside a 32-bit integer
            "uptime": "not a number",
            "user_comments": "é" * 20_000,        # 40,000 UTF-8 bytes
        },
    )
    assert len(doc["signature"]) == 10_000
    assert doc["product"] == BAD_DATA
    assert "cpu_count" not in doc
    assert "uptime" not in doc
    assert len(doc["user_comments"].encode()) <= 32_766


def test_every_field_is_protected_unless_marked_public():
    for field in FIELDS:
        assert field.permission == ("public" if field.public else "view_pii")
    assert REGISTRY["user_comments"].permission == "view_pii"
    assert REGISTRY["signature"].permission == "public"


def test_operators_follow_the_type():
    assert "~" in REGISTRY["signature"].operators
    assert ">=" in REGISTRY["build_id"].operators
    assert REGISTRY["date"].type is FieldType.DATE


def test_weekly_index_names():
    namer = IndexNamer("crashline-%Y%W")
    assert namer.for_date(dt.date(2026, 9, 18)) == "crashline-202637"
    # Days before the first Monday of a year are week 00.
    assert namer.for_date(dt.date(2027, 1, 1)) == "crashline-202700"
    names = namer.for_range(dt.datetime(2026, 12, 28), dt.datetime(2027, 1, 5))
    assert names == ["crashline-202652", "crashline-202700", "crashline-202701"]
    assert namer.is_ours("crashline-202652")
    assert not namer.is_ours("crashline-2026")
    assert not namer.is_ours("other-202652")
    assert namer.wildcard == "crashline-*"


def test_index_names_up_to_the_last_representable_day():
    namer = IndexNamer("crashline-%Y%W")
    end = dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC)
    assert namer.for_range(end - dt.timedelta(days=7), end) == ["crashline-999951",
                                                                  "crashline-999952"]
    assert namer.for_range(dt.datetime(2026, 1, 2), dt.datetime(2026, 1, 2)) == [
        "crashline-202600"]


def test_lone_surrogates_become_replacement_characters():
    # JSON lets "\ud800" through (an annotation, the stack walker's output); no UTF-8
    # encoder takes it, so it must not reach the engine as it is, nor stop the document.
    import orjson

    doc = search_document("x", {"product": "Fire\ud800fox", "signature": "a\udfffb",
                                "user_comments": "c" * 40_000 + "\ud800"})
    assert doc["product"] == "Fire\ufffd\ufffd\ufffdfox"
    assert doc["signature"] == "a\ufffd\ufffd\ufffdb"
    assert "\ud800" not in doc["user_comments"]
    orjson.dumps(doc)  # valid UTF-8 throughout


def test_infinite_numbers_are_left_out():
    # 1e400 in JSON (a stack walker's output, a memory report) is float("inf"): not a number
    # of any integer field, and no reason to fail the document.
    doc = search_document("x", {"cpu_count": float("inf"), "uptime": float("-inf"),
                                "memory_measures": {"explicit": float("inf")},
                                "thread_count": float("nan"), "signature": "s"})
    assert doc == {"crash_id": "x", "signature": "s"}
