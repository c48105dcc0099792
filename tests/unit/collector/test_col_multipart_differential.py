"""Our multipart parser against an independent one (python-multipart) on generated bodies.

Hypothesis builds well-formed bodies (part headers, contents that contain CRLFs, dashes and
pieces of the boundary, a preamble and an epilogue) and feeds them to both parsers in the same
random chunks: the parts must come out identical. For bodies it breaks (truncated, a byte
flipped), our parser may refuse; when it does not, what it found must agree with the other.
"""

from __future__ import annotations

import python_multipart
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashline.collector.multipart import MultipartError, MultipartParser

BOUNDARY = b"xYzZY-boundary"


class Collect:
    def __init__(self):
        self.parts: list[tuple[dict[str, str], bytes]] = []
        self._data: list[bytes] = []
        self._headers: dict[str, str] = {}

    def part_begin(self, headers):
        self._headers, self._data = dict(headers), []

    def part_data(self, data):
        self._data.append(bytes(data))

    def part_end(self):
        self.parts.append((self._headers, b"".join(self._data)))


def ours(body: bytes, cuts: list[int]) -> list[tuple[dict[str, str], bytes]]:
    collect = Collect()
    parser = MultipartParser(BOUNDARY, collect)
    for piece in split(body, cuts):
        parser.feed(piece)
    parser.close()
    return collect.parts


def theirs(body: bytes, cuts: list[int]) -> list[tuple[dict[str, str], bytes]]:
    parts: list[tuple[dict[str, str], bytes]] = []
    state = {"field": b"", "value": b"", "headers": {}, "data": []}

    def on_part_begin():
        state["headers"], state["data"] = {}, []

    def on_header_field(data, start, end):
        state["field"] += data[start:end]

    def on_header_value(data, start, end):
        state["value"] += data[start:end]

    def on_header_end():
        name = state["field"].decode("utf-8", "replace").strip().lower()
        state["headers"][name] = state["value"].decode("utf-8", "replace").strip()
        state["field"], state["value"] = b"", b""

    def on_part_data(data, start, end):
        state["data"].append(bytes(data[start:end]))

    def on_part_end():
        parts.append((state["headers"], b"".join(state["data"])))

    parser = python_multipart.MultipartParser(BOUNDARY, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_part_data": on_part_data, "on_part_end": on_part_end}, max_header_count=64)
    for piece in split(body, cuts):
        parser.write(piece)
    parser.finalize()
    return parts


def split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(body) + 1) for c in cuts} | {0, len(body)})
    return [body[a:b] for a, b in zip(points, points[1:], strict=False)]


# Contents that stress delimiter search: CRLFs, dashes, prefixes of the boundary.
_TRICKY = [b"\r\n", b"--", b"\r\n--", b"\r\n--xYzZY", b"xYzZY-boundar", b"\r", b"\n", b"-"]
contents = st.lists(st.one_of(st.binary(max_size=40), st.sampled_from(_TRICKY)),
                    max_size=12).map(b"".join).filter(lambda c: b"--" + BOUNDARY not in c)
header_names = st.sampled_from(["Content-Disposition", "Content-Type", "X-Extra"])
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e,
                                      exclude_characters=";\\"), min_size=1, max_size=30)
parts = st.tuples(st.dictionaries(header_names, header_values, min_size=1, max_size=3),
                  contents)


def encode(body_parts, preamble: bytes, epilogue: bytes) -> bytes:
    out = [preamble + b"\r\n" if preamble else b""]
    for headers, content in body_parts:
        out.append(b"--" + BOUNDARY + b"\r\n")
        out.extend(f"{k}: {v.strip()}\r\n".encode() for k, v in headers.items())
        out.append(b"\r\n" + content + b"\r\n")
    out.append(b"--" + BOUNDARY + b"--\r\n" + epilogue)
    return b"".join(out)


def expected(body_parts):
    return [({k.lower(): v.strip() for k, v in headers.items()}, content)
            for headers, content in body_parts]


preambles = st.sampled_from([b"", b"this is a preamble", b"--not-the-boundary"])
epilogues = st.sampled_from([b"", b"epilogue\r\n"])
cut_lists = st.lists(st.integers(min_value=0, max_value=10_000), max_size=8)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(parts, min_size=1, max_size=5), preambles, epilogues, cut_lists)
def test_well_formed_bodies_parse_the_same(body_parts, preamble, epilogue, cuts):
    body = encode(body_parts, preamble, epilogue)
    assert ours(body, cuts) == expected(body_parts)
    if not preamble:  # python-multipart wants the first boundary first (RFC 2046 allows one)
        assert theirs(body, cuts) == expected(body_parts)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(parts, min_size=1, max_size=4), cut_lists, st.data())
def test_broken_bodies_are_refused_or_read_as_the_other_parser_reads_them(body_parts, cuts,
                                                                          data):
    body = bytearray(encode(body_parts, b"", b""))
    how = data.draw(st.sampled_from(["truncate", "flip"]))
    at = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    if how == "truncate":
        del body[at:]
    else:
        body[at] ^= data.draw(st.integers(min_value=1, max_value=255))
    body = bytes(body)
    try:
        mine = ours(body, cuts)
    except MultipartError:
        return  # refusing a broken body is always allowed
    try:
        other = theirs(body, cuts)
    except python_multipart.exceptions.MultipartParseError:
        other = None
    if other is not None:
        assert mine == other
