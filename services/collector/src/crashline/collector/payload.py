"""Multipart parts sorted into annotations and dumps, as the reference collector does:
how each part is classified, how dump names are sanitised, which annotations are dropped."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from crashline.collector.limits import Limits
from crashline.collector.malformed import Malformed, too_large
from crashline.collector.memory import MemoryBudget, Unavailable, WorkerMemory
from crashline.collector.multipart import parse_header_params
from crashline.collector.spool import Dump
from crashline.common.jsonlimits import JSONTooDeep, JSONTooLarge, check_bytes

# Dump names that would collide with other objects of a crash in storage.
RESERVED_DUMP_NAMES = frozenset({"dump", "dump_names", "raw_crash", "processed_crash",
                                 "pending_publish", "received"})
# Never stored: personal data some clients send.
BANNED_ANNOTATIONS = ("Email", "TelemetryClientId", "TelemetryServerURL", "TelemetrySessionId")
_DUMP_NAME_JUNK = re.compile(r"[^A-Za-z0-9_]")


def sanitize_dump_name(name: str) -> str:
    """Keep ASCII letters, digits and ``_``; at most 30 characters (as the reference)."""
    return _DUMP_NAME_JUNK.sub("", name)[:30]


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
    # Annotation bytes counted against the worker's budget until the request is done.
    annotation_budget: MemoryBudget | None = None
    annotation_bytes: int = 0

    def close(self) -> None:
        for dump in self.dumps.values():
            dump.close()
        if self.annotation_budget is not None:
            self.annotation_budget.give(self.annotation_bytes)
            self.annotation_bytes = 0


class PayloadBuilder:
    """Receives multipart events and sorts parts into annotations and dumps."""

    def __init__(self, limits: Limits, memory: WorkerMemory):
        self.limits = limits
        self.memory = memory
        self.payload = Payload(annotation_budget=memory.annotations)
        self._kind = _SKIP
        self._name = ""
        self._charset = "utf-8"
        self._text = bytearray()
        self._dump: Dump | None = None
        self._has_json = False
        self._parts = 0
        self._has_form = False

    # PartHandler
    def part_begin(self, headers: dict[str, str]) -> None:
        # Every part costs work, skipped and repeated ones too: bound them all.
        self._parts += 1
        if self._parts > self.limits.max_parts:
            raise Malformed("too_many_parts", 400, f"more than {self.limits.max_parts} parts")
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
        self._dump = dumps[name] = Dump(name, self.memory.dumps, self.memory.spool_dir)
        self._kind = _DUMP

    def part_data(self, data: memoryview) -> None:
        kind = self._kind
        if kind == _DUMP:
            self._dump.write(data)
        elif kind != _SKIP:
            if not self.memory.annotations.take(len(data)):
                raise Unavailable("the worker's annotation memory is spent")
            self.payload.annotation_bytes += len(data)
            # A text part is one annotation; a JSON part holds them all.
            if kind == _TEXT and len(self._text) + len(data) > self.limits.max_annotation_size:
                raise too_large("annotation_too_large",
                                f"annotation {self._name!r} over "
                                f"{self.limits.max_annotation_size} bytes")
            if self.payload.annotation_bytes > self.limits.max_annotations_total_size:
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
        # Bounded on the bytes first: a few MB can build millions of objects, or nest past
        # the parser's recursion limit.
        try:
            check_bytes(self._text, self.limits.max_json_depth, self.limits.max_json_elements)
        except JSONTooDeep as exc:
            raise Malformed("invalid_json", 400, str(exc)) from exc
        except JSONTooLarge as exc:
            raise too_large("annotation_too_large", f"JSON annotations with {exc}") from exc
        try:
            value = json.loads(self._text.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
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
