import json
import os
import signal
import sys
import textwrap

import pytest
from processor_support.minidump import MinidumpSpec, build_minidump, symbol_file

from crashline.processor.stackwalker import (
    STATUS_EMPTY,
    STATUS_OUTPUT_TOO_LARGE,
    STATUS_TIMEOUT,
    Stackwalker,
    status_from_log,
)


def fake_walker(tmp_path, body: str) -> str:
    """An executable that parses the real walker's flags and then does ``body``."""
    script = tmp_path / "fake-stackwalk"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent("""
        import json, sys, time
        args = dict(a.split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
        out, log = args.get("--output-file"), args.get("--log-file")
        dump = sys.argv[-1]
        if "--version" in sys.argv:
            print("fake-stackwalk 1.0"); sys.exit(0)
    """) + textwrap.dedent(body))
    script.chmod(0o755)
    return str(script)


@pytest.fixture
def dump(tmp_path):
    path = tmp_path / "crash.dmp"
    path.write_bytes(b"MDMP not really")
    return path


def test_argv_has_the_reference_flags_in_order(tmp_path):
    walker = Stackwalker("mdsw", symbols_dirs=[tmp_path / "s"], cache_dir=tmp_path / "cache",
                         symbols_urls=["https://a.example/", "https://b.example/"])
    argv = walker.argv(tmp_path / "d", tmp_path / "e.json", tmp_path / "o.json",
                       tmp_path / "l.log", tmp_path / "tmp")
    assert argv[0] == "mdsw"
    assert argv[1] == f"--evil-json={tmp_path / 'e.json'}"
    assert argv.index("--no-color") < argv.index("--json")
    assert [a for a in argv if a.startswith("--symbols-url=")] == [
        "--symbols-url=https://a.example/", "--symbols-url=https://b.example/"]
    assert f"--symbols-path={tmp_path / 's'}" in argv
    assert argv[-3:] == ["--json", "--verbose=error", str(tmp_path / "d")]


def test_empty_dump_is_not_walked(tmp_path):
    empty = tmp_path / "empty.dmp"
    empty.write_bytes(b"")
    walker = Stackwalker(fake_walker(tmp_path, "open('/nonexistent/ran', 'w')"))
    result = walker.walk(empty, {}, tmp_path)
    assert result.status == STATUS_EMPTY
    assert result.return_code is None
    assert result.json_dump == {}
    assert result.notes == ["upload_file_minidump is empty--skipping minidump processing"]


def test_good_output_is_parsed_and_annotations_passed(tmp_path, dump):
    walker = Stackwalker(fake_walker(tmp_path, """
        evil = json.load(open(args["--evil-json"]))
        json.dump({"status": "OK", "seen": evil["ProductName"]}, open(out, "w"))
    """))
    result = walker.walk(dump, {"ProductName": "Widget"}, tmp_path)
    assert result.status == "OK"
    assert result.return_code == 0
    assert result.json_dump == {"status": "OK", "seen": "Widget"}
    assert result.notes == []


def test_logged_error_becomes_the_status(tmp_path, dump):
    walker = Stackwalker(fake_walker(tmp_path, """
        open(log, "w").write("ERROR HeaderMismatch - Error reading dump: bad header\\n")
        sys.exit(1)
    """))
    result = walker.walk(dump, {}, tmp_path)
    assert result.status == "HeaderMismatch"
    assert result.return_code == 1
    assert result.json_dump == {}
    assert result.stderr.startswith("ERROR HeaderMismatch")
    assert "upload_file_minidump: minidump-stackwalk: failed: 1: HeaderMismatch" in result.notes


def test_timeout_kills_the_walker(tmp_path, dump):
    walker = Stackwalker(fake_walker(tmp_path, "time.sleep(30)"), timeout=0.5)
    result = walker.walk(dump, {}, tmp_path)
    assert result.return_code == -signal.SIGKILL
    assert result.status == STATUS_TIMEOUT
    assert "upload_file_minidump: minidump-stackwalk: timeout (SIGKILL)" in result.notes
    assert result.seconds < 10


def test_timeout_without_pidfd_uses_a_timer(tmp_path, dump, monkeypatch):
    def no_pidfd(pid):
        raise OSError("pidfd_open not supported")

    monkeypatch.setattr(os, "pidfd_open", no_pidfd, raising=False)
    walker = Stackwalker(fake_walker(tmp_path, "time.sleep(30)"), timeout=0.5)
    result = walker.walk(dump, {}, tmp_path)
    assert result.return_code == -signal.SIGKILL
    assert result.status == STATUS_TIMEOUT
    assert result.seconds < 10


def test_output_over_the_cap_is_refused(tmp_path, dump):
    walker = Stackwalker(fake_walker(tmp_path, """
        import signal
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it; real programs don't
        with open(out, "w") as f:
            f.write('{"status": "OK", "pad": "' + "x" * 200000 + '"}')
    """), max_output_bytes=50_000)
    result = walker.walk(dump, {}, tmp_path)
    assert result.status == STATUS_OUTPUT_TOO_LARGE
    assert result.json_dump == {}
    assert result.return_code == -signal.SIGXFSZ


def test_bad_json_output_is_a_note_not_an_error(tmp_path, dump):
    walker = Stackwalker(fake_walker(tmp_path, "open(out, 'w').write('{nope')"))
    result = walker.walk(dump, {}, tmp_path)
    assert result.json_dump == {}
    assert result.status == "unknown error"
    assert any("output is not JSON" in n for n in result.notes)


def test_memory_limit_applies_to_the_walker(tmp_path, dump):
    walker = Stackwalker(fake_walker(tmp_path, """
        try:
            block = bytearray(300 * 1024 * 1024)
            json.dump({"status": "OK"}, open(out, "w"))
        except MemoryError:
            open(log, "w").write("ERROR OutOfMemory - cannot allocate\\n")
            sys.exit(3)
    """), memory_limit_mb=100)
    result = walker.walk(dump, {}, tmp_path)
    assert result.return_code == 3
    assert result.status == "OutOfMemory"


def test_missing_binary_is_a_status_not_a_crash(tmp_path, dump):
    result = Stackwalker(str(tmp_path / "no-such-walker")).walk(dump, {}, tmp_path)
    assert result.status == "StackwalkerNotRunnable"
    assert result.json_dump == {}
    assert any("cannot run" in n for n in result.notes)


@pytest.mark.parametrize("text, status", [
    ("ERROR MissingThreadList - Error processing dump", "MissingThreadList"),
    ("...\nERROR HeaderMismatch - x", "HeaderMismatch"),
    ("WARN something", None),
    ("", None),
])
def test_status_from_log(text, status):
    assert status_from_log(text) == status


def test_real_walker_on_a_synthetic_dump(tmp_path, stackwalk_binary):
    dump = tmp_path / "synthetic.dmp"
    dump.write_bytes(build_minidump(MinidumpSpec(crash_address=0x45)))
    symbol_file(tmp_path / "symbols")
    walker = Stackwalker(stackwalk_binary, symbols_dirs=[tmp_path / "symbols"],
                         cache_dir=tmp_path / "cache", memory_limit_mb=4096)
    result = walker.walk(dump, {"ProductName": "Crashy"}, tmp_path)
    assert result.status == "OK", result.notes
    info = result.json_dump["crash_info"]
    assert info["type"] == "EXCEPTION_ACCESS_VIOLATION_WRITE"
    assert int(info["address"], 16) == 0x45
    assert result.json_dump["system_info"]["os"] == "Windows NT"
    assert result.json_dump["system_info"]["cpu_arch"] == "x86"
    frames = result.json_dump["threads"][0]["frames"]
    assert [f["function"] for f in frames[:2]] == ["CrashHere(int)", "main"]
    assert frames[0]["line"] == 42
    assert walker.version().startswith("minidump-stackwalk")
    json.dumps(result.json_dump)  # stays serialisable


@pytest.mark.parametrize("status", [7, None, ["OK"], {"a": 1}, ""])
def test_a_status_that_is_no_string_is_an_unknown_error(tmp_path, dump, status):
    # It reaches metric labels and notes: a number there broke the whole stack walk rule.
    walker = Stackwalker(fake_walker(tmp_path, f"""
        open(out, "w").write(json.dumps({{"status": {status!r}, "threads": []}}))
    """))
    result = walker.walk(dump, {}, tmp_path)
    assert result.status == "unknown error"
    assert result.json_dump["threads"] == []
    assert any("unknown error" in note for note in result.notes)
