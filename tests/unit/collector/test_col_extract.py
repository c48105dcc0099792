"""From request headers and body to a payload (headers, inflate, spool, payload, extract):
the reference checklist's parsing rules."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os

import pytest

from crashline.collector.client import encode_multipart
from crashline.collector.extract import extract_payload
from crashline.collector.headers import boundary_from_content_type, is_gzip_encoded
from crashline.collector.inflate import Inflater
from crashline.collector.limits import Limits
from crashline.collector.malformed import Malformed
from crashline.collector.memory import MemoryBudget, Unavailable, WorkerMemory
from crashline.collector.payload import remove_banned_annotations, sanitize_dump_name
from crashline.collector.spool import Dump


def part(name, value: bytes, *, filename=None, content_type="text/plain; charset=utf-8"):
    disposition = f'form-data; name="{name}"' if name is not None else "form-data"
    if filename is not None:
        disposition += f'; filename="{filename}"'
    headers = f"Content-Disposition: {disposition}\r\n"
    if content_type is not None:
        headers += f"Content-Type: {content_type}\r\n"
    return headers.encode() + b"\r\n" + value


def body_of(*parts, boundary="BOUND"):
    out = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return out + b"--" + boundary.encode() + b"--\r\n"


def extract(body: bytes, *, content_type="multipart/form-data; boundary=BOUND",
            encoding=None, length="auto", chunked=False, limits=None):
    stream = io.BytesIO(body)
    return extract_payload(
        stream.read, content_type=content_type, content_encoding=encoding,
        content_length=len(body) if length == "auto" else length, chunked=chunked,
        limits=limits or Limits())


def malformed(reason, status=400, **kwargs):
    def check(body, **more):
        with pytest.raises(Malformed) as info:
            extract(body, **{**kwargs, **more})
        assert (info.value.reason, info.value.status) == (reason, status)
    return check


SIMPLE = body_of(part("ProductName", b"Firefox"), part("Version", b"1"),
                 part("upload_file_minidump", b"MDMP\x00\x01", filename="x.dmp",
                      content_type="application/octet-stream"))


# -- headers -------------------------------------------------------------------------------
@pytest.mark.parametrize("content_type, reason", [
    (None, "no_content_type"),
    ("", "no_content_type"),
    ("application/json", "wrong_content_type"),
    ("text/plain; boundary=BOUND", "wrong_content_type"),
    ("multipart/form-data", "no_boundary"),
    ("multipart/form-data; boundary=", "no_boundary"),
    ("multipart/form-data; charset=utf-8", "no_boundary"),
])
def test_content_type_refusals(content_type, reason):
    with pytest.raises(Malformed) as info:
        boundary_from_content_type(content_type)
    assert info.value.reason == reason and info.value.status == 400


@pytest.mark.parametrize("content_type", [
    "multipart/form-data; boundary=BOUND",
    "multipart/mixed; boundary=BOUND",
    "Multipart/Form-Data; boundary=BOUND",
    'multipart/form-data; boundary="BOUND"',
    "multipart/form-data; charset=utf-8; boundary=BOUND",  # the reference refuses this one
])
def test_content_types_accepted(content_type):
    assert boundary_from_content_type(content_type) == b"BOUND"
    assert extract(SIMPLE, content_type=content_type).annotations["ProductName"] == "Firefox"


def test_content_type_is_checked_before_length():
    malformed("no_content_type", content_type=None)(b"", length=0)
    malformed("no_content_length")(b"", length=0)
    malformed("no_content_length")(SIMPLE, length=None)  # no length, not chunked


def test_chunked_body_without_length_is_read_to_its_end():
    payload = extract(SIMPLE, length=None, chunked=True)
    assert payload.size == len(SIMPLE) and payload.annotations["Version"] == "1"


@pytest.mark.parametrize("value, gzipped", [(None, False), ("", False), ("identity", False),
                                            ("gzip", True), ("GZIP", True), ("x-gzip", True)])
def test_content_encodings(value, gzipped):
    assert is_gzip_encoded(value) is gzipped


def test_unknown_content_encoding_refused():
    malformed("unsupported_content_encoding")(SIMPLE, encoding="br")


# -- body size and structure ----------------------------------------------------------------
def test_body_size_limit_exactly_at_and_over():
    limits = Limits(max_body_size=len(SIMPLE))
    assert extract(SIMPLE, limits=limits).size == len(SIMPLE)
    malformed("too_large", 413)(SIMPLE + b"x", limits=limits)  # declared length over
    # a chunked body is counted as it arrives
    malformed("too_large", 413)(SIMPLE + b"x", limits=limits, length=None, chunked=True)


@pytest.mark.parametrize("body", [
    b"foobarbaz",
    SIMPLE.replace(b"BOUND", b"OTHER"),  # boundary mismatch
    gzip.compress(SIMPLE),  # gzip without the header
])
def test_invalid_payload_structure(body):
    malformed("invalid_payload_structure")(body)


def test_truncated_body_claimed_longer_than_sent():
    malformed("invalid_payload_structure")(SIMPLE[:-30], length=len(SIMPLE))


def test_short_content_length_reads_only_that_much():
    malformed("invalid_payload_structure")(SIMPLE, length=20)


# -- gzip -----------------------------------------------------------------------------------
def test_gzip_body():
    body = gzip.compress(SIMPLE)
    payload = extract(body, encoding="gzip")
    assert payload.compressed and payload.size == len(body)
    assert payload.inflated_size == len(SIMPLE)
    assert payload.annotations == {"ProductName": "Firefox", "Version": "1"}


def test_multi_member_gzip():
    half = len(SIMPLE) // 2
    body = gzip.compress(SIMPLE[:half]) + gzip.compress(SIMPLE[half:])
    assert extract(body, encoding="gzip").annotations["Version"] == "1"


@pytest.mark.parametrize("body", [SIMPLE, gzip.compress(SIMPLE)[:-10], b"\x1f\x8b" + b"\0" * 30])
def test_bad_gzip(body):
    malformed("bad_gzip")(body, encoding="gzip")


def test_gzip_bomb_stops_at_the_inflated_cap():
    bomb = gzip.compress(body_of(part("a", b"x"), part("d", b"\0" * 5_000_000,
                                                       filename="d")))
    assert len(bomb) < 10_000
    malformed("inflated_too_large", 413)(bomb, encoding="gzip",
                                         limits=Limits(max_inflated_size=1_000_000))


def test_compression_ratio_is_capped_past_the_floor():
    # 100 KB of gzip stored 100 MiB before; now 20 times the compressed size at most
    bomb = gzip.compress(body_of(part("a", b"x"), part("d", b"\0" * 3_000_000, filename="d")))
    malformed("compression_ratio_too_high", 413)(bomb, encoding="gzip")
    limits = Limits(max_compression_ratio=5000)
    assert extract(bomb, encoding="gzip", limits=limits).dumps["d"].size == 3_000_000
    # small reports may compress as well as they like
    small = gzip.compress(body_of(part("a", b"x" * 900_000)))
    assert len(small) * 20 < 900_000
    assert len(extract(small, encoding="gzip").annotations["a"]) == 900_000


def test_the_ratio_counts_the_declared_compressed_size():
    # A zero-filled region early in a dump inflates far more than the body as a whole.
    zeros_first = body_of(part("a", b"x"), part("d", bytes(4_000_000) + os.urandom(400_000),
                                                filename="d"))
    body = gzip.compress(zeros_first)
    assert len(zeros_first) / len(body) < 20
    limits = Limits(read_chunk_size=4096)
    assert extract(body, encoding="gzip", limits=limits).dumps["d"].size == 4_400_000
    malformed("compression_ratio_too_high", 413)(body, encoding="gzip", length=None,
                                                 chunked=True, limits=limits)  # undeclared


def assert_fits_the_default_caps(dump: bytes) -> None:
    body = gzip.compress(body_of(part("ProductName", b"F"),
                                 part("upload_file_minidump", dump, filename="d")), 9)
    # with room to spare: real dumps compress at most a third as well as refused
    assert len(dump) / len(gzip.compress(dump, 9)) * 3 < Limits().max_compression_ratio
    assert extract(body, encoding="gzip").dumps["upload_file_minidump"].size == len(dump)


def test_synthetic_dumps_fit_the_default_caps():
    from processor_support.minidump import build_minidump

    assert_fits_the_default_caps(build_minidump())


def test_corpus_dumps_fit_the_default_caps(corpus):
    dumps = sorted((corpus / "minidumps").glob("*.dmp"))
    assert dumps
    for path in dumps:
        assert_fits_the_default_caps(path.read_bytes())


def test_inflater_bounds_each_piece():
    pieces = []
    inflater = Inflater(max_size=10**9, piece_size=1000)
    inflater.feed(gzip.compress(b"a" * 10_000), pieces.append)
    inflater.close()
    assert max(map(len, pieces)) <= 1000 and b"".join(pieces) == b"a" * 10_000


# -- parts ----------------------------------------------------------------------------------
def test_dump_checksum_size_and_note_for_unknown_type():
    body = body_of(part("a", b"1"),
                   part("upload_file_minidump", b"MDMP", filename="x",
                        content_type="application/octet-stream"),
                   part("memory_report", b"gz", filename="m.json.gz",
                        content_type="application/gzip"),
                   part("other", b"no type", filename="o", content_type=None))
    payload = extract(body)
    assert set(payload.dumps) == {"upload_file_minidump", "memory_report", "other"}
    dump = payload.dumps["upload_file_minidump"]
    assert dump.sha256 == hashlib.sha256(b"MDMP").hexdigest() and dump.size == 4
    assert payload.dumps["memory_report"].data() == b"gz"
    assert payload.notes == ["unknown content type: memory_report application/gzip",
                             "unknown content type: other text/plain"]
    assert payload.payload_type == "multipart"


def test_text_part_without_content_type_is_an_annotation():
    assert extract(body_of(part("a", b"v", content_type=None))).annotations == {"a": "v"}


def test_parts_without_a_name_are_skipped():
    body = body_of(part(None, b"nameless"), part("", b"empty"), part("a", b"1"))
    assert extract(body).annotations == {"a": "1"}


def test_dumps_alone_are_not_enough():
    malformed("no_annotations")(body_of(part("upload_file_minidump", b"x", filename="x")))
    malformed("no_annotations")(b"--BOUND--\r\n")


@pytest.mark.parametrize("raw, clean", [
    ("upload_file_minidump", "upload_file_minidump"),
    ("upload_file_minidump_browser", "upload_file_minidump_browser"),
    ("memory-report", "memoryreport"),
    ("../../etc/passwd", "etcpasswd"),
    ("x" * 40, "x" * 30),
    ("dümp name!", "dmpname"),
])
def test_sanitize_dump_name(raw, clean):
    assert sanitize_dump_name(raw) == clean


@pytest.mark.parametrize("name", ["raw_crash", "dump_names", "processed_crash", "dump",
                                  "pending_publish", "received", "raw_crash!", "---"])
def test_reserved_or_empty_dump_names(name):
    malformed("invalid_dump_name")(body_of(part("a", b"1"), part(name, b"x", filename="x")))


def test_duplicates_last_wins_after_sanitizing():
    body = body_of(part("a", b"first"), part("a", b"second"),
                   part("my-dump", b"one", filename="1"), part("mydump", b"two", filename="2"))
    payload = extract(body)
    assert payload.annotations == {"a": "second"}
    assert list(payload.dumps) == ["mydump"] and payload.dumps["mydump"].data() == b"two"


def test_json_annotations_replace_earlier_form_fields_and_later_ones_merge():
    body = body_of(part("before", b"1"),
                   part("extra", json.dumps({"ProductName": "Firefox", "n": 5}).encode(),
                        filename="extra.json", content_type="application/json"),
                   part("after", b"2"))
    payload = extract(body)
    assert payload.annotations == {"ProductName": "Firefox", "n": 5, "after": "2"}
    assert payload.payload_type == "json"
    assert payload.notes == ["includes annotations in both json-encoded extra and formdata parts"]


def test_json_only_payload_has_no_note():
    body = body_of(part("extra", b'{"a": "b"}', content_type="application/json"))
    payload = extract(body)
    assert payload.payload_type == "json" and payload.notes == []


@pytest.mark.parametrize("value, reason", [(b"{not json", "invalid_json"),
                                           (b"\xff\xfe", "invalid_json"),
                                           (b"[1, 2]", "invalid_json_value"),
                                           (b'"text"', "invalid_json_value")])
def test_bad_json_part(value, reason):
    malformed(reason)(body_of(part("extra", value, content_type="application/json")))


def test_undecodable_text_is_dropped_with_a_note():
    body = body_of(part("good", b"ok"), part("bad", b"\xff\xfe", content_type="text/plain"),
                   part("odd", b"x", content_type="text/plain; charset=no-such-charset"),
                   part("latin", "é".encode("latin-1"),
                        content_type="text/plain; charset=latin-1"))
    payload = extract(body)
    assert payload.annotations == {"good": "ok", "latin": "é"}
    assert payload.notes == [
        "extract payload text part exception: invalid text or charset: utf-8",
        "extract payload text part exception: invalid text or charset: no-such-charset",
    ]


def test_text_part_with_filename_is_a_dump():
    body = body_of(part("a", b"1"), part("log", b"text file", filename="log.txt",
                                         content_type="text/plain"))
    payload = extract(body)
    assert "log" in payload.dumps and "log" not in payload.annotations


# -- limits ---------------------------------------------------------------------------------
def test_annotation_count_limit():
    limits = Limits(max_annotations=3)
    assert len(extract(body_of(*(part(f"a{i}", b"v") for i in range(3))),
                       limits=limits).annotations) == 3
    malformed("too_many_annotations")(body_of(*(part(f"a{i}", b"v") for i in range(4))),
                                      limits=limits)
    json_body = body_of(part("extra", json.dumps({f"k{i}": 1 for i in range(4)}).encode(),
                             content_type="application/json"))
    malformed("too_many_annotations")(json_body, limits=limits)


def test_annotation_size_limits():
    limits = Limits(max_annotation_size=10, max_annotations_total_size=25)
    assert extract(body_of(part("a", b"x" * 10)), limits=limits).annotations["a"] == "x" * 10
    malformed("annotation_too_large", 413)(body_of(part("a", b"x" * 11)), limits=limits)
    malformed("annotation_too_large", 413)(
        body_of(*(part(f"a{i}", b"x" * 9) for i in range(3))), limits=limits)
    malformed("annotation_too_large", 413)(
        body_of(part("extra", b'{"a": "' + b"x" * 11 + b'"}', content_type="application/json")),
        limits=limits)  # one value too long
    malformed("annotation_too_large", 413)(
        body_of(part("extra", json.dumps({f"k{i}": "x" * 9 for i in range(3)}).encode(),
                     content_type="application/json")),
        limits=limits)  # the JSON part over the total
    small = json.dumps({"a": "x" * 5, "b": "y" * 5}, separators=(",", ":")).encode()
    assert len(small) == 25  # more than one value may have, within the total
    assert extract(body_of(part("extra", small, content_type="application/json")),
                   limits=limits).annotations == {"a": "xxxxx", "b": "yyyyy"}


def json_part(value: bytes):
    return body_of(part("extra", value, content_type="application/json"))


@pytest.mark.parametrize("depth", [21, 100, 100_000])
def test_deep_json_is_invalid_json_not_a_recursion_error(depth):
    malformed("invalid_json")(json_part(b'{"a":' + b"[" * depth + b"]" * depth + b"}"),
                              limits=Limits(max_json_depth=20))


def test_json_nesting_up_to_the_limit_is_kept():
    value = b'{"a":' + b"[" * 19 + b'"x"' + b"]" * 19 + b"}"  # 20 levels with the object
    annotations = extract(json_part(value), limits=Limits(max_json_depth=20)).annotations
    assert json.dumps(annotations, separators=(",", ":")).encode() == value


def test_json_element_count_is_bounded_before_parsing():
    limits = Limits(max_json_elements=1000)
    # the reported balloon: millions of empty lists under one key, far below the byte limits
    malformed("annotation_too_large", 413)(json_part(b'{"a":[' + b"[]," * 300_000 + b"[]]}"),
                                           limits=limits)
    malformed("annotation_too_large", 413)(
        json_part(json.dumps({"a": list(range(1000))}).encode()), limits=limits)
    ok = json.dumps({"a": list(range(990)), "b": "x,[{" * 100}).encode()  # strings don't count
    assert len(extract(json_part(ok), limits=limits).annotations["a"]) == 990


def test_part_count_limit_counts_skipped_and_repeated_parts():
    limits = Limits(max_parts=5)
    assert extract(body_of(*(part("a", b"v") for i in range(5))), limits=limits)
    malformed("too_many_parts")(body_of(part("a", b"v"), *(part(None, b"") for _ in range(5))),
                                limits=limits)
    malformed("too_many_parts")(body_of(*(part("a", b"v") for _ in range(6))), limits=limits)


def test_dump_count_limit():
    dumps = [part(f"d{i}", b"x", filename="x") for i in range(3)]
    assert len(extract(body_of(part("a", b"1"), *dumps), limits=Limits(max_dumps=3)).dumps) == 3
    malformed("too_many_dumps")(body_of(part("a", b"1"), *dumps), limits=Limits(max_dumps=2))


def test_part_header_limit_is_a_structure_error():
    body = body_of(part("a", b"1"), b"X-Big: " + b"y" * 2000 + b"\r\n" + part("b", b"2"))
    malformed("invalid_payload_structure")(body, limits=Limits(max_part_header_size=1024))


# -- spooling -------------------------------------------------------------------------------
def test_dumps_spool_to_disk_past_the_memory_budget(tmp_path):
    budget = MemoryBudget(100)
    small, big = Dump("small", budget, tmp_path), Dump("big", budget, tmp_path)
    small.write(b"s" * 60)
    big.write(b"b" * 30)
    big.write(b"b" * 30)  # 120 > 100: spooled
    assert not small.spooled and big.spooled and budget.left == 40
    assert small.data() == b"s" * 60
    assert big.data().read() == b"b" * 60
    assert big.sha256 == hashlib.sha256(b"b" * 60).hexdigest()
    small.close()
    big.close()
    assert budget.left == 100


def test_payload_with_big_dump_is_spooled():
    dump = bytes(range(256)) * 4096  # 1 MiB
    body = body_of(part("a", b"1"), part("upload_file_minidump", dump, filename="x",
                                         content_type="application/octet-stream"))
    payload = extract(body, limits=Limits(dump_memory=64 * 1024, read_chunk_size=4096))
    assert payload.dumps["upload_file_minidump"].spooled
    assert payload.dumps["upload_file_minidump"].data().read() == dump
    payload.close()


def test_banned_annotations_removed_with_notes():
    annotations = {"Email": "a@b", "TelemetryClientId": "x", "TelemetryServerURL": "u",
                   "TelemetrySessionId": "s", "ProductName": "Firefox"}
    notes: list[str] = []
    remove_banned_annotations(annotations, notes)
    assert annotations == {"ProductName": "Firefox"}
    assert notes == [f"Removed {n} from raw crash." for n in
                     ("Email", "TelemetryClientId", "TelemetryServerURL", "TelemetrySessionId")]


def test_client_encoding_round_trips():
    body, boundary = encode_multipart({"b": "2", "a": "ü"}, {"upload_file_minidump": b"\0\1"})
    payload = extract(body, content_type=f"multipart/form-data; boundary={boundary}")
    assert payload.annotations == {"a": "ü", "b": "2"}
    assert payload.dumps["upload_file_minidump"].data() == b"\0\1"


# -- memory really held ---------------------------------------------------------------------
def held_after(func):
    """Bytes still allocated (traced) while ``func``'s result is alive."""
    import gc
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        result = func()
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return held


def test_tiny_dumps_do_not_pin_whole_chunks():
    # Each tiny dump arrives in its own inflated piece (skipped filler between them): views
    # of those pieces would hold 100 x 256 KiB while the budget counted 100 x 10 bytes.
    parts = []
    for i in range(100):
        parts.append(part(None, bytes(300 * 1024)))  # no name: skipped
        parts.append(part(f"d{i}", b"x" * 10, filename="d", content_type=None))
    body = gzip.compress(body_of(part("ProductName", b"F"), *parts))
    assert len(body) < 100 * 1024
    limits = Limits(max_compression_ratio=1000)  # a ratio the default would refuse
    held = held_after(lambda: extract(body, encoding="gzip", limits=limits))
    assert held < 4 * 1024 * 1024, f"{held / 2**20:.1f} MiB held for 1 KiB of dumps"


def test_budget_charges_the_chunk_a_kept_view_pins():
    budget = MemoryBudget(1024 * 1024)
    chunk = bytes(256 * 1024)
    dump = Dump("d", budget)
    dump.write(memoryview(chunk)[: 200 * 1024])  # most of the chunk: kept, whole chunk held
    assert budget.left == 1024 * 1024 - len(chunk)
    dump.write(memoryview(chunk)[:100])  # a sliver: copied, only its size held
    assert budget.left == 1024 * 1024 - len(chunk) - 100
    assert dump.data() == bytes(200 * 1024 + 100)
    dump.close()
    assert budget.left == 1024 * 1024


def test_long_header_values_are_not_cached():
    from crashline.collector.multipart import parse_header_params

    def parse_many():
        for i in range(1500):
            parse_header_params(f'form-data; name="{i}"; filename="{"x" * 16000}"')

    assert held_after(parse_many) < 1024 * 1024


# -- the worker's memory, shared by its requests --------------------------------------------
def test_requests_of_a_worker_share_its_annotation_memory():
    memory = WorkerMemory(MemoryBudget(10**9), MemoryBudget(20_000))
    limits = Limits()
    big = body_of(part("a", b"x" * 15_000))

    def extract_with_memory(body):
        stream = io.BytesIO(body)
        return extract_payload(stream.read, content_type="multipart/form-data; boundary=BOUND",
                               content_encoding=None, content_length=len(body), chunked=False,
                               limits=limits, memory=memory)

    first = extract_with_memory(big)  # still being handled: its annotations are held
    with pytest.raises(Unavailable):
        extract_with_memory(big)
    assert memory.annotations.left == 20_000 - 15_000  # the refused one gave its share back
    first.close()
    assert memory.annotations.left == 20_000
    extract_with_memory(big).close()


def test_requests_of_a_worker_share_its_dump_memory(tmp_path):
    memory = WorkerMemory(MemoryBudget(100_000), MemoryBudget(10**9), tmp_path)
    limits = Limits(read_chunk_size=4096)
    body = body_of(part("a", b"1"), part("d", os.urandom(60_000), filename="d",
                                         content_type="application/octet-stream"))

    def extract_with_memory():
        stream = io.BytesIO(body)
        return extract_payload(stream.read, content_type="multipart/form-data; boundary=BOUND",
                               content_encoding=None, content_length=len(body), chunked=False,
                               limits=limits, memory=memory)

    first, second = extract_with_memory(), extract_with_memory()
    assert not first.dumps["d"].spooled and second.dumps["d"].spooled
    assert first.dumps["d"].data() == second.dumps["d"].data().read()
    first.close()
    second.close()
    assert memory.dumps.left == 100_000
