"""Every searchable field has a producer: an annotation the copy rule reads, or a named rule.

A field added to the registry with no producer is always empty in search; these tests make
that a failure. The full-pipeline test runs the real rules and stack walker on a synthetic
crash that carries every registry annotation, so the lists below are checked, not trusted.
"""

from __future__ import annotations

import pytest
from processor_support.minidump import MinidumpSpec, Module, build_minidump, symbol_file

from crashline.common.fields import FIELDS, REGISTRY, FieldType
from crashline.common.search.documents import BAD_DATA, search_document
from crashline.processor.pipeline import Crash, Pipeline
from crashline.processor.rules import default_rulesets
from crashline.processor.rules.annotations import ANNOTATIONS
from crashline.processor.rules.signature import SignatureGeneratorRule
from crashline.processor.stackwalker import Stackwalker

# Fields processor rules compute (not copied from an annotation), by rule. The synthetic
# crash below makes each of them appear.
PRODUCED_BY_RULES: dict[str, str] = {
    "uuid": "IdentifierRule",
    "date": "DatesAndTimesRule (date_processed)",
    "processed_date": "Pipeline.run (completed_datetime)",
    "processor_notes": "Pipeline.run",
    "signature": "SignatureGeneratorRule",
    "proto_signature": "SignatureGeneratorRule",
    "major_version": "MajorVersionRule",
    "report_type": "ReportTypeRule",
    "uptime": "DatesAndTimesRule",
    "install_age": "DatesAndTimesRule",
    "platform": "OSInfoRule (os_name)",
    "platform_version": "OSInfoRule (os_version)",
    "platform_pretty_version": "OSPrettyVersionRule (os_pretty_version)",
    "cpu_arch": "CPUInfoRule",
    "cpu_count": "CPUInfoRule",
    "cpu_info": "CPUInfoRule",
    "cpu_microcode_version": "CPUInfoRule (the walker reads CPUMicrocodeVersion)",
    "reason": "CrashingThreadInfoRule",
    "address": "CrashingThreadInfoRule",
    "crashing_thread": "CrashingThreadInfoRule",
    "thread_count": "ThreadCountRule",
    "mdsw_status_string": "MinidumpStackwalkRule",
    "stackwalk_version": "MinidumpStackwalkRule",
    "additional_minidumps": "MinidumpStackwalkRule (a second upload_file_minidump_* dump)",
    "minidump_sha256_hash": "MinidumpSha256HashRule",
    "topmost_filenames": "TopMostFilesRule (symbols with source files)",
    "modules_in_stack": "ModulesInStackRule",
    "missing_symbols": "MissingSymbolsRule (a module on the stack without symbols)",
    "missing_symbol_files": "MissingSymbolsRule (a module on the stack without symbols)",
    "crash_report_keys": "CrashReportKeysRule",
    "collector_notes": "CollectorMetadataRule (collector_metadata.collector_notes)",
    "java_stack_trace": "JavaStackTraceRule (JavaStackTrace annotation)",
    "java_stack_trace_raw": "JavaStackTraceRule (JavaStackTrace annotation)",
    "abort_message": "AbortMessageRule (AbortMessage annotation)",
}

# Rule fields that only appear under conditions the synthetic dump does not meet.
CONDITIONAL: dict[str, str] = {
    "crashing_thread_name": "CrashingThreadInfoRule: only when the dump names its threads "
                            "(ThreadNames stream)",
    "last_error_value": "CrashingThreadInfoRule: only Windows dumps with the thread's TEB",
    "possible_bit_flips_max_confidence": "PossibleBitFlipsRule: only when the walker finds "
                                         "a plausible bit flip of the crash address",
    "crash_inconsistencies": "CrashInconsistenciesRule: only when reason, address and "
                             "instruction disagree (test_generic_rules)",
    "has_guard_page_access": "HasGuardPageAccessRule: only an access to a guard page "
                             "(test_generic_rules)",
    "soft_errors": "SoftErrorsRule: only dumps with soft errors (the corpus's Linux dump)",
    "mac_boot_args": "MacBootArgsRule: only macOS dumps (test_generic_rules)",
    "has_mac_boot_args": "MacBootArgsRule: only macOS dumps (test_generic_rules)",
    "mac_crash_info": "MacCrashInfoRule: only macOS dumps (test_generic_rules)",
    "signature_moved_from": "SignatureMoveRule: only when a reprocessing changes the "
                            "signature (test_generic_rules)",
}

# Registry fields nothing produces yet (the reference computes them in rules we lack). They
# stay in the registry for the webapp; move one out of here when its rule lands.
NOT_PRODUCED: dict[str, str] = {
    "distribution_id": "DistributionIdRule (TelemetryEnvironment partner id)",
    "addons_checked": "AddonsRule",
    "moz_crash_reason": "MozCrashReasonRule (sanitised MozCrashReason)",
    "accessibility": "AccessibilityRule (Accessibility == 'Active')",
    **{f.name: "MemoryReportExtraction (memory report)" for f in FIELDS
       if f.source_path.startswith("memory_measures.")},
}

_LISTS = {"PRODUCED_BY_RULES": PRODUCED_BY_RULES, "CONDITIONAL": CONDITIONAL,
          "NOT_PRODUCED": NOT_PRODUCED}


def test_every_registry_field_has_exactly_one_kind_of_producer():
    for field in FIELDS:
        kinds = [name for name, listed in _LISTS.items() if field.name in listed]
        if field.annotations:
            kinds.append("annotations")
        assert len(kinds) == 1, f"{field.name}: {kinds or 'no producer'}"
    for name, listed in _LISTS.items():
        unknown = sorted(set(listed) - set(REGISTRY))
        assert not unknown, f"{name} lists fields the registry lacks: {unknown}"


def test_copy_table_covers_every_annotated_field():
    copied = {a.field: a.annotations for a in ANNOTATIONS}
    for field in FIELDS:
        if field.annotations:
            assert copied.get(field.source_path) == field.annotations, field.name


_VALID = {FieldType.STRING: "text", FieldType.ENUM: "value", FieldType.INTEGER: "7",
          FieldType.LONG: "123456", FieldType.FLOAT: "12.5", FieldType.BOOLEAN: "1"}


def every_annotation_raw_crash() -> dict:
    raw = {f.annotations[0]: _VALID[f.type] for f in FIELDS if f.annotations}
    raw.update(
        Version="120.0.1", BuildID="20250101120000", ProcessType="content",
        InstallTime="1700000000", StartupTime="1700000100", CrashTime="1700000200",
        JavaStackTrace="java.lang.NullPointerException: boom\n"
                       "\tat org.example.Foo.bar(Foo.java:12)\n",
        CPUMicrocodeVersion="0xf0", AbortMessage="an abort",
        submitted_timestamp="2025-09-18T10:00:00+00:00",
        metadata={"collector_notes": ["a collector note"]},
    )
    return raw


@pytest.fixture
def processed(tmp_path, stackwalk_binary) -> dict:
    symbols = tmp_path / "symbols"
    symbol_file(symbols)  # the main module has symbols with a source file...
    other = Module(name="c:\\app\\other.dll", base=0x10000000, debug_file="other.pdb")
    main = Module()
    # ... and the caller frame returns into other.dll, which has none.
    spec = MinidumpSpec(modules=[main, other], caller_offset=other.base - main.base + 0x20)
    dumps = {"upload_file_minidump": tmp_path / "main.dmp",
             "upload_file_minidump_browser": tmp_path / "browser.dmp"}
    dumps["upload_file_minidump"].write_bytes(build_minidump(spec))
    dumps["upload_file_minidump_browser"].write_bytes(build_minidump())
    work = tmp_path / "work"
    work.mkdir()

    walker = Stackwalker(stackwalk_binary, symbols_dirs=[symbols])
    pipeline = Pipeline(default_rulesets(walker, SignatureGeneratorRule()))
    crash = Crash(crash_id="de1bb258-cbbf-4589-a673-34f800160918",
                  raw_crash=every_annotation_raw_crash(), dumps=dumps, processed={},
                  tmpdir=work)
    try:
        return pipeline.run(crash)
    finally:
        pipeline.close()


def test_the_pipeline_fills_every_field_it_should(processed):
    assert processed["mdsw_status_string"] == "OK"
    assert "has an invalid value" not in processed["processor_notes"]
    assert "failed" not in processed["processor_notes"]
    document = search_document(processed["uuid"], processed)

    should_fill = [f.name for f in FIELDS if f.annotations] + list(PRODUCED_BY_RULES)
    empty = sorted(name for name in should_fill if name not in document)
    assert not empty, f"registry fields left empty in search: {empty}"
    bad = sorted(name for name in should_fill if document[name] == BAD_DATA)
    assert not bad, f"registry fields of the wrong type: {bad}"

    # The lists of absent fields stay honest: a field that starts appearing moves up.
    appearing = sorted(name for name in [*CONDITIONAL, *NOT_PRODUCED] if name in document)
    assert not appearing, f"now produced, move them to PRODUCED_BY_RULES: {appearing}"


def test_annotation_fields_hold_the_annotation_value(processed):
    raw = every_annotation_raw_crash()
    # No later rule rewrites a copied field with these values (ProcessTypeRule only
    # renames default/main), so each holds what was sent, typed by the registry.
    for field in FIELDS:
        if not field.annotations:
            continue
        value = processed[field.source_path]
        sent = raw[field.annotations[0]]
        if field.type is FieldType.BOOLEAN:
            assert value is True, field.name
        elif field.type in (FieldType.INTEGER, FieldType.LONG):
            assert value == int(sent), field.name
        elif field.type is FieldType.FLOAT:
            assert value == float(sent), field.name
        else:
            assert value == sent, field.name
