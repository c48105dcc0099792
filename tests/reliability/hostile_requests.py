"""Hostile requests to the collector, generated: every kind of malformed, oversized, slow or
tricky report a client (or an attacker) can send, each varied by a seeded random source.

:func:`generate` yields :class:`Hostile` requests: the bytes of the whole exchange (head and
body, as pieces), how to send them (at once, trickled, or cut off), and its kind. The kinds
and their weights are in :data:`KINDS`; the heavy ones (a 25 MiB body, a 400 MiB gzip bomb)
are rare, the cheap ones common, so that 100,000 requests take minutes and every kind is
sent many times.
"""

from __future__ import annotations

import gzip
import json
import random
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

MiB = 1024 * 1024
# In every report's protected URL annotation: it must never reach a log or a metric.
SECRET = f"https://example.com/?session=hostile-secret-{uuid.uuid4().hex}".encode()
MAX_BODY = 25 * MiB  # CRASHLINE_COLLECTOR_MAX_BODY_SIZE's default
MAX_PARTS = 2000
MAX_ANNOTATIONS = 1000


@dataclass
class Hostile:
    pieces: list[bytes]  # sent one after another
    pause: float = 0.0  # seconds between pieces (a slow sender)
    then: str = "wait"  # after the last piece: "wait" for the answer, or "half-close" (shut
    #                     the writing side, then read the answer)
    kind: str = ""  # its name in KINDS


# -- building blocks ---------------------------------------------------------------------------
def part(name: bytes, value: bytes, *, boundary: bytes, filename: bytes | None = None,
         content_type: bytes = b"text/plain") -> bytes:
    disposition = b'form-data; name="' + name + b'"'
    if filename is not None:
        disposition += b'; filename="' + filename + b'"'
    return (b"--" + boundary + b"\r\nContent-Disposition: " + disposition +
            b"\r\nContent-Type: " + content_type + b"\r\n\r\n" + value + b"\r\n")


def dump(name: bytes, value: bytes, boundary: bytes) -> bytes:
    return part(name, value, boundary=boundary, filename=b"x.dmp",
                content_type=b"application/octet-stream")


def closing(boundary: bytes) -> bytes:
    return b"--" + boundary + b"--\r\n"


def report(rng: random.Random, boundary: bytes = b"hostile") -> bytes:
    """A small well-formed report."""
    return (part(b"ProductName", b"Hostile", boundary=boundary) +
            part(b"Version", str(rng.randrange(100)).encode(), boundary=boundary) +
            part(b"URL", SECRET, boundary=boundary) +
            dump(b"upload_file_minidump", b"MDMP" + rng.randbytes(rng.randrange(16, 2048)),
                 boundary) + closing(boundary))


def head(headers: dict[bytes, bytes] | list[tuple[bytes, bytes]], *,
         line: bytes = b"POST /submit HTTP/1.1") -> bytes:
    items = headers.items() if isinstance(headers, dict) else headers
    lines = [line, b"Host: 127.0.0.1", b"Connection: close"]
    lines += [k + b": " + v for k, v in items]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def form(boundary: bytes = b"hostile") -> bytes:
    return b"multipart/form-data; boundary=" + boundary


def post(body: bytes, content_type: bytes | None = None, **extra: bytes) -> list[bytes]:
    headers = {b"Content-Type": content_type or form(), b"Content-Length": str(len(body)).encode()}
    headers.update({k.replace("_", "-").encode(): v for k, v in extra.items()})
    return [head(headers), body]


def chunked(body: bytes, size: int) -> bytes:
    out = bytearray()
    for start in range(0, len(body), size):
        piece = body[start:start + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


# -- the kinds ---------------------------------------------------------------------------------
def valid(rng):  # the control: must be accepted
    return Hostile(post(report(rng)))


def truncated_eof(rng):  # the client goes away mid-body
    body = report(rng)
    cut = rng.randrange(1, len(body))
    return Hostile([head(
        {b"Content-Type": form(), b"Content-Length": str(len(body)).encode()}), body[:cut]],
        then="half-close")


def truncated_stall(rng):  # mid-body, then silence: the body deadline answers
    body = report(rng)
    cut = rng.randrange(1, len(body))
    return Hostile([head(
        {b"Content-Type": form(), b"Content-Length": str(len(body)).encode()}), body[:cut]])


def truncated_multipart(rng):  # consistent length, but the multipart ends early
    body = report(rng)
    return Hostile(post(body[:rng.randrange(1, len(body) - 4)]))


def truncated_gzip(rng):
    packed = gzip.compress(report(rng))
    return Hostile(post(packed[:rng.randrange(1, len(packed) - 1)],
                                          Content_Encoding=b"gzip"))


def oversized_declared(rng):  # says 26 MiB or more, sends a little
    size = MAX_BODY + rng.choice([1, 1000, 10 * MiB, 2**40, 2**63 - 1])
    return Hostile([head(
        {b"Content-Type": form(), b"Content-Length": str(size).encode()}), report(rng)])


def oversized_chunked(rng):  # really sends more than 25 MiB, chunked
    return Hostile([head({b"Content-Type": form(), b"Transfer-Encoding": b"chunked"}),
                    oversized_chunked_body(rng.choice([65536, MiB]))])


@cache
def oversized_chunked_body(chunk_size: int) -> bytes:
    body = part(b"ProductName", b"H", boundary=b"hostile") + dump(
        b"upload_file_minidump", zero_mib() * 26, b"hostile") + closing(b"hostile")
    return chunked(body, chunk_size)


def slow_head(rng):  # trickles its head, byte by byte
    data = head({b"Content-Type": form(), b"Content-Length": b"10"})
    return Hostile([data[i:i + 1] for i in range(len(data))], pause=0.3)


def slow_body(rng):  # trickles its body
    body = report(rng)
    pieces = [body[i:i + 7] for i in range(0, len(body), 7)]
    return Hostile([head(
        {b"Content-Type": form(), b"Content-Length": str(len(body)).encode()}), *pieces],
        pause=0.3)


@cache
def zero_mib() -> bytes:
    return bytes(MiB)


@cache
def bomb(mib: int) -> bytes:
    """gzip of a report whose dump is ``mib`` MiB of zeros (about 1000:1)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [packer.compress(part(b"ProductName", b"H", boundary=b"hostile") +
                           b"--hostile\r\nContent-Disposition: form-data; "
                           b'name="upload_file_minidump"; filename="x.dmp"\r\n'
                           b"Content-Type: application/octet-stream\r\n\r\n")]
    out += [packer.compress(zero_mib()) for _ in range(mib)]
    out.append(packer.compress(b"\r\n" + closing(b"hostile")) + packer.flush())
    return b"".join(out)


def gzip_bomb(rng):
    mib = rng.choice([2, 10, 50, 400]) if rng.random() < 0.2 else 2
    return Hostile(post(bomb(mib), Content_Encoding=b"gzip"))


def many_headers(rng):  # past gunicorn's 100 header fields
    count = rng.choice([101, 500, 5000])
    headers = [(f"X-H{i}".encode(), b"v") for i in range(count)]
    return Hostile([head(headers + [(b"Content-Type", form())]),
                                         report(rng)])


def huge_header(rng):  # one header field or request line past gunicorn's limits
    if rng.random() < 0.5:
        return Hostile([head({b"X-Big": b"a" * rng.choice([8191, 9000, 65536,
                                                                        MiB])})])
    return Hostile([head({}, line=b"POST /submit?" + b"a" * 9000 +
                                              b" HTTP/1.1")])


def many_parts(rng):  # past the part limit, empty or tiny parts
    count = MAX_PARTS + rng.choice([1, 100, 20000])
    body = b"".join(part(b"p", b"", boundary=b"hostile") for _ in range(count))
    return Hostile(post(body + closing(b"hostile")))


def many_annotations(rng):
    count = MAX_ANNOTATIONS + rng.choice([1, 500])
    body = b"".join(part(f"A{i}".encode(), b"v", boundary=b"hostile") for i in range(count))
    return Hostile(post(body + dump(
        b"upload_file_minidump", b"MDMP", b"hostile") + closing(b"hostile")))


def tiny_dumps_in_large_chunks(rng):  # tiny dumps between big skipped parts, chunked
    filler = rng.randbytes(4096) * rng.choice([16, 64])
    pieces = [part(b"ProductName", b"H", boundary=b"hostile")]
    for i in range(rng.choice([10, 50, 100])):
        pieces += [part(b"", filler, boundary=b"hostile"),
                   dump(f"d{i}".encode(), b"x" * rng.randrange(1, 16), b"hostile")]
    body = b"".join(pieces) + closing(b"hostile")
    return Hostile([head(
        {b"Content-Type": form(), b"Transfer-Encoding": b"chunked"}),
        chunked(body, rng.choice([MiB, 4 * MiB]))])


def invalid_utf8(rng):  # in names, values, filenames and the JSON part
    bad = [b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"a\x00b"]
    name = rng.choice([b"ProductName", b"Pro\xffduct", b"\x00", b"Version" + rng.choice(bad)])
    value = b"H" + rng.choice(bad) * rng.randrange(1, 50)
    body = (part(name, value, boundary=b"hostile") +
            part(b"ProductName", b"H" + rng.choice(bad), boundary=b"hostile") +
            part(b"extra", b'{"A": "' + rng.choice(bad) + b'"}', boundary=b"hostile",
                 content_type=b"application/json") +
            part(b"upload_file_minidump", b"MDMP", boundary=b"hostile",
                 filename=rng.choice(bad), content_type=b"application/octet-stream") +
            closing(b"hostile"))
    return Hostile(post(body))


def nul_in_head(rng):
    where = rng.choice([b"X-A\x00: v", b"X-A: v\x00w", b"Content-Type: multipart/form-data;"
                        b" boundary=ho\x00stile", b"POST /sub\x00mit HTTP/1.1"])
    lines = [b"POST /submit HTTP/1.1", b"Host: x", b"Connection: close", where,
             b"Content-Length: 4", b"", b"abcd"]
    if where.startswith(b"POST"):
        lines[0] = where
    return Hostile([b"\r\n".join(lines)])


def odd_boundary(rng):
    boundary = rng.choice([
        b"a" * 70, b"a" * 200, b"with space", b'"quoted"', b"--", b"-", b"\xff\xfe",
        b"==b==", b"x" * 2000, b"b;c=d", b"ho\tst", b"UPPER", b""])
    param = boundary
    inner = boundary.strip(b'"')
    body = report(rng, inner or b"x")
    if rng.random() < 0.3:  # the boundary occurs inside a value
        body = part(b"Note", b"--" + inner + b" inside", boundary=inner or b"x") + body
    if rng.random() < 0.2:  # another boundary than the declared one
        body = report(rng, b"different")
    content_type = rng.choice([b"multipart/form-data; boundary=" + param,
                               b"multipart/form-data; BOUNDARY=" + param,
                               b"multipart/form-data; boundary=" + param + b"; boundary=x",
                               b"multipart/form-data",
                               b"multipart/form-data; boundary=" + param + b"; charset=utf-8"])
    return Hostile(post(body, content_type))


def duplicate_annotations(rng):
    count = rng.choice([2, 10, 50])
    pieces = [part(b"ProductName", f"H{i}".encode(), boundary=b"hostile") for i in range(count)]
    pieces.append(part(b"extra", json.dumps({"ProductName": "J", "Version": "1"}).encode(),
                       boundary=b"hostile", content_type=b"application/json"))
    pieces += [part(b"Version", b"2", boundary=b"hostile")] * 2
    pieces += [dump(b"upload_file_minidump", b"MDMP1", b"hostile"),
               dump(b"upload_file_minidump", b"MDMP2", b"hostile")]
    return Hostile(post(b"".join(pieces) + closing(b"hostile")))


def bad_dump_names(rng):
    name = rng.choice([b"../../etc/passwd", b"raw_crash", b"dump", b"received",
                       b"pending_publish", b"a/b", b".", b"..", b"x" * 5000, b"%2e%2e",
                       b"upload_file_minidump\x00", b""])
    body = part(b"ProductName", b"H", boundary=b"hostile") + dump(name, b"MDMP", b"hostile") + \
        closing(b"hostile")
    return Hostile(post(body))


def bad_json(rng):
    value = rng.choice([
        b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", b'{"a":[' + b"[]," * 300_000 + b"[]]}",
        b"[1,2,3]", b'"string"', b"{", b'{"a": NaN}', b'{"a": 1e999999}', b"\xff",
        b'{"ProductName": {"nested": ["x"]}}', b'{"a": "\\ud800"}', b"{}" * 1000])
    body = part(b"extra", value, boundary=b"hostile", content_type=b"application/json") + \
        dump(b"upload_file_minidump", b"MDMP", b"hostile") + closing(b"hostile")
    return Hostile(post(body))


def bad_framing(rng):  # lengths and encodings that lie or make no sense
    body = report(rng)
    variant = rng.randrange(8)
    if variant == 7:  # a transfer coding the server does not know: the client's error, a 4xx
        return Hostile([head({b"Content-Type": form(), b"Transfer-Encoding": rng.choice(
            [b"0", b"gzip2", b"xchunked", b"chunked, br", b"\xff"])}), chunked(body, 100)])
    if variant == 0:
        return Hostile([head({b"Content-Type": form(),
                                            b"Content-Length": b"-5"}), body])
    if variant == 1:
        return Hostile([head({b"Content-Type": form(),
                                            b"Content-Length": b"12abc"}), body])
    if variant == 2:
        return Hostile([head([(b"Content-Type", form()),
                                             (b"Content-Length", str(len(body)).encode()),
                                             (b"Content-Length", b"3")]), body])
    if variant == 3:
        return Hostile([head({b"Content-Type": form(),
                                            b"Transfer-Encoding": b"chunked"}),
                                       b"zz\r\n" + body + b"\r\n0\r\n\r\n"])
    if variant == 4:
        return Hostile([head({b"Content-Type": form(),
                                            b"Transfer-Encoding": b"chunked",
                                            b"Content-Length": str(len(body)).encode()}),
                                       chunked(body, 100)])
    if variant == 5:
        return Hostile(post(body, Content_Encoding=rng.choice(
            [b"br", b"gzip, gzip", b"deflate", b"x-gzip", b"identity", b"\xff"])))
    return Hostile(post(body, rng.choice(
        [b"text/plain", b"application/json", b"multipart/mixed; boundary=hostile",
         b"multipart/form-data; boundary=", b"\xff\xfe", b"multipart/x; boundary=hostile"])))


def garbage(rng):  # not HTTP at all
    return Hostile([rng.randbytes(rng.randrange(1, 4096)) + b"\r\n\r\n"])


def other_methods(rng):
    method = rng.choice([b"GET", b"PUT", b"DELETE", b"OPTIONS", b"TRACE", b"PATCH", b"XYZ"])
    path = rng.choice([b"/submit", b"/", b"/submit/../__heartbeat__", b"//submit",
                       b"/submit?x=" + b"%ff" * 50, b"/__broken__", b"*"])
    return Hostile([head({b"Content-Length": b"0"},
                                                    line=method + b" " + path + b" HTTP/1.1")])


# kind -> (weight, maker). Weights are relative; heavy kinds are rare.
KINDS: dict[str, tuple[float, Callable[[random.Random], Hostile]]] = {
    "valid": (2, valid),
    "truncated_eof": (6, truncated_eof),
    "truncated_stall": (0.5, truncated_stall),
    "truncated_multipart": (6, truncated_multipart),
    "truncated_gzip": (6, truncated_gzip),
    "oversized_declared": (4, oversized_declared),
    "oversized_chunked": (0.03, oversized_chunked),
    "slow_head": (0.2, slow_head),
    "slow_body": (0.2, slow_body),
    "gzip_bomb": (1, gzip_bomb),
    "many_headers": (3, many_headers),
    "huge_header": (3, huge_header),
    "many_parts": (1, many_parts),
    "many_annotations": (1, many_annotations),
    "tiny_dumps_in_large_chunks": (0.5, tiny_dumps_in_large_chunks),
    "invalid_utf8": (10, invalid_utf8),
    "nul_in_head": (6, nul_in_head),
    "odd_boundary": (10, odd_boundary),
    "duplicate_annotations": (8, duplicate_annotations),
    "bad_dump_names": (6, bad_dump_names),
    "bad_json": (3, bad_json),
    "bad_framing": (10, bad_framing),
    "garbage": (6, garbage),
    "other_methods": (4, other_methods),
}


def generate(count: int, seed: int = 16) -> Iterator[Hostile]:
    """``count`` requests; the first ``len(KINDS)`` are one of each kind, so that even a
    small slice sends every kind."""
    rng = random.Random(seed)
    names = list(KINDS)
    weights = [KINDS[name][0] for name in names]
    for i in range(count):
        name = names[i] if i < len(names) else rng.choices(names, weights)[0]
        hostile = KINDS[name][1](rng)
        hostile.kind = name
        yield hostile
