"""Java signatures: from a Java stack trace text, or from a structured JavaException."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MAX_DESCRIPTION_SIGNATURE = 255
BAD_TRACE = "EMPTY: Java stack trace not in expected format"
BAD_EXCEPTION = "EMPTY: Java exception not in expected format"

# Object addresses ("Foo@4054b560") and line numbers differ between otherwise equal crashes.
_HEX_ADDRESS = re.compile(r"@[0-9a-f]{8}")
_LINE_NUMBER = re.compile(r"\.java:\d+\)$")


def _join(delimiter: str, parts: tuple[str, ...]) -> str:
    return delimiter.join(part for part in parts if part)


def java_trace_signature(trace: Any) -> tuple[str, list[str]]:
    """Signature and notes for a Java stack trace: exception class, description, top frame.

    ``java.lang.Foo: bad thing@4054b560`` / ``at a.B.c(B.java:12)`` →
    ``java.lang.Foo: bad thing@<addr>: at a.B.c(B.java)``.
    """
    lines = [line.strip() for line in trace.splitlines()] if isinstance(trace, str) else []
    if not lines or not lines[0]:  # the reference returns "" for a blank first line
        return BAD_TRACE, ["stack trace not in expected format"]

    notes: list[str] = []
    exception_class, colon, description = lines[0].partition(":")
    exception_class = exception_class.strip()
    if colon:
        description = _HEX_ADDRESS.sub("@<addr>", description).strip()
    else:
        notes.append("stack trace line 1 is not in the expected format")

    if len(lines) > 1:
        method = _LINE_NUMBER.sub(".java)", lines[1])
        if not method:
            notes.append("stack trace line 2 is empty")
    else:
        method = ""
        notes.append("stack trace line 2 is missing")

    # The reference only puts ": " between description and method when the description ends
    # with an address (a historical quirk, kept so signatures stay comparable).
    if description.endswith("<addr>"):
        signature = _join(": ", (exception_class, description, method))
    else:
        signature = _join(": ", (exception_class, _join(" ", (description, method))))

    if len(signature) > MAX_DESCRIPTION_SIGNATURE:
        signature = f"{exception_class}: {method}"
        notes.append("dropped Java exception description due to length")
    return signature, notes


def _field(sources: tuple[Mapping[str, Any], ...], name: str) -> str | None:
    for source in sources:
        value = source.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def java_exception_signature(java_exception: Any) -> tuple[str, list[str]]:
    """Signature for a structured JavaException annotation (``exception.values[0]``).

    ``<module>.<type>: at <frame module>.<function>(<filename>)`` from the first frame, or
    ``<module>.<type>`` when there are no frames.
    """
    try:
        value = java_exception["exception"]["values"][0]
        trace = value.get("stacktrace") or {}
        sources = (trace, value)
        exception_type = _field(sources, "type")
        if exception_type is None:
            raise ValueError("no exception type")
        module = _field(sources, "module")
        name = f"{module}.{exception_type}" if module else exception_type

        frames = trace.get("frames") or []
        if not frames:
            return name, []
        frame = frames[0]
        function = frame["function"]
        frame_module = frame.get("module")
        if not isinstance(function, str) or not function:
            raise ValueError("frame without function")
        qualified = f"{frame_module}.{function}" if isinstance(frame_module, str) else function
        filename = frame.get("filename")
        filename = filename if isinstance(filename, str) else ""
        return f"{name}: at {qualified}({filename})", []
    except (KeyError, IndexError, TypeError, AttributeError, ValueError):
        return BAD_EXCEPTION, ["Java exception not in expected format"]


def sanitize_java_stack_trace(raw: str) -> str:
    """Drop the exception message (it may hold personal data) and keep class and frames.

    Produces the shape the processor stores in ``java_stack_trace``: the exception class on
    line 1, then the ``at …`` frame lines.
    """
    lines = raw.strip().splitlines()
    if not lines:
        return ""
    exception_class = lines[0].split(":", 1)[0].strip()
    frames = [f"\tat {line.strip()[3:]}" for line in lines[1:] if line.strip().startswith("at ")]
    return "\n".join([exception_class, *frames])
