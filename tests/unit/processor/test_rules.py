"""One or more tests per rule (pure: no stack walker, no services)."""

import hashlib

import pytest

from crashline.common.fields import REGISTRY
from crashline.processor.rules.annotations import (
    ANNOTATIONS,
    CollectorMetadataRule,
    CopyFromRawCrashRule,
    CrashReportKeysRule,
    DatesAndTimesRule,
    DeNoneRule,
    DeNullRule,
    MajorVersionRule,
    ProcessTypeRule,
    coercer,
)
from crashline.processor.rules.identity import IdentifierRule, MinidumpSha256HashRule
from crashline.processor.rules.java import JavaStackTraceRule
from crashline.processor.rules.messages import AbortMessageRule, ReportTypeRule
from crashline.processor.rules.platform import CPUInfoRule, OSInfoRule, PlatformInfoRule
from crashline.processor.rules.signature import (
    ShutdownHangCrashingThreadRule,
    SignatureGeneratorRule,
    SignatureMoveRule,
)
from crashline.processor.rules.stack import (
    CrashingThreadInfoRule,
    MissingSymbolsRule,
    ModulesInStackRule,
    PossibleBitFlipsRule,
    ThreadCountRule,
    TopMostFilesRule,
    TruncateStacksRule,
)


def run(rule, crash):
    if rule.predicate(crash):
        rule.action(crash)
    return crash.processed


# -- raw crash clean-up ------------------------------------------------------------------

def test_denull_strips_nul_from_keys_and_values(make_crash):
    crash = make_crash({"Product\0Name": "Wid\0get", "n": 3})
    run(DeNullRule(), crash)
    assert crash.raw_crash == {"ProductName": "Widget", "n": 3}


def test_denone_drops_none_values(make_crash):
    crash = make_crash({"a": None, "b": "x"})
    run(DeNoneRule(), crash)
    assert crash.raw_crash == {"b": "x"}


def test_crash_report_keys_sorted_and_invalid_ones_noted(make_crash, tmp_path):
    crash = make_crash({"ProductName": "x", "bad key!": "y", "k" * 101: "z"},
                       dumps={"upload_file_minidump": tmp_path / "d"})
    processed = run(CrashReportKeysRule(), crash)
    assert processed["crash_report_keys"] == ["ProductName", "upload_file_minidump"]
    assert any(n.startswith("invalidkeys") for n in crash.notes)


def test_collector_metadata_copied(make_crash):
    crash = make_crash({"metadata": {"payload": "multipart"}})
    assert run(CollectorMetadataRule(), crash)["collector_metadata"] == {"payload": "multipart"}


# -- annotations → typed fields ------------------------------------------------------------

def test_copy_coerces_by_registry_type(make_crash):
    crash = make_crash({"ProductName": "Widget ", "Version": "1.2", "BuildID": "20250101120000",
                        "StartupCrash": "1", "OOMAllocationSize": "4096",
                        "JavaException": '{"exception": {"values": []}}', "Comments": "hi"})
    processed = run(CopyFromRawCrashRule(), crash)
    assert processed["product"] == "Widget"
    assert processed["build"] == 20250101120000
    assert processed["startup_crash"] is True
    assert processed["oom_allocation_size"] == 4096
    assert processed["java_exception"] == {"exception": {"values": []}}
    assert processed["user_comments"] == "hi"
    assert crash.notes == []


def test_copy_bad_value_noted_and_left_out(make_crash):
    crash = make_crash({"BuildID": "not-a-build", "StartupCrash": "maybe"})
    processed = run(CopyFromRawCrashRule(), crash)
    assert "build" not in processed and "startup_crash" not in processed
    assert any(n.startswith("BuildID has an invalid value") for n in crash.notes)
    assert any(n.startswith("StartupCrash has an invalid value") for n in crash.notes)


def test_copy_understands_crashpad_names(make_crash):
    crash = make_crash({"prod": "Chromium", "ver": "120.0.1", "ptype": "renderer"})
    processed = run(CopyFromRawCrashRule(), crash)
    assert (processed["product"], processed["version"], processed["process_type"]) == (
        "Chromium", "120.0.1", "renderer")


def test_every_annotation_has_a_type():
    for annotation in ANNOTATIONS:
        coercer(annotation)  # raises for a field neither registered nor typed


def test_registry_drives_the_type_of_registered_fields():
    build = next(a for a in ANNOTATIONS if a.field == "build")
    assert REGISTRY["build_id"].source_path == "build"
    assert coercer(build)("123") == 123


@pytest.mark.parametrize("value, expected", [(None, "parent"), ("default", "parent"),
                                             ("main", "parent"), ("content", "content")])
def test_process_type(make_crash, value, expected):
    crash = make_crash(processed={"process_type": value} if value else {})
    assert run(ProcessTypeRule(), crash)["process_type"] == expected


def test_major_version(make_crash):
    assert run(MajorVersionRule(), make_crash(processed={"version": "120.0b3"}))[
        "major_version"] == 120
    assert "major_version" not in run(MajorVersionRule(), make_crash(processed={"version": "x"}))


def test_dates_and_times(make_crash):
    crash = make_crash({"submitted_timestamp": "2025-08-27T10:00:00.5+00:00"},
                       processed={"crash_time": 1_000_100, "startup_time": 1_000_000,
                                  "install_time": 900_000})
    processed = run(DatesAndTimesRule(), crash)
    assert processed["date_processed"] == "2025-08-27T10:00:00.500000+00:00"
    assert processed["uptime"] == 100
    assert processed["install_age"] == 100_100
    assert processed["client_crash_date"].startswith("1970-01-12")


@pytest.mark.parametrize("crash_time", [10**12, 10**18, 2**64])
def test_a_crash_time_past_any_date_leaves_the_ages(make_crash, crash_time):
    # fromtimestamp raised (ValueError, OSError or OverflowError by size), which failed the
    # whole rule: the crash lost its uptime and install age too.
    crash = make_crash({"submitted_timestamp": "2025-08-27T10:00:00+00:00"},
                       processed={"crash_time": crash_time, "startup_time": crash_time - 100,
                                  "install_time": crash_time - 1000})
    processed = run(DatesAndTimesRule(), crash)
    assert "client_crash_date" not in processed
    assert "client_crash_date is out of range" in crash.notes
    assert processed["uptime"] == 100 and processed["install_age"] == 1000
    assert processed["date_processed"] == "2025-08-27T10:00:00+00:00"


def test_dates_fall_back_to_the_crash_id_date(make_crash):
    crash = make_crash({})
    processed = run(DatesAndTimesRule(), crash)
    assert processed["date_processed"] == "2016-09-18T00:00:00+00:00"
    assert "client_crash_date is unknown" in crash.notes


# -- identity -----------------------------------------------------------------------------

def test_identifier(make_crash):
    processed = run(IdentifierRule(), make_crash())
    assert processed["crash_id"] == processed["uuid"] == "de1bb258-cbbf-4589-a673-34f800160918"


def test_sha256_hashed_from_the_dump(make_crash, tmp_path):
    dump = tmp_path / "d.dmp"
    dump.write_bytes(b"MDMP123")
    crash = make_crash(dumps={"upload_file_minidump": dump})
    assert run(MinidumpSha256HashRule(), crash)["minidump_sha256_hash"] == hashlib.sha256(
        b"MDMP123").hexdigest()


def test_sha256_prefers_the_collectors_checksum(make_crash):
    crash = make_crash({"metadata": {"dump_checksums": {"upload_file_minidump": "abc"}}})
    assert run(MinidumpSha256HashRule(), crash)["minidump_sha256_hash"] == "abc"


# -- stack --------------------------------------------------------------------------------

def dump_with(crash_info=None, threads=None, **more):
    return {"json_dump": {"crash_info": crash_info or {}, "threads": threads or [], **more}}


def test_crashing_thread_reason_address(make_crash):
    processed = dump_with({"type": "SIGSEGV", "address": "0x45", "crashing_thread": 1},
                          [{"frames": []}, {"thread_name": "Worker", "frames": [],
                                            "last_error_value": "ERROR_ACCESS_DENIED"}])
    processed = run(CrashingThreadInfoRule(), make_crash(processed=processed))
    assert processed["crashing_thread"] == 1
    assert processed["crashing_thread_name"] == "Worker"
    assert processed["reason"] == "SIGSEGV"
    assert processed["address"] == "0x45"
    assert processed["last_error_value"] == "ERROR_ACCESS_DENIED"


def test_null_pointer_address_becomes_zero_of_the_same_width(make_crash):
    info = {"type": "SIGSEGV", "address": "0x0000000000000018", "crashing_thread": 0,
            "adjusted_address": {"kind": "null-pointer", "offset": "0x18"}}
    processed = run(CrashingThreadInfoRule(), make_crash(processed=dump_with(info)))
    assert processed["address"] == "0x0000000000000000"


def test_non_canonical_address_is_adjusted(make_crash):
    info = {"type": "EXCEPTION_ACCESS_VIOLATION_READ", "address": "0xffffffffffffffff",
            "crashing_thread": 0,
            "adjusted_address": {"kind": "non-canonical", "address": "0x00007fff00001234"}}
    processed = run(CrashingThreadInfoRule(), make_crash(processed=dump_with(info)))
    assert processed["address"] == "0x00007fff00001234"


def test_truncate_600_frames_to_500(make_crash):
    frames = [{"frame": i} for i in range(600)]
    processed = dump_with({}, [{"frames": frames}, {"frames": frames[:10]}])
    crash = make_crash(processed=processed)
    run(TruncateStacksRule(), crash)
    kept = crash.processed["json_dump"]["threads"][0]["frames"]
    assert len(kept) == 500
    assert kept[249] == {"frame": 249}
    assert kept[250] == {"truncated": {"msg": "100 frames truncated"}}
    assert kept[251] == {"frame": 351}
    assert kept[-1] == {"frame": 599}
    assert len(crash.processed["json_dump"]["threads"][1]["frames"]) == 10
    assert crash.processed["truncated"] is True


def test_stack_of_500_is_left_alone(make_crash):
    crash = make_crash(processed=dump_with({}, [{"frames": [{}] * 500}]))
    run(TruncateStacksRule(), crash)
    assert "truncated" not in crash.processed


def test_possible_bit_flips(make_crash):
    info = {"possible_bit_flips": [{"confidence": 0.25}, {"confidence": 0.875}]}
    processed = run(PossibleBitFlipsRule(), make_crash(processed=dump_with(info)))
    assert processed["possible_bit_flips_max_confidence"] == 87


MODULES = [
    {"filename": "app.exe", "debug_file": "app.pdb", "debug_id": "AAA1", "version": "1.0",
     "missing_symbols": False},
    {"filename": "lib.dll", "debug_file": "lib.pdb", "debug_id": "BBB1", "version": "2.0",
     "code_id": "C0DE", "missing_symbols": True},
    {"filename": "other.dll", "debug_file": "other.pdb", "debug_id": "CCC1",
     "missing_symbols": True},
]
FRAMES = [
    {"module": "lib.dll", "offset": "0x1"},
    {"module": "app.exe", "function": "f", "file": "/src/f.c",
     "inlines": [{"function": "g", "file": "/src/inlined.h"}]},
    {"module": "lib.dll"},
]


def stack_crash(make_crash):
    return make_crash(processed=dump_with({"crashing_thread": 0}, [{"frames": FRAMES}],
                                          modules=MODULES, thread_count=7))


def test_modules_in_stack(make_crash):
    processed = run(ModulesInStackRule(), stack_crash(make_crash))
    assert processed["modules_in_stack"] == "lib.pdb/BBB1;app.pdb/AAA1"


def test_missing_symbols(make_crash):
    processed = run(MissingSymbolsRule(), stack_crash(make_crash))
    assert processed["missing_symbols"] == "lib.pdb/2.0/BBB1/C0DE;other.pdb//CCC1"
    assert "missing_symbol_files" not in processed  # no module has a real debug id


def test_missing_symbol_files_name_what_the_stack_walker_looked_up(make_crash):
    ids = [f"{n:X}" * 32 + "1" for n in (10, 11, 12)]
    modules = [
        {"filename": "app.exe", "debug_file": "c:\\build\\app.pdb", "debug_id": ids[0],
         "missing_symbols": True},
        {"filename": "libc.so.6", "debug_file": "", "debug_id": ids[1], "missing_symbols": True},
        {"filename": "ok.dll", "debug_file": "ok.pdb", "debug_id": ids[2],
         "missing_symbols": False},
        {"filename": "again.exe", "debug_file": "app.pdb", "debug_id": ids[0],
         "missing_symbols": True},
    ]
    crash = make_crash(processed=dump_with({"crashing_thread": 0}, [], modules=modules))
    processed = run(MissingSymbolsRule(), crash)
    assert processed["missing_symbol_files"] == [f"app.pdb/{ids[0]}", f"libc.so.6/{ids[1]}"]


@pytest.mark.parametrize(("previous", "new", "moved_from"), [
    ({}, "new_sig", None),                                           # first processing
    ({"signature": "same"}, "same", None),                           # nothing moved
    ({"signature": "lib.dll@0x10"}, "CrashHere", "lib.dll@0x10"),    # symbols arrived
    ({"signature": "B", "signature_moved_from": "A"}, "B", "A"),     # kept until it moves
    ({"signature": "B", "signature_moved_from": "A"}, "C", "B"),     # moved again
])
def test_signature_move(make_crash, previous, new, moved_from):
    crash = make_crash(processed={"signature": new, "signature_moved_from": "stale"})
    crash.previous = previous
    processed = run(SignatureMoveRule(), crash)
    assert processed.get("signature_moved_from") == moved_from
    noted = [n for n in crash.notes if n.startswith("signature changed")]
    assert noted == ([f"signature changed from {previous['signature']!r} to {new!r}"]
                     if previous.get("signature", new) != new else [])


def test_topmost_filenames_counts_inlines_first(make_crash):
    processed = run(TopMostFilesRule(), stack_crash(make_crash))
    assert processed["topmost_filenames"] == "/src/inlined.h"


def test_thread_count(make_crash):
    assert run(ThreadCountRule(), stack_crash(make_crash))["thread_count"] == 7


def test_os_and_cpu(make_crash):
    system_info = {"os": "Linux", "os_ver": "5.15.0", "cpu_arch": "amd64", "cpu_count": 8,
                   "cpu_info": "GenuineIntel family 6"}
    crash = make_crash(processed={"json_dump": {"system_info": system_info}})
    run(OSInfoRule(), crash)
    run(CPUInfoRule(), crash)
    p = crash.processed
    assert (p["os_name"], p["os_version"], p["cpu_arch"], p["cpu_count"]) == (
        "Linux", "5.15.0", "amd64", 8)


def test_os_without_a_dump(make_crash):
    crash = make_crash({"plat": "Linux"})
    run(OSInfoRule(), crash)
    run(CPUInfoRule(), crash)
    run(PlatformInfoRule(), crash)
    assert crash.processed["os_name"] == "Linux"
    assert crash.processed["cpu_arch"] == "unknown"


# -- messages, Java, report type --------------------------------------------------------

def test_java_stack_trace_sanitised_and_raw_kept(make_crash):
    trace = ("java.lang.IllegalStateException: secret user data\n"
             "\tat org.app.Main.run(Main.java:12)\n\tat org.app.Main.main(Main.java:3)")
    processed = run(JavaStackTraceRule(), make_crash({"JavaStackTrace": trace}))
    assert processed["java_stack_trace_raw"] == trace
    assert "secret" not in processed["java_stack_trace"]
    assert processed["java_stack_trace"].splitlines() == [
        "java.lang.IllegalStateException", "\tat org.app.Main.run(Main.java:12)",
        "\tat org.app.Main.main(Main.java:3)"]


def test_java_stack_trace_malformed(make_crash):
    crash = make_crash({"JavaStackTrace": "this is not a trace"})
    assert run(JavaStackTraceRule(), crash)["java_stack_trace"] == "malformed"


def test_abort_message(make_crash):
    crash = make_crash({"AbortMessage": " ###!!! ABORT: boom\0 "})
    assert run(AbortMessageRule(), crash)["abort_message"] == "###!!! ABORT: boom"
    assert "abort_message" not in run(AbortMessageRule(), make_crash({"AbortMessage": "  "}))


@pytest.mark.parametrize("processed, expected", [
    ({}, "crash"),
    ({"ipc_channel_error": "ShutDownKill"}, "hang"),
    ({"async_shutdown_timeout": "{}"}, "hang"),
    (dump_with({"crashing_thread": 0}, [{"frames": [{"function": "mozilla::RunWatchdog"}]}]),
     "hang"),
])
def test_report_type(make_crash, processed, expected):
    assert run(ReportTypeRule(), make_crash(processed=processed))["report_type"] == expected


# -- signature ---------------------------------------------------------------------------

def test_signature_from_the_stack(make_crash):
    processed = dump_with({"crashing_thread": 0, "type": "SIGSEGV"}, [{"frames": [
        {"function": "void nsDocumentViewer::DestroyPresShell()"},
        {"function": "nsDocumentViewer::Destroy()"}]}], system_info={"os": "Linux"})
    crash = make_crash(processed=processed)
    run(SignatureGeneratorRule(), crash)
    assert crash.processed["signature"] == "nsDocumentViewer::DestroyPresShell"
    assert crash.processed["proto_signature"] == (
        "nsDocumentViewer::DestroyPresShell | nsDocumentViewer::Destroy")


def test_signature_of_a_failed_walk(make_crash):
    crash = make_crash(processed={"json_dump": {}, "mdsw_status_string": "HeaderMismatch"})
    run(SignatureGeneratorRule(), crash)
    assert crash.processed["signature"] == "EMPTY: no frame data available; HeaderMismatch"


def test_shutdown_hang_moves_the_crashing_thread_to_0(make_crash):
    crash = make_crash(processed={"signature": "shutdownhang | foo", "crashing_thread": 3})
    assert run(ShutdownHangCrashingThreadRule(), crash)["crashing_thread"] == 0
    crash = make_crash(processed={"signature": "foo", "crashing_thread": 3})
    assert run(ShutdownHangCrashingThreadRule(), crash)["crashing_thread"] == 3
