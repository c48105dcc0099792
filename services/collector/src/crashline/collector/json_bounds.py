"""Bounds on annotation JSON, checked on the bytes before anything is built from them.

``json.loads`` of a few MB can build millions of objects (``[[],[],...]``: 2.6 million empty
lists from 7.8 MB, 200 MB of memory) and recurses once per nesting level (a deep document
ends in ``RecursionError``). A scan of the structural characters outside strings bounds both
first; it stops at the first bound crossed, so a hostile document costs little to refuse.
"""

from __future__ import annotations

import re

from crashline.collector.malformed import Malformed, too_large

# A string (escapes included) or one structural character; everything else is skipped.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')


def check_json_bounds(data: bytes | bytearray, *, max_depth: int, max_elements: int) -> None:
    """Raise :class:`Malformed` if the JSON in ``data`` nests deeper than ``max_depth`` (400
    ``invalid_json``, as any JSON we cannot parse) or has more than ``max_elements``
    containers and separated items (413 ``annotation_too_large``). Well-formedness is left to
    the parser that runs next."""
    depth = 0
    elements = 0
    for match in _TOKEN.finditer(data):
        char = data[match.start()]
        if char == 0x22:  # '"': a string, whatever it holds
            continue
        if char in b"[{":
            depth += 1
            if depth > max_depth:
                raise Malformed("invalid_json", 400, f"JSON nested deeper than {max_depth}")
        elif char in b"]}":
            depth -= 1
            continue
        elements += 1  # a container, or a comma: one more item
        if elements > max_elements:
            raise too_large("annotation_too_large",
                            f"JSON annotations with more than {max_elements} elements")
