"""Native (C, C++, Rust) signatures: normalise the crashing thread's frames, then walk them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .normalize import (
    cpp_stages,
    file_line_text,
    fix_rust_module,
    is_rust_file,
    rust_stages,
    strip_leading_zeros,
    with_line_number,
)
from .siglists import SignatureLists

MAX_FRAMES = 40
EMPTY_SIGNATURE = "EMPTY: no frame data available"
_CACHE_LIMIT = 1 << 17


class Kind(Enum):
    IRRELEVANT = "irrelevant"
    PREFIX = "prefix"
    STOP = "stop"


@dataclass
class WalkResult:
    signature: str
    notes: list[str] = field(default_factory=list)
    debug: list[str] = field(default_factory=list)


def _text(value: Any) -> str | None:
    """A frame field as text; crash data comes from anywhere, so other types count as absent."""
    return value if value and type(value) is str else None


def expand_frames(frames: Any, limit: int = MAX_FRAMES) -> Iterator[Mapping[str, Any]]:
    """Yield up to ``limit`` frames, each frame's inline frames first (they were called last)."""
    # Exact type checks: crash data is parsed JSON, and ABC isinstance checks cost real time here.
    if type(frames) is not list:
        return
    count = 0
    for frame in frames:
        if type(frame) is not dict:
            continue
        inlines = frame.get("inlines")
        if inlines and type(inlines) is list:
            for inline in inlines:
                if count >= limit:
                    return
                if type(inline) is dict:
                    # An inline frame lives at its caller's address, in its caller's module.
                    yield {
                        "function": inline.get("function"),
                        "file": inline.get("file"),
                        "line": inline.get("line"),
                        "module": frame.get("module"),
                        "offset": frame.get("offset"),
                    }
                    count += 1
        if count >= limit:
            return
        yield frame
        count += 1


def is_module_like(entry: str) -> bool:
    """Entries that name only a library: repeats of these carry no information."""
    if entry.startswith("(unloaded"):
        return False
    return (
        entry.lower().endswith((".dll", ".so"))
        or entry.endswith(("XUL", "<name omitted>"))
        or entry.startswith("<unknown in")
    )


class NativeSignatureTool:
    """Frame normalisation and the sentinel / irrelevant / prefix walk for one set of lists."""

    def __init__(self, lists: SignatureLists) -> None:
        self.lists = lists
        self._sentinels = frozenset(lists.sentinels)
        # Per-instance caches: both depend on this instance's lists.
        self._function_cache: dict[tuple[str, str | None], str] = {}
        self._kind_cache: dict[str, Kind] = {}

    # -- normalisation -------------------------------------------------------------------------

    def frame_text(self, frame: Mapping[str, Any], lowercase_modules: bool = False) -> str:
        """The text that stands for one frame; empty when the frame says nothing usable."""
        function = frame.get("function")
        file = _text(frame.get("file"))
        if function and type(function) is str:
            # Hot path: a product's crashes share most frames, so remember each symbol's text.
            key = (function, file)
            cached = self._function_cache.get(key)
            if cached is not None:
                return cached
            rust = bool(file) and is_rust_file(file)
            stage, result = (
                rust_stages(fix_rust_module(function, file)) if rust else cpp_stages(function)
            )
            if self.lists.line_numbers.match(stage):
                # Depends on the line, so not remembered (the list is tiny: interpreter loops).
                return with_line_number(stage, frame.get("line"), rust)
            if len(self._function_cache) >= _CACHE_LIMIT:
                self._function_cache.clear()
            self._function_cache[key] = result
            return result
        line = frame.get("line")
        if file and line:
            return file_line_text(file, line)
        module = _text(frame.get("module"))
        if module:
            module = module.strip("[]")
            return module.lower() if lowercase_modules else module
        unloaded = frame.get("unloaded_modules")
        if unloaded and type(unloaded) is list and type(unloaded[0]) is dict:
            name = _text(unloaded[0].get("module"))
            if name:
                return f"(unloaded {name.lower() if lowercase_modules else name})"
        offset = _text(frame.get("offset"))
        if offset:
            return f"@{strip_leading_zeros(offset)}"
        return ""

    def normalize_frames(self, frames: Any, lowercase_modules: bool = False) -> list[str]:
        """Normalised texts of the first 40 frames (inline frames counted), empty ones dropped."""
        text = self.frame_text
        return [t for t in (text(f, lowercase_modules) for f in expand_frames(frames)) if t]

    # -- the walk ------------------------------------------------------------------------------

    def kind(self, entry: str) -> Kind:
        kind = self._kind_cache.get(entry)
        if kind is None:
            if self.lists.irrelevant.match(entry):
                kind = Kind.IRRELEVANT
            elif self.lists.prefix.match(entry):
                kind = Kind.PREFIX
            else:
                kind = Kind.STOP
            if len(self._kind_cache) >= _CACHE_LIMIT:
                self._kind_cache.clear()
            self._kind_cache[entry] = kind
        return kind

    def walk(self, entries: list[str], crashing_thread: int) -> WalkResult:
        """Build the signature from normalised entries, the way the reference does."""
        result = WalkResult(signature="")
        start = next((i for i, e in enumerate(entries) if e in self._sentinels), 0)
        if start:
            result.debug.append(f"sentinel; starting at {entries[start]!r} index {start}")
            entries = entries[start:]

        kept: list[str] = []
        for entry in entries:
            kind = self.kind(entry)
            if kind is Kind.IRRELEVANT:
                result.debug.append(f"irrelevant; ignoring: {entry!r}")
                continue
            if kept and entry == kept[-1] and is_module_like(entry):
                result.debug.append(f"repeated library frame; merged: {entry!r}")
                continue
            kept.append(entry)
            if kind is Kind.STOP:
                result.debug.append(f"not a prefix; stop: {entry!r}")
                break
            result.debug.append(f"prefix; continue: {entry!r}")

        if kept:
            result.signature = " | ".join(kept)
            return result
        result.notes.append(f"no frame data for crashing thread ({crashing_thread})")
        # Every frame was irrelevant: the first one still says more than nothing.
        result.signature = entries[0] if entries else EMPTY_SIGNATURE
        return result
