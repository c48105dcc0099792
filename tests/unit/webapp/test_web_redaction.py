"""Redaction walks the registry's allowlist tree into nested objects and lists."""

import pytest

from crashline.common.fields import build_tree, processed_tree
from crashline.webapp.redaction import redact_processed

FRAME = {"frame": 0, "function": "f", "module": "m", "offset": "0x1", "trust": "context",
         "registers": {"eip": "0x00000045", "esp": "0x0012fe84"},
         "inlines": [{"function": "g", "file": "a.c", "line": 3, "locals": "x"}]}


def test_registers_are_dropped_from_every_frame_of_every_thread():
    processed = {"json_dump": {
        "crashing_thread": {"threads_index": 0, "frames": [FRAME, FRAME]},
        "threads": [{"thread_name": "main", "frames": [FRAME]},
                    {"thread_name": "io", "frames": [FRAME, {"truncated": {"msg": "9"}}]}],
    }}
    public_frame = {k: v for k, v in FRAME.items() if k != "registers"}
    public_frame["inlines"] = [{"function": "g", "file": "a.c", "line": 3}]
    assert redact_processed(processed) == {"json_dump": {
        "crashing_thread": {"threads_index": 0, "frames": [public_frame, public_frame]},
        "threads": [{"thread_name": "main", "frames": [public_frame]},
                    {"thread_name": "io", "frames": [public_frame, {"truncated": {"msg": "9"}}]}],
    }}
    assert processed["json_dump"]["threads"][0]["frames"][0]["registers"]  # input untouched


def test_keys_the_stack_walker_adds_are_dropped_until_declared():
    processed = {"json_dump": {"status": "OK", "handles": [{"handle": 1, "object_name": "x"}],
                               "proc_limits": {"max": 1}, "crash_info": {
                                   "type": "SIGSEGV", "adjusted_address": {"kind": "x"},
                                   "memory_accesses": [{"address": "0x1", "size": 8,
                                                        "is_likely_guard_page": True}]}}}
    assert redact_processed(processed) == {"json_dump": {"status": "OK", "crash_info": {
        "type": "SIGSEGV", "memory_accesses": [{"address": "0x1", "size": 8}]}}}


def test_additional_dumps_are_redacted_like_the_main_one():
    processed = {"upload_file_minidump_browser": {
        "mdsw_status_string": "OK", "mdsw_stderr": "/srv/host/path",
        "json_dump": {"threads": [{"frames": [FRAME]}], "mac_boot_args": "-v"}},
        "not_a_dump": {"mdsw_status_string": "OK"}}
    redacted = redact_processed(processed)
    assert redacted == {"upload_file_minidump_browser": {
        "mdsw_status_string": "OK",
        "json_dump": {"threads": [{"frames": [redacted["upload_file_minidump_browser"][
            "json_dump"]["threads"][0]["frames"][0]]}]}}}
    assert "registers" not in redacted["upload_file_minidump_browser"]["json_dump"][
        "threads"][0]["frames"][0]


def test_values_of_an_unexpected_shape_are_dropped():
    processed = {
        "signature": {"smuggled": "secret"},          # a public leaf holding an object
        "addons": ["a:1", {"smuggled": 1}, ["x"]],    # a flat list keeps its scalars only
        "json_dump": "not an object",
        "processor_history": ["one", {"x": 1}],
        "java_exception": {"exception": {"values": [{"stacktrace": {
            "type": "java.lang.Error", "value": "user@example.com",
            "frames": [{"function": "run", "lineno": 3, "vars": {"a": 1}}]}}]}},
    }
    assert redact_processed(processed) == {
        "addons": ["a:1"], "processor_history": ["one"],
        "java_exception": {"exception": {"values": [{"stacktrace": {
            "type": "java.lang.Error", "frames": [{"function": "run", "lineno": 3}]}}]}},
    }


def test_the_tree_refuses_contradictions():
    with pytest.raises(ValueError, match="both public and protected"):
        build_tree([("a.b", True), ("a.b", False)])
    with pytest.raises(ValueError, match="public inside a protected key"):
        build_tree([("a", False), ("a.b", True)])
    with pytest.raises(ValueError, match="bad key path"):
        build_tree([("a[.b", True)])


def test_the_registry_tree_builds():
    tree = processed_tree()
    frame = tree.child("json_dump").child("threads").items.child("frames").items
    assert frame.child("function").visible and not frame.child("registers").visible
    assert not tree.child("collector_metadata").visible
