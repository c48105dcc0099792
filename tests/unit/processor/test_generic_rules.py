"""The generic rules of the default ruleset (platform, crash info, the dump's side streams)
on real stack-walker output: the corpus dumps and synthetic dumps through the stack walker,
and, for macOS and Android, whose dumps nobody here can write, stack-walker JSON built from
the fields and examples of the reference's processed-crash schema (tests/.../data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from processor_support.minidump import PLATFORM_LINUX, MinidumpSpec, build_minidump

from crashline.processor.pipeline import Crash, Pipeline
from crashline.processor.rules import default_rulesets
from crashline.processor.rules.platform import macos_name, windows_name
from crashline.processor.rules.signature import SignatureGeneratorRule
from crashline.processor.rules.streams import MAX_SOFT_ERRORS_CHARS
from crashline.processor.stackwalker import Stackwalker

DATA = Path(__file__).parent / "data"
CRASH_ID = "de1bb258-cbbf-4589-a673-34f800160918"


@pytest.fixture
def process(tmp_path, stackwalk_binary):
    """raw crash, dump bytes or stack-walker JSON -> the processed crash (default rules)."""
    walker = Stackwalker(stackwalk_binary, symbols_dirs=[])
    pipeline = Pipeline(default_rulesets(walker, SignatureGeneratorRule()))

    def run(raw: dict, dump: bytes | None = None, json_dump: dict | None = None) -> dict:
        work = tmp_path / f"work-{len(list(tmp_path.iterdir()))}"
        work.mkdir()
        dumps = {}
        if dump is not None:
            dumps["upload_file_minidump"] = work / "dump.dmp"
            dumps["upload_file_minidump"].write_bytes(dump)
        processed = {"json_dump": json_dump} if json_dump is not None else {}
        crash = Crash(crash_id=CRASH_ID, raw_crash=dict(raw), dumps=dumps,
                      processed=processed, tmpdir=work)
        result = pipeline.run(crash)
        assert "failed" not in result["processor_notes"], result["processor_notes"]
        return result

    yield run
    pipeline.close()


def fixture(name: str) -> dict:
    return json.loads((DATA / f"stackwalk-{name}.json").read_text("utf-8"))


# -- the corpus -------------------------------------------------------------------------

def test_windows_corpus_dump(process, corpus):
    processed = process({}, (corpus / "minidumps" / "windows-x86-test_app.dmp").read_bytes())
    assert processed["os_name"] == "Windows NT"
    assert processed["os_pretty_version"] == "Windows XP"  # 5.1.2600 Service Pack 2
    assert (processed["cpu_arch"], processed["cpu_count"]) == ("x86", 1)
    for absent in ("crash_inconsistencies", "has_guard_page_access", "soft_errors",
                   "mac_crash_info", "has_mac_boot_args"):
        assert absent not in processed


def test_linux_corpus_dump(process, corpus):
    processed = process({"LinuxLSBDescription": "not used: the dump says"},
                        (corpus / "minidumps" / "linux-x86_64-mini.dmp").read_bytes())
    assert processed["os_pretty_version"] == "Ubuntu 16.04.3 LTS"  # from lsb_release
    # The crash reporter's soft errors, as JSON the size of a search field.
    soft = json.loads(processed["soft_errors"])
    assert soft == processed["json_dump"]["soft_errors"]
    assert "StopProcessFailed" in processed["soft_errors"]
    assert len(processed["soft_errors"]) <= MAX_SOFT_ERRORS_CHARS
    assert "has_guard_page_access" not in processed  # its one access is not to a guard page


# -- synthetic dumps ----------------------------------------------------------------------

@pytest.mark.parametrize("version, pretty", [
    ((10, 0, 22631), "Windows 11"), ((10, 0, 19045), "Windows 10"), ((6, 1, 7601),
                                                                     "Windows 7"),
    ((6, 3, 9600), "Windows 8.1"), ((7, 0, 1), "Windows Unknown"),
])
def test_windows_versions_of_synthetic_dumps(process, version, pretty):
    processed = process({}, build_minidump(MinidumpSpec(os_version=version)))
    assert processed["os_version"].startswith(".".join(map(str, version)))
    assert processed["os_pretty_version"] == pretty


def test_linux_without_lsb_release_uses_the_annotation(process):
    dump = build_minidump(MinidumpSpec(platform=PLATFORM_LINUX))
    processed = process({"LinuxLSBDescription": "Debian GNU/Linux 12 (bookworm)"}, dump)
    assert processed["os_name"] == "Linux"
    assert processed["os_pretty_version"] == "Debian GNU/Linux 12 (bookworm)"
    assert process({}, dump)["os_pretty_version"] == "Linux"


def test_the_dump_wins_over_platform_annotations(process):
    processed = process({"OS": "Plan 9", "OSVersion": "4", "CPUArchitecture": "mips"},
                        build_minidump(MinidumpSpec()))
    assert (processed["os_name"], processed["cpu_arch"]) == ("Windows NT", "x86")


# -- macOS and Android (schema-built stack-walker JSON) ----------------------------------

def test_macos(process):
    processed = process({}, json_dump=fixture("mac"))
    assert processed["os_pretty_version"] == "macOS 14"
    assert processed["crash_inconsistencies"] == [
        "crashing instruction does not access the crash address"]
    assert processed["has_guard_page_access"] is True
    assert processed["mac_boot_args"] == "-v keepsyms=1"
    assert processed["has_mac_boot_args"] is True
    info = json.loads(processed["mac_crash_info"])
    assert info == fixture("mac")["mac_crash_info"]
    assert processed["mac_crash_info"] == json.dumps(info, sort_keys=True)  # stable text


def test_macos_without_crash_info_or_boot_args(process):
    json_dump = fixture("mac")
    json_dump.update(mac_crash_info={"num_records": 0, "records": []}, mac_boot_args=" ")
    processed = process({}, json_dump=json_dump)
    assert not {"mac_crash_info", "mac_boot_args", "has_mac_boot_args"} & set(processed)


def test_android_dump(process):
    processed = process({"Android_Version": "34 (REL)", "Android_CPU_ABI": "arm64-v8a"},
                        json_dump=fixture("android"))
    # The OS version is the SDK level, not the kernel's.
    assert (processed["os_name"], processed["os_version"]) == ("Android", "34")
    assert processed["os_pretty_version"] == "Android 34"
    assert processed["cpu_arch"] == "arm64"  # from the dump


def test_android_without_a_dump(process):
    # A Java crash: no minidump; the annotations say where it ran.
    processed = process({"Android_Version": "31 (REL)", "Android_CPU_ABI": "armeabi-v7a",
                         "JavaStackTrace": "java.lang.Error: x\n\tat a.B.c(B.java:1)"})
    assert (processed["os_name"], processed["os_version"]) == ("Android", "31")
    assert processed["cpu_arch"] == "arm"
    assert processed["os_pretty_version"] == "Android 31"
    x86 = process({"Android_CPU_ABI": "x86_64", "Android_Version": "R (preview)"})
    assert x86["cpu_arch"] == "amd64" and "os_version" not in x86


def test_platform_annotations_when_there_is_no_dump(process):
    processed = process({"OS": "Windows NT", "OSVersion": "10.0.22621",
                         "CPUArchitecture": "amd64", "CPUInfo": "AuthenticAMD family 25"})
    assert (processed["os_name"], processed["os_version"]) == ("Windows NT", "10.0.22621")
    assert (processed["cpu_arch"], processed["cpu_info"]) == ("amd64",
                                                             "AuthenticAMD family 25")
    assert processed["os_pretty_version"] == "Windows 11"


# -- the pure parts ------------------------------------------------------------------------

def test_os_names():
    assert windows_name("10.0.21996") == "Windows 11"
    assert windows_name("10.0.21995") == "Windows 10"
    assert windows_name("6.0.6002 Service Pack 2") == "Windows Vista"
    assert windows_name("garbage") is None
    assert macos_name("10.15.7 19H2") == "OS X 10.15"
    assert macos_name("11.0.1") == "macOS 11"
    assert macos_name("9.2") == "OS X Unknown"


def test_soft_errors_are_cut_whole_to_fit(process):
    json_dump = fixture("android")
    json_dump["soft_errors"] = [{"Error": "x" * 1000} for _ in range(10)]
    processed = process({}, json_dump=json_dump)
    kept = json.loads(processed["soft_errors"])
    assert 0 < len(kept) < 10 and len(processed["soft_errors"]) <= MAX_SOFT_ERRORS_CHARS
    assert "soft_errors: kept" in processed["processor_notes"]
