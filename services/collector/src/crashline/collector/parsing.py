"""From an HTTP request body to annotations and dumps: pure, streaming, bounded.

The rules follow the reference collector (its compatibility checklist): header checks, gzip,
how each multipart part is classified, how dump names are sanitised. Every refusal is a
:class:`Malformed` carrying the reason the client sees (``Discarded=malformed_<reason>``) and
the HTTP status.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from crashline.collector.multipart import MultipartError, MultipartParser, parse_header_params

try:  # zlib-ng inflates about twice as fast as zlib; same API, same results
    from zlib_ng import zlib_ng as zlib
except ImportError:  # pragma: no cover - a declared dependency; zlib still works
    import zlib

MULTIPART_TYPES = ("multipart/form-data", "multipart/mixed")
MAIN_DUMP = "upload_file_minidump"
# Dump names that would collide with other objects of a crash in storage.
RESERVED_DUMP_NAMES = frozenset({"dump", "dump_names", "raw_crash", "processed_crash",
                                 "pending_publish"})
# Never stored: personal data some clients send.
BANNED_ANNOTATIONS = ("Email", "TelemetryClientId", "TelemetryServerURL", "TelemetrySessionId")
_DUMP_NAME_JUNK = re.compile(r"[^A-Za-z0-9_]")
_MAX_BOUNDARY = 200


class Malformed(Exception):
    """The request is refused; ``reason`` is what the client is told."""

    def __init__(self, reason: str, status: int = 400, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason
        self.status = status
        self.detail = detail


def too_large(reason: str, detail: str = "") -> Malformed:
    return Malformed(reason, 413, detail)


@dataclass(frozen=True)
class Limits:
    max_body_size: int = 25 * 1024 * 1024
    max_inflated_size: int = 400 * 1024 * 1024
    max_annotations: int = 1000
    max_annotation_size: int = 2 * 1024 * 1024
    max_annotations_total_size: int = 8 * 1024 * 1024
    max_dumps: int = 100
    max_part_header_size: int = 16 * 1024
    spool_memory_size: int = 4 * 1024 * 1024
    spool_dir: Path | None = None
    read_chunk_size: int = 256 * 1024

    @classmethod
    def from_settings(cls, settings) -> Limits:
        return cls(
            max_body_size=settings.collector_max_body_size,
            max_inflated_size=settings.collector_max_inflated_size,
            max_annotations=settings.collector_max_annotations,
            max_annotation_size=settings.collector_max_annotation_size,
            max_annotations_total_size=settings.collector_max_annotations_total_size,
            max_dumps=settings.collector_max_dumps,
            max_part_header_size=settings.collector_max_part_header_size,
            spool_memory_size=settings.collector_spool_memory_size,
            spool_dir=settings.collector_spool_dir,
            read_chunk_size=settings.collector_read_chunk_size,
        )


# -- request headers ------------------------------------------------------------------------
def boundary_from_content_type(content_type: str | None) -> bytes:
    """The multipart boundary, or :class:`Malformed` in the reference's order of checks.

    More tolerant than the reference on form only: the media type is matched without regard
    to case and ``boundary`` may come after other parameters or be quoted (RFC 2045).
    """
    if not content_type or not content_type.strip():
        raise Malformed("no_content_type")
    media_type, params = parse_header_params(content_type)
    if media_type not in MULTIPART_TYPES:
        raise Malformed("wrong_content_type")
    boundary = params.get("boundary", "")
    if not boundary or len(boundary) > _MAX_BOUNDARY:
        raise Malformed("no_boundary")
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError as exc:
        raise Malformed("no_boundary") from exc


def is_gzip_encoded(content_encoding: str | None) -> bool:
    """``gzip`` (or ``x-gzip``) -> True; absent or ``identity`` -> False; others refused."""
    value = (content_encoding or "").strip().lower()
    if value in ("", "identity"):
        return False
    if value in ("gzip", "x-gzip"):
        return True
    raise Malformed("unsupported_content_encoding", 400, f"Content-Encoding {value!r}")


def sanitize_dump_name(name: str) -> str:
    """Keep ASCII letters, digits and ``_``; at most 30 characters (as the reference)."""
    return _DUMP_NAME_JUNK.sub("", name)[:30]


# -- gzip -----------------------------------------------------------------------------------
class Inflater:
    """Streaming gzip inflation with a cap on the inflated size (gzip bombs)."""

    def __init__(self, max_size: int, piece_size: int = 256 * 1024):
        self.max_size = max_size
        self.piece_size = piece_size
        self.size = 0
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._seen_input = False

    def feed(self, data: bytes, sink: Callable[[bytes], None]) -> None:
        if data:
            self._seen_input = True
        while data:
            try:
                out = self._d.decompress(data, self.piece_size)
            except zlib.error as exc:
                raise Malformed("bad_gzip", 400, str(exc)) from exc
            if out:
                self.size += len(out)
                if self.size > self.max_size:
                    raise too_large("inflated_too_large",
                                    f"inflated body over {self.max_size} bytes")
                sink(out)
            if self._d.eof:
                # Another gzip member may follow (RFC 1952 allows several).
                data = self._d.unused_data
                if data:
                    self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                data = self._d.unconsumed_tail

    def close(self) -> None:
        if not self._seen_input or not self._d.eof:
            raise Malformed("bad_gzip", 400, "gzip stream ends early")


# -- dumps ----------------------------------------------------------------------------------
class SpoolBudget:
    """Bytes of dumps one request may still keep in memory before spooling to disk."""

    def __init__(self, size: int, spool_dir: Path | None = None):
        self.left = size
        self.spool_dir = spool_dir


class Dump:
    """One dump: hashed as it arrives, in memory while the request's budget allows, then in
    an anonymous temporary file."""

    def __init__(self, name: str, budget: SpoolBudget):
        self.name = name
        self.size = 0
        self._budget = budget
        self._hash = hashlib.sha256()
        # Pieces as handed over by the parser (views of immutable chunks): joining them once
        # at the end is far cheaper than growing a bytearray.
        self._pieces: list | None = []
        self._in_memory = 0
        self._file: BinaryIO | None = None

    def write(self, data) -> None:
        self._hash.update(data)
        n = len(data)
        self.size += n
        if self._pieces is not None:
            if n <= self._budget.left:
                self._pieces.append(data)
                self._in_memory += n
                self._budget.left -= n
                return
            # Closed by close(), which the request handler always calls.
            self._file = tempfile.TemporaryFile(dir=self._budget.spool_dir)  # noqa: SIM115
            self._file.writelines(self._pieces)
            self._release_memory()
        self._file.write(data)

    def _release_memory(self) -> None:
        self._budget.left += self._in_memory
        self._in_memory = 0
        self._pieces = None

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    @property
    def spooled(self) -> bool:
        return self._file is not None

    def data(self) -> bytes | BinaryIO:
        """The content: bytes, or the spool file rewound (too big to hold in memory)."""
        if self._file is not None:
            self._file.seek(0)
            return self._file
        if self._pieces is None:
            return b""
        if len(self._pieces) != 1 or not isinstance(self._pieces[0], bytes):
            self._pieces = [b"".join(self._pieces)]
        return self._pieces[0]

    def close(self) -> None:
        if self._pieces is not None:
            self._release_memory()
        if self._file is not None:
            self._file.close()
            self._file = None


# -- parts -> payload -----------------------------------------------------------------------
_SKIP, _TEXT, _JSON, _DUMP = range(4)


@dataclass
class Payload:
    annotations: dict = field(default_factory=dict)
    dumps: dict[str, Dump] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    payload_type: str = "multipart"  # "json" when annotations came in a JSON part
    compressed: bool = False
    size: int = 0  # bytes on the wire (compressed size for gzip)
    inflated_size: int | None = None

    def close(self) -> None:
        for dump in self.dumps.values():
            dump.close()


class PayloadBuilder:
    """Receives multipart events and sorts parts into annotations and dumps."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.payload = Payload()
        self.budget = SpoolBudget(limits.spool_memory_size, limits.spool_dir)
        self._kind = _SKIP
        self._name = ""
        self._charset = "utf-8"
        self._text = bytearray()
        self._dump: Dump | None = None
        self._annotation_bytes = 0
        self._has_json = False
        self._has_form = False

    # PartHandler
    def part_begin(self, headers: dict[str, str]) -> None:
        _, disposition = parse_header_params(headers.get("content-disposition", ""))
        name = disposition.get("name", "")
        filename = disposition.get("filename")
        content_type = headers.get("content-type", "").strip() or "text/plain"
        media_type, ctype_params = parse_header_params(content_type)
        self._name = name
        if not name:
            self._kind = _SKIP
        elif media_type == "application/json":
            self._kind = _JSON
            self._text = bytearray()
        elif media_type == "text/plain" and filename is None:
            self._kind = _TEXT
            self._charset = ctype_params.get("charset", "") or "utf-8"
            self._text = bytearray()
        else:
            self._begin_dump(name, content_type)

    def _begin_dump(self, raw_name: str, content_type: str) -> None:
        name = sanitize_dump_name(raw_name)
        if not name or name in RESERVED_DUMP_NAMES:
            raise Malformed("invalid_dump_name", 400, f"dump name {raw_name!r}")
        dumps = self.payload.dumps
        previous = dumps.pop(name, None)
        if previous is not None:  # a repeated name: the last one wins
            previous.close()
        if len(dumps) >= self.limits.max_dumps:
            raise Malformed("too_many_dumps", 400, f"more than {self.limits.max_dumps} dumps")
        if content_type != "application/octet-stream":
            self.payload.notes.append(f"unknown content type: {name} {content_type}")
        self._dump = dumps[name] = Dump(name, self.budget)
        self._kind = _DUMP

    def part_data(self, data: memoryview) -> None:
        kind = self._kind
        if kind == _DUMP:
            self._dump.write(data)
        elif kind != _SKIP:
            self._annotation_bytes += len(data)
            # A text part is one annotation; a JSON part holds them all.
            if kind == _TEXT and len(self._text) + len(data) > self.limits.max_annotation_size:
                raise too_large("annotation_too_large",
                                f"annotation {self._name!r} over "
                                f"{self.limits.max_annotation_size} bytes")
            if self._annotation_bytes > self.limits.max_annotations_total_size:
                raise too_large("annotation_too_large", "annotations over "
                                f"{self.limits.max_annotations_total_size} bytes in all")
            self._text += data

    def part_end(self) -> None:
        kind, self._kind = self._kind, _SKIP
        if kind == _TEXT:
            self._end_text()
        elif kind == _JSON:
            self._end_json()
        self._dump = None
        self._text = bytearray()

    def _end_text(self) -> None:
        try:
            value = self._text.decode(self._charset)
        except (LookupError, UnicodeDecodeError):
            # As the reference: the annotation is dropped with a note, the crash is kept.
            self.payload.notes.append(
                f"extract payload text part exception: invalid text or charset: {self._charset}"
            )
            return
        self._has_form = True
        self.payload.annotations[self._name] = value
        self._check_count()

    def _end_json(self) -> None:
        try:
            value = json.loads(self._text.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise Malformed("invalid_json", 400, str(exc)) from exc
        if not isinstance(value, dict):
            raise Malformed("invalid_json_value", 400, f"JSON {type(value).__name__}")
        for key, item in value.items():
            if isinstance(item, str) and len(item) > self.limits.max_annotation_size:
                raise too_large("annotation_too_large",
                                f"annotation {key!r} over {self.limits.max_annotation_size} "
                                "characters")
        # The JSON part replaces what came before it; form fields after it are merged over it.
        self._has_json = True
        self.payload.annotations = value
        self._check_count()

    def _check_count(self) -> None:
        if len(self.payload.annotations) > self.limits.max_annotations:
            raise Malformed("too_many_annotations", 400,
                            f"more than {self.limits.max_annotations} annotations")

    def finish(self) -> Payload:
        payload = self.payload
        if not payload.annotations:
            raise Malformed("no_annotations")
        if self._has_json:
            payload.payload_type = "json"
            if self._has_form:
                payload.notes.append(
                    "includes annotations in both json-encoded extra and formdata parts")
        return payload


def remove_banned_annotations(annotations: dict, notes: list[str]) -> None:
    for name in BANNED_ANNOTATIONS:
        if name in annotations:
            del annotations[name]
            notes.append(f"Removed {name} from raw crash.")


# -- the whole body -------------------------------------------------------------------------
def extract_payload(
    read: Callable[[int], bytes],
    *,
    content_type: str | None,
    content_encoding: str | None,
    content_length: int | None,
    chunked: bool,
    limits: Limits,
) -> Payload:
    """Read the body through ``read(n)`` and return the parsed payload, or raise Malformed.

    ``content_length`` None with ``chunked`` means a chunked body whose size is counted as it
    comes; with neither, there is no body to read.
    """
    boundary = boundary_from_content_type(content_type)
    if not content_length and not (content_length is None and chunked):
        raise Malformed("no_content_length")
    if content_length is not None and content_length > limits.max_body_size:
        raise too_large("too_large", f"body of {content_length} bytes")
    gzipped = is_gzip_encoded(content_encoding)

    builder = PayloadBuilder(limits)
    parser = MultipartParser(boundary, builder, max_header_size=limits.max_part_header_size)
    inflater = Inflater(limits.max_inflated_size) if gzipped else None
    received = 0
    try:
        try:
            while content_length is None or received < content_length:
                want = limits.read_chunk_size
                if content_length is not None:
                    want = min(want, content_length - received)
                chunk = read(want)
                if not chunk:
                    break
                received += len(chunk)
                if received > limits.max_body_size:
                    raise too_large("too_large", f"body over {limits.max_body_size} bytes")
                if inflater is not None:
                    inflater.feed(chunk, parser.feed)
                else:
                    parser.feed(chunk)
            if inflater is not None:
                inflater.close()
            parser.close()
        except MultipartError as exc:
            raise Malformed("invalid_payload_structure", 400, str(exc)) from exc
        payload = builder.finish()
    except BaseException:
        builder.payload.close()
        raise
    payload.compressed = gzipped
    payload.size = content_length if content_length is not None else received
    payload.inflated_size = inflater.size if inflater is not None else None
    return payload
