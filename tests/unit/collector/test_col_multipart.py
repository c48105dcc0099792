"""The incremental multipart parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crashline.collector.multipart import MultipartError, MultipartParser, parse_header_params


class Recorder:
    def __init__(self):
        self.parts: list[tuple[dict, bytes]] = []
        self._data: bytearray | None = None

    def part_begin(self, headers):
        assert self._data is None, "part_begin twice without part_end"
        self._headers, self._data = headers, bytearray()

    def part_data(self, data):
        assert isinstance(data, memoryview | bytes)
        self._data += data

    def part_end(self):
        self.parts.append((self._headers, bytes(self._data)))
        self._data = None


def parse(body: bytes, boundary: bytes = b"xyz", chunk: int | None = None, **kwargs):
    recorder = Recorder()
    parser = MultipartParser(boundary, recorder, **kwargs)
    step = chunk or len(body) or 1
    for i in range(0, len(body), step):
        parser.feed(body[i:i + step])
    parser.close()
    return recorder.parts


BODY = (b"--xyz\r\n"
        b'Content-Disposition: form-data; name="a"\r\n'
        b"\r\n"
        b"hello\r\n"
        b"--xyz\r\n"
        b'Content-Disposition: form-data; name="f"; filename="f.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n"
        b"\r\n"
        b"\x00\r\n--xy\r\n-\xff\r\n"
        b"--xyz--\r\n")


def test_parts_headers_and_data():
    parts = parse(BODY)
    assert [p[1] for p in parts] == [b"hello", b"\x00\r\n--xy\r\n-\xff"]
    assert parts[0][0] == {"content-disposition": 'form-data; name="a"'}
    assert parts[1][0]["content-type"] == "application/octet-stream"


@given(st.lists(st.integers(min_value=1, max_value=len(BODY)), min_size=1, max_size=20))
@settings(max_examples=200)
def test_any_split_of_the_body_gives_the_same_parts(cuts):
    recorder = Recorder()
    parser = MultipartParser(b"xyz", recorder)
    positions = sorted(set(cuts)) + [len(BODY)]
    start = 0
    for end in positions:
        parser.feed(BODY[start:end])
        start = end
    parser.close()
    assert recorder.parts == parse(BODY)


@given(st.binary(max_size=300), st.integers(min_value=1, max_value=64))
@settings(max_examples=200)
def test_binary_content_round_trips(content, chunk):
    boundary = b"b0undary-1234567890"
    if b"\r\n--" + boundary in b"\r\n" + content + b"\r\n":
        return
    body = (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"d\"\r\n\r\n"
            + content + b"\r\n--" + boundary + b"--\r\n")
    assert parse(body, boundary, chunk=chunk)[0][1] == content


def test_preamble_epilogue_and_transport_padding_are_ignored():
    body = (b"this is a preamble\r\n--xyz  \t\r\n\r\nno headers\r\n--xyz--\r\nepilogue junk")
    assert parse(body) == [({}, b"no headers")]


def test_empty_part_and_lf_in_data():
    body = b"--xyz\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\n\r\n--xyz--"
    assert parse(body) == [({"content-disposition": 'form-data; name="e"'}, b"")]


def test_folded_header_lines_are_joined():
    body = (b"--xyz\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\nv\r\n--xyz--")
    assert parse(body)[0][0]["content-disposition"] == 'form-data; name="a"'


def test_zero_parts():
    assert parse(b"--xyz--\r\n") == []


@pytest.mark.parametrize("body, message", [
    (b"foobarbaz", "ended before"),
    (b"--other\r\n\r\nx\r\n--other--", "ended before"),  # boundary mismatch
    (BODY[:-12], "ended before"),  # truncated
    (b"--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx", "ended before"),
    (b"--xyzjunk\r\n\r\nx\r\n--xyz--", "junk after"),
    (b"--xyz\r\nno colon here\r\n\r\nx\r\n--xyz--", "malformed part header"),
])
def test_malformed_bodies(body, message):
    with pytest.raises(MultipartError, match=message):
        parse(body)


def test_part_headers_over_the_limit():
    body = (b"--xyz\r\nX-Long: " + b"a" * 400 + b"\r\n\r\nx\r\n--xyz--")
    with pytest.raises(MultipartError, match="headers too large"):
        parse(body, max_header_size=300)
    with pytest.raises(MultipartError, match="headers too large"):
        parse(body, max_header_size=300, chunk=7)  # noticed before the headers end
    assert parse(body, max_header_size=1000)[0][1] == b"x"


def test_swallowed_boundary_without_crlf_becomes_data():
    # An uploader that forgets the CRLF after an empty dump: the next part is dump data,
    # exactly as the reference (and RFC 2046) reads it.
    body = (b"--xyz\r\nContent-Disposition: form-data; name=\"d\"; filename=\"x\"\r\n\r\n"
            b"--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--xyz--")
    parts = parse(body)
    assert len(parts) == 1 and parts[0][1].startswith(b"--xyz")


@pytest.mark.parametrize("value, expected", [
    ("text/plain", ("text/plain", {})),
    ("Text/Plain; Charset=UTF-8", ("text/plain", {"charset": "UTF-8"})),
    ('form-data; name="a;b"; filename="c d.dmp"', ("form-data", {"name": "a;b",
                                                                 "filename": "c d.dmp"})),
    (r'form-data; name="q\"uote"', ("form-data", {"name": 'q"uote'})),
    ("form-data; name=plain ; filename=x", ("form-data", {"name": "plain", "filename": "x"})),
    ("form-data; name=\"a\"; filename*=UTF-8''%C3%A9t%C3%A9.dmp",
     ("form-data", {"name": "a", "filename": "été.dmp"})),
    ("multipart/form-data; charset=x; boundary=\"b c\"",
     ("multipart/form-data", {"charset": "x", "boundary": "b c"})),
])
def test_parse_header_params(value, expected):
    assert parse_header_params(value) == expected
