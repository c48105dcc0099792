"""JSON from untrusted senders, parsed with bounds on its nesting depth and element count.

``json.loads`` recurses once per level of nesting: a few thousand ``[`` raise
``RecursionError`` (not ``ValueError``), and a moderately deep document that does parse makes
every later recursive walk of it a risk. :func:`loads_bounded` turns both into one
``ValueError`` subclass that callers already treat as "bad JSON".
"""

from __future__ import annotations

import json


class JSONTooComplex(ValueError):
    """The document nests deeper, or holds more values, than allowed."""


def check_shape(value: object, max_depth: int, max_items: int | None = None) -> None:
    """Raise :class:`JSONTooComplex` if ``value`` nests deeper than ``max_depth`` containers
    or holds more than ``max_items`` values. Iterative, so any depth is safe to check."""
    items = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > max_depth:
            raise JSONTooComplex(f"nested more than {max_depth} levels deep")
        items += len(node)
        if max_items is not None and items > max_items:
            raise JSONTooComplex(f"more than {max_items} values")
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))


def loads_bounded(data: str | bytes, max_depth: int, max_items: int | None = None) -> object:
    """``json.loads`` that answers every malformed or too complex document with ValueError."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise JSONTooComplex(f"nested more than {max_depth} levels deep") from None
    check_shape(value, max_depth, max_items)
    return value
