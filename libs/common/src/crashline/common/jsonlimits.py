"""JSON from untrusted senders: nesting depth and element count bounded before parsing.

``json.loads`` recurses once per level of nesting (a few thousand ``[`` end in
``RecursionError``, not ``ValueError``) and builds every value at once: a few MB of
``[[],[],...]`` become millions of objects and hundreds of MB. :func:`check_bytes` scans the
structural characters outside strings first and stops at the first bound crossed, so a
hostile document costs little to refuse; :func:`loads_bounded` then parses what passed.
Both raise a ``ValueError`` subclass, which callers already treat as "bad JSON".
"""

from __future__ import annotations

import json
import re


class JSONTooComplex(ValueError):
    """The document nests deeper, or holds more values, than allowed."""


# A string (escapes included), or one structural character; everything else is skipped.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')


def check_bytes(data: bytes, max_depth: int, max_items: int | None = None) -> None:
    """Raise :class:`JSONTooComplex` if ``data`` nests deeper than ``max_depth`` containers
    or holds more than ``max_items`` values (containers and separated items). Whether it is
    well-formed is the parser's business."""
    depth = 0
    items = 0
    for match in _TOKEN.finditer(data):
        char = data[match.start()]
        if char == 0x22:  # a string, whatever it holds
            continue
        if char in b"]}":
            depth -= 1
            continue
        if char in b"[{":
            depth += 1
            if depth > max_depth:
                raise JSONTooComplex(f"nested more than {max_depth} levels deep")
        items += 1
        if max_items is not None and items > max_items:
            raise JSONTooComplex(f"more than {max_items} values")


def loads_bounded(data: bytes | str, max_depth: int, max_items: int | None = None) -> object:
    """``json.loads`` of a document within the bounds; every refusal is a ValueError."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    check_bytes(raw, max_depth, max_items)
    try:
        return json.loads(raw)
    except RecursionError:  # unreachable within a sane max_depth; never a 500 regardless
        raise JSONTooComplex(f"nested more than {max_depth} levels deep") from None
