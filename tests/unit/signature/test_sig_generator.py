"""The generator: rule order, failure isolation, results, shipped lists, conversion."""

from crashline.common.signature import (
    SignatureGenerator,
    crash_data_from_processed_crash,
    crash_data_from_stackwalker_json,
    generate_signature,
)
from crashline.common.signature.rules import Rule


def test_empty_input() -> None:
    result = generate_signature({})
    assert result.signature == "EMPTY: no frame data available"
    assert result.proto_signature == ""


class Boom(Rule):
    def action(self, crash_data, result) -> None:
        raise ValueError("kaboom")


class Append(Rule):
    def action(self, crash_data, result) -> None:
        result.set_signature(self.name, result.signature + "x")


def test_failing_rule_adds_a_note_and_the_rest_run() -> None:
    errors = []
    generator = SignatureGenerator(
        rules=[Append(), Boom(), Append()],
        error_handler=lambda data, name, exc: errors.append((name, str(exc))),
    )
    result = generator.generate({})
    assert result.signature == "xx"
    assert result.notes == ["Boom: Rule failed: kaboom"]
    assert errors == [("Boom", "kaboom")]


def test_a_number_as_abort_message_is_its_text() -> None:
    data = {"abort_message": 5, "threads": [{"frames": [{"function": "foo::Bar()"}]}]}
    result = generate_signature(data)
    assert result.signature == "Abort | 5 | foo::Bar"
    assert result.notes == []


def test_result_extra_and_to_dict() -> None:
    data = {"threads": [{"frames": [{"function": "abort"}, {"function": "my::Crash(int)"}]}]}
    result = generate_signature(data)
    assert result.signature == "my::Crash"
    assert result.proto_signature == "abort | my::Crash"
    assert result.extra["normalized_frames"] == ["abort", "my::Crash"]
    assert any("irrelevant" in line for line in result.extra["debug_log"])
    assert set(result.to_dict()) == {"signature", "proto_signature", "notes", "extra"}


def test_non_mapping_input_does_not_raise() -> None:
    assert generate_signature(["nope"]).signature == "EMPTY: no frame data available"  # type: ignore[arg-type]


def native(*frames: dict, os: str = "Linux") -> dict:
    return {"os": os, "crashing_thread": 0, "threads": [{"frames": list(frames)}]}


def test_shipped_lists_glibc_abort_and_assert() -> None:
    data = native(
        {"function": "__pthread_kill_implementation", "module": "libc.so.6"},
        {"function": "raise", "module": "libc.so.6"},
        {"function": "abort", "module": "libc.so.6"},
        {"function": "__assert_fail_base.cold", "module": "libc.so.6"},
        {"function": "__assert_fail", "module": "libc.so.6"},
        {"function": "Parser::Parse(char const*)", "module": "app"},
        {"function": "main", "module": "app"},
    )
    assert generate_signature(data).signature == "Parser::Parse"


def test_shipped_lists_malloc_corruption() -> None:
    data = native(
        {"function": "abort"},
        {"function": "malloc_printerr"},
        {"function": "_int_free"},
        {"function": "free"},
        {"function": "Cache::Evict(unsigned long)"},
    )
    assert generate_signature(data).signature == "_int_free | free | Cache::Evict"


def test_shipped_lists_rust_panic() -> None:
    rs = "/rustc/abc/library/std/src/panicking.rs"
    data = native(
        {"function": "std::sys::pal::unix::abort_internal", "file": rs, "line": 1},
        {"function": "std::process::abort", "file": rs, "line": 1},
        {"function": "std::panicking::rust_panic_with_hook", "file": rs, "line": 1},
        {"function": "std::panicking::begin_panic_handler::{{closure}}", "file": rs, "line": 1},
        {"function": "core::panicking::panic_fmt", "file": rs, "line": 1},
        {
            "function": "core::result::unwrap_failed",
            "file": rs,
            "line": 1,
            "inlines": [{"function": "core::result::Result<T,E>::unwrap", "file": rs, "line": 2}],
        },
        {"function": "myapp::config::load::h0123456789abcdef", "file": "/src/config.rs", "line": 9},
    )
    assert generate_signature(data).signature == "myapp::config::load"


def test_shipped_lists_windows_no_symbols() -> None:
    data = native(
        {"function": "KiUserExceptionDispatcher", "module": "ntdll.dll"},
        {"module": "GRAPHICS.DLL", "module_offset": "0x10"},
        {"module": "graphics.dll", "module_offset": "0x20"},
        {"function": "Renderer::Draw()", "module": "app.exe"},
        os="Windows NT",
    )
    assert generate_signature(data).signature == "graphics.dll | Renderer::Draw"


def test_shipped_lists_std_container_and_memcpy() -> None:
    data = native(
        {"function": "__memmove_avx_unaligned_erms"},
        {"function": "std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>(int)"},
        {"function": "Store::Add(int)"},
    )
    assert generate_signature(data).signature == (
        "__memmove_avx_unaligned_erms | std::vector<T>::_M_realloc_insert<T> | Store::Add"
    )


JSON_DUMP = {
    "status": "OK",
    "crash_info": {"type": "EXCEPTION_STACK_OVERFLOW", "crashing_thread": 1},
    "system_info": {"os": "Windows NT"},
    "threads": [
        {"frames": [{"function": "main"}]},
        {"frames": [{"function": "Recurse(int)", "module": "app.exe"}]},
    ],
}


def test_crash_data_from_processed_crash() -> None:
    processed = {
        "json_dump": JSON_DUMP,
        "oom_allocation_size": 17,
        "mdsw_status_string": "OK",
        "additional_minidumps": "upload_file_minidump_browser, other",
        "java_stack_trace": None,
        "signature": "old",
    }
    data = crash_data_from_processed_crash(processed)
    assert data["crashing_thread"] == 1
    assert data["reason"] == "EXCEPTION_STACK_OVERFLOW"
    assert data["os"] == "Windows NT"
    assert data["threads"] is JSON_DUMP["threads"]
    assert data["additional_minidumps"] == ["upload_file_minidump_browser", "other"]
    assert data["oom_allocation_size"] == 17
    assert "signature" not in data
    assert generate_signature(data).signature == "stackoverflow | OOM | small"


def test_crash_data_from_processed_crash_without_json_dump() -> None:
    data = crash_data_from_processed_crash({"mdsw_status_string": "EmptyMinidump"})
    assert data["threads"] is None
    assert generate_signature(data).signature == "EMPTY: no frame data available; EmptyMinidump"


def test_crash_data_from_stackwalker_json_and_annotations() -> None:
    annotations = {
        "OOMAllocationSize": "1000000",
        "Hang": "ui",
        "additional_minidumps": "browser",
        "JavaStackTrace": "java.lang.Error: secret\n\tat a.B.c(B.java:3)",
        "JavaException": "{bad json",
    }
    data = crash_data_from_stackwalker_json(JSON_DUMP, annotations)
    assert data["crashing_thread"] == 1
    assert data["oom_allocation_size"] == 1000000
    assert data["hang"] == "ui"
    assert data["mdsw_status_string"] is None
    assert data["java_stack_trace"] == "java.lang.Error\n\tat a.B.c(B.java:3)"
    assert data["java_exception"] == "{bad json"
    native_only = crash_data_from_stackwalker_json(JSON_DUMP)
    assert generate_signature(native_only).signature == "stackoverflow | Recurse"
    failed = crash_data_from_stackwalker_json({"status": "HeaderMismatch"})
    assert generate_signature(failed).signature == "EMPTY: no frame data available; HeaderMismatch"
