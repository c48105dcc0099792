"""Building crash data (the generator's input) from a processed crash or a stack-walker JSON.

Crash data fields: ``crashing_thread``, ``reason``, ``threads`` and ``os`` (from the
minidump-stackwalk JSON), ``hang``, ``oom_allocation_size``, ``js_large_allocation_failure``,
``abort_message``, ``mdsw_status_string``, ``async_shutdown_timeout``, ``ipc_channel_error``,
``ipc_message_name``, ``additional_minidumps``, ``java_exception`` and ``java_stack_trace``
(sanitised: the message removed).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from .java import sanitize_java_stack_trace

# Processed-crash fields copied as they are.
PROCESSED_FIELDS = (
    "hang",
    "oom_allocation_size",
    "js_large_allocation_failure",
    "abort_message",
    "mdsw_status_string",
    "async_shutdown_timeout",
    "ipc_channel_error",
    "ipc_message_name",
    "additional_minidumps",
    "java_exception",
    "java_stack_trace",
)

# Crash annotation → crash-data field, for building crash data straight from a raw crash.
ANNOTATIONS = {
    "Hang": "hang",
    "OOMAllocationSize": "oom_allocation_size",
    "JSLargeAllocationFailure": "js_large_allocation_failure",
    "AbortMessage": "abort_message",
    "AsyncShutdownTimeout": "async_shutdown_timeout",
    "ipc_channel_error": "ipc_channel_error",
    "IPCMessageName": "ipc_message_name",
    "additional_minidumps": "additional_minidumps",
    "JavaException": "java_exception",
    "JavaStackTrace": "java_stack_trace",
}


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _from_json_dump(json_dump: Any) -> dict[str, Any]:
    return {
        "crashing_thread": _get(json_dump, "crash_info", "crashing_thread"),
        "reason": _get(json_dump, "crash_info", "type"),
        "threads": _get(json_dump, "threads"),
        "os": _get(json_dump, "system_info", "os"),
    }


def _minidump_names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [name.strip() for name in value.split(",") if name.strip()]
    if isinstance(value, list):
        return [name for name in value if isinstance(name, str)]
    return []


def crash_data_from_processed_crash(processed_crash: Mapping[str, Any]) -> dict[str, Any]:
    """Crash data from a processed crash (``json_dump`` holds the stack-walker output)."""
    data = _from_json_dump(processed_crash.get("json_dump"))
    # Older or partial processed crashes keep these at the top level only.
    for key in ("crashing_thread", "reason"):
        if data[key] is None:
            data[key] = processed_crash.get(key)
    if data["os"] is None:
        data["os"] = processed_crash.get("os_name")
    for key in PROCESSED_FIELDS:
        data[key] = processed_crash.get(key)
    data["additional_minidumps"] = _minidump_names(data["additional_minidumps"])
    return data


def crash_data_from_stackwalker_json(
    json_dump: Mapping[str, Any], annotations: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Crash data from minidump-stackwalk JSON plus, optionally, the crash annotations."""
    data = _from_json_dump(json_dump)
    data.update(dict.fromkeys(PROCESSED_FIELDS))
    status = json_dump.get("status") if isinstance(json_dump, Mapping) else None
    data["mdsw_status_string"] = status if status and status != "OK" else None
    for annotation, key in ANNOTATIONS.items():
        value = (annotations or {}).get(annotation)
        if value not in (None, ""):
            data[key] = value
    data["additional_minidumps"] = _minidump_names(data["additional_minidumps"])
    if isinstance(data["oom_allocation_size"], str):
        try:
            data["oom_allocation_size"] = int(data["oom_allocation_size"])
        except ValueError:
            data["oom_allocation_size"] = None
    if isinstance(data["java_exception"], str):
        # Bad JSON stays text: the Java exception rule then reports the bad shape.
        with contextlib.suppress(ValueError):
            data["java_exception"] = json.loads(data["java_exception"])
    if isinstance(data["java_stack_trace"], str):
        data["java_stack_trace"] = sanitize_java_stack_trace(data["java_stack_trace"])
    return data
