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


class JSONTooDeep(JSONTooComplex):
    """Nested deeper than allowed (a malformed document, to most callers)."""


class JSONTooLarge(JSONTooComplex):
    """More values than allowed (a document too large, to most callers)."""


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = bytes(set(range(256)) - set(b"[]{}"))
_INNERMOST = re.compile(rb"\[\]|\{\}")


def check_bytes(data: bytes | bytearray, max_depth: int, max_items: int | None = None) -> None:
    """Raise :class:`JSONTooComplex` if ``data`` nests deeper than ``max_depth`` containers
    or holds more than ``max_items`` values (containers and separated items). Whether it is
    well-formed is the parser's business. Every step runs in C (string removal, counting,
    one pass per nesting level): about as much as parsing, and it builds no objects."""
    structure = _STRING.sub(b"", data)
    # Depth first: a deeply nested document is malformed, whatever its size.
    brackets = structure.translate(None, _NOT_BRACKET)
    for _ in range(max_depth):
        if not brackets:
            break
        inner = _INNERMOST.sub(b"", brackets)  # one nesting level less
        if inner == brackets:
            break  # unbalanced: the parser says how
        brackets = inner
    else:
        if _INNERMOST.search(brackets):
            raise JSONTooDeep(f"nested more than {max_depth} levels deep")
    if max_items is not None:
        items = sum(structure.count(c) for c in (b"[", b"{", b","))
        if items > max_items:
            raise JSONTooLarge(f"more than {max_items} values")


def loads_bounded(data: bytes | str, max_depth: int, max_items: int | None = None) -> object:
    """``json.loads`` of a document within the bounds; every refusal is a ValueError."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    check_bytes(raw, max_depth, max_items)
    try:
        return json.loads(raw)
    except RecursionError:  # unreachable within a sane max_depth; never a 500 regardless
        raise JSONTooDeep(f"nested more than {max_depth} levels deep") from None
