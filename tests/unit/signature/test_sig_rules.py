"""Each rule on its own: crash data + starting signature → signature."""

import json

import pytest

from crashline.common.signature import rules
from crashline.common.signature.result import SignatureResult


def run(rule: rules.Rule, crash_data: dict, signature: str = "foo::Bar") -> SignatureResult:
    result = SignatureResult(signature=signature)
    if rule.predicate(crash_data, result):
        rule.action(crash_data, result)
    return result


@pytest.mark.parametrize(
    "data, start, expected",
    [
        (
            {"mdsw_status_string": "MinidumpReadError"},
            "EMPTY: no frame data available",
            "EMPTY: no frame data available; MinidumpReadError",
        ),
        ({"mdsw_status_string": "OK"}, "foo", "foo"),
        ({}, "EMPTY: x", "EMPTY: x"),
    ],
)
def test_stackwalker_error(data, start, expected) -> None:
    assert run(rules.StackwalkerErrorSignatureRule(), data, start).signature == expected


@pytest.mark.parametrize(
    "reason, expected",
    [
        ("EXCEPTION_IN_PAGE_ERROR_READ / STATUS_DEVICE_DATA_ERROR", "bad hardware | foo::Bar"),
        ("EXCEPTION_ACCESS_VIOLATION_READ", "foo::Bar"),
        (None, "foo::Bar"),
    ],
)
def test_bad_hardware(reason, expected) -> None:
    assert run(rules.BadHardware(), {"reason": reason}).signature == expected


@pytest.mark.parametrize(
    "data, start, expected",
    [
        ({"oom_allocation_size": 17}, "foo", "OOM | small"),
        ({"oom_allocation_size": "262144"}, "foo", "OOM | small"),
        ({"oom_allocation_size": 262145}, "foo", "OOM | large | foo"),
        ({"oom_allocation_size": "lots"}, "foo", "OOM | unknown | foo"),
        ({"js_large_allocation_failure": "Reporting"}, "foo", "OOM | large | foo"),
        ({"js_large_allocation_failure": "Recovered"}, "foo", "foo"),
        ({}, "NS_ABORT_OOM | foo", "OOM | unknown | NS_ABORT_OOM | foo"),
        ({}, "mozalloc_handle_oom", "OOM | unknown | mozalloc_handle_oom"),
        ({}, "CrashAtUnhandlableOOM", "OOM | unknown | CrashAtUnhandlableOOM"),
        ({}, "AutoEnterOOMUnsafeRegion::crash", "OOM | unknown | AutoEnterOOMUnsafeRegion::crash"),
        ({}, "alloc::oom::oom", "OOM | unknown | alloc::oom::oom"),
        ({"reason": "STATUS_FATAL_MEMORY_EXHAUSTION"}, "foo", "OOM | unknown | foo"),
        (
            {
                "crashing_thread": 1,
                "threads": [{}, {"last_error_value": "ERROR_NOT_ENOUGH_MEMORY"}],
            },
            "foo",
            "OOM | unknown | foo",
        ),
        ({"threads": [{"last_error_value": "ERROR_SUCCESS"}]}, "foo", "foo"),
        ({}, "foo", "foo"),
        ({"oom_allocation_size": float("inf")}, "foo", "OOM | unknown | foo"),
    ],
)
def test_oom(data, start, expected) -> None:
    assert run(rules.OOMSignature(), data, start).signature == expected


@pytest.mark.parametrize(
    "message, expected",
    [
        (
            "[7616] ###!!! ABORT: unsafe destruction: file c:/a.cpp, line 777",
            "Abort | unsafe destruction | foo::Bar",
        ),
        ("###!!! ABORT: file c:/a.cpp, line 1", "Abort | foo::Bar"),
        ("plain message", "Abort | plain message | foo::Bar"),
        ("msg with \u00fcnicode\tand tab", "Abort | msg with nicodeand tab | foo::Bar"),
        ("x" * 80, "Abort | " + "x" * 80 + " | foo::Bar"),
        ("x" * 81, "Abort | " + "x" * 77 + "... | foo::Bar"),
        (
            "unable to find a usable font (\u4e2d\u6587)",
            "Abort | unable to find a usable font | foo::Bar",
        ),
        ("", "foo::Bar"),
        # Annotations sent as JSON can be numbers; other shapes are no message.
        (5, "Abort | 5 | foo::Bar"),
        (2.5, "Abort | 2.5 | foo::Bar"),
        (True, "foo::Bar"),
        (["a"], "foo::Bar"),
        ({"a": 1}, "foo::Bar"),
    ],
)
def test_abort(message, expected) -> None:
    assert run(rules.AbortSignature(), {"abort_message": message}).signature == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (
            {"phase": "p", "conditions": [{"name": "B"}, {"name": "A"}]},
            "AsyncShutdownTimeout | p | A,B",
        ),
        ({"phase": "p", "conditions": ["b", "a"]}, "AsyncShutdownTimeout | p | a,b"),
        ({"phase": "p", "conditions": []}, "AsyncShutdownTimeout | p | (none)"),
        ({"phase": 3, "conditions": ["a"]}, "AsyncShutdownTimeout | (unknown) | a"),
        ({"phase": "p", "conditions": [{"nope": 1}]}, "AsyncShutdownTimeout | p | UNKNOWN"),
        ("{not json", "AsyncShutdownTimeout | UNKNOWN"),
    ],
)
def test_shutdown_timeout(value, expected) -> None:
    text = value if isinstance(value, str) else json.dumps(value)
    result = run(rules.SignatureShutdownTimeout(), {"async_shutdown_timeout": text})
    assert result.signature == expected
    assert any("was: foo::Bar" in note for note in result.notes)


def test_ipc_channel_error() -> None:
    rule = rules.SignatureIPCChannelError()
    assert (
        run(rule, {"ipc_channel_error": "ShutDownKill"}).signature
        == "IPCError-content | ShutDownKill"
    )
    data = {
        "ipc_channel_error": "x" * 200,
        "additional_minidumps": ["upload_file_minidump_browser"],
    }
    assert run(rule, data).signature == "IPCError-browser | " + "x" * 100
    assert run(rule, {}).signature == "foo::Bar"
    odd = {"ipc_channel_error": "E", "additional_minidumps": 3}  # not a list of names
    assert run(rule, odd).signature == "IPCError-content | E"


def test_ipc_message_name() -> None:
    rule = rules.SignatureIPCMessageName()
    assert run(rule, {"ipc_message_name": "PFoo::Msg_Bar"}).signature == (
        "foo::Bar | IPC_Message_Name=PFoo::Msg_Bar"
    )
    assert run(rule, {"ipc_message_name": ""}).signature == "foo::Bar"


def test_stack_overflow() -> None:
    rule = rules.StackOverflowSignature()
    assert run(rule, {"reason": "EXCEPTION_STACK_OVERFLOW"}).signature == "stackoverflow | foo::Bar"
    assert run(rule, {"reason": "SIGSEGV"}).signature == "foo::Bar"


def test_hung_process() -> None:
    rule = rules.HungProcess()
    assert run(rule, {"hang": "ui"}).signature == "hang: ui | foo::Bar"
    assert run(rule, {"hang": "shutdown"}).signature == "hang: shutdown | foo::Bar"
    assert run(rule, {}).signature == "foo::Bar"


@pytest.mark.parametrize(
    "start, expected",
    [("a\u00e9b", "ab"), ("a\x00b\x7fc", "abc"), ("a\tb", "a\tb"), ("plain", "plain")],
)
def test_printable_chars_only(start, expected) -> None:
    assert run(rules.SigPrintableCharsOnly(), {}, start).signature == expected


@pytest.mark.parametrize(
    "start, expected",
    [
        ("  a  ", "a"),
        ("a\tb", "a b"),
        ("a\n\nb", "a b"),
        ("a  |   b", "a | b"),
        ("a\r\n b", "a b"),
        ("\x0b\x0ca", "a"),
        ("ok | fine", "ok | fine"),
    ],
)
def test_fix_whitespace(start, expected) -> None:
    assert run(rules.SigFixWhitespace(), {}, start).signature == expected


def test_truncate() -> None:
    rule = rules.SigTruncate()
    assert run(rule, {}, "a" * 255).signature == "a" * 255
    result = run(rule, {}, "a" * 256)
    assert result.signature == "a" * 252 + "..."
    assert result.notes == ["SigTruncate: signature truncated due to length"]


def test_crashing_thread_index() -> None:
    assert rules.crashing_thread_index({}) == 0
    assert rules.crashing_thread_index({"crashing_thread": None}) == 0
    assert rules.crashing_thread_index({"crashing_thread": 2}) == 2
    assert rules.crashing_thread_index({"crashing_thread": "2"}) == 2
    assert rules.crashing_thread_index({"crashing_thread": "x"}) == 0
    assert rules.crashing_thread_index({"crashing_thread": float("inf")}) == 0


def test_java_exception_through_generation_rule(toy_generator) -> None:
    exception = {
        "exception": {
            "values": [
                {
                    "stacktrace": {
                        "module": "java.lang",
                        "type": "IllegalStateException",
                        "frames": [
                            {"module": "org.example.Foo", "function": "bar", "filename": "Foo.kt"}
                        ],
                    }
                }
            ]
        }
    }
    result = toy_generator.generate({"java_exception": exception})
    assert result.signature == "java.lang.IllegalStateException: at org.example.Foo.bar(Foo.kt)"
    exception["exception"]["values"][0]["stacktrace"]["frames"] = []
    assert toy_generator.generate({"java_exception": exception}).signature == (
        "java.lang.IllegalStateException"
    )
    bad = toy_generator.generate({"java_exception": {"exception": {}}})
    assert bad.signature == "EMPTY: Java exception not in expected format"
    assert bad.notes == ["SignatureGenerationRule: Java exception not in expected format"]


def test_java_trace_wins_over_exception_and_frames(toy_generator) -> None:
    data = {
        "java_stack_trace": "E: m\n\tat a.B.c(B.java:1)",
        "java_exception": {"exception": {}},
        "threads": [{"frames": [{"function": "g"}]}],
    }
    assert toy_generator.generate(data).signature == "E: m at a.B.c(B.java)"
