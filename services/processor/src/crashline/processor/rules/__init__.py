"""Processing rules, grouped by what they look at. :func:`default_rulesets` puts them in order.

The default ruleset holds generic rules only (any Breakpad/Crashpad product). A deployment
adds its own by building its processor with a ruleset of its own (see the README).
"""

from __future__ import annotations

from crashline.processor.pipeline import Rule
from crashline.processor.rules.annotations import (
    CollectorMetadataRule,
    CopyFromRawCrashRule,
    CrashReportKeysRule,
    DatesAndTimesRule,
    DeNoneRule,
    DeNullRule,
    MajorVersionRule,
    ProcessTypeRule,
)
from crashline.processor.rules.identity import IdentifierRule, MinidumpSha256HashRule
from crashline.processor.rules.java import JavaStackTraceRule
from crashline.processor.rules.messages import AbortMessageRule, ReportTypeRule
from crashline.processor.rules.platform import (
    AndroidCPUInfoRule,
    AndroidOSInfoRule,
    CPUInfoRule,
    OSInfoRule,
    OSPrettyVersionRule,
    PlatformInfoRule,
)
from crashline.processor.rules.signature import (
    ShutdownHangCrashingThreadRule,
    SignatureGeneratorRule,
)
from crashline.processor.rules.stack import (
    CrashInconsistenciesRule,
    CrashingThreadInfoRule,
    HasGuardPageAccessRule,
    MissingSymbolsRule,
    ModulesInStackRule,
    PossibleBitFlipsRule,
    ThreadCountRule,
    TopMostFilesRule,
    TruncateStacksRule,
)
from crashline.processor.rules.stackwalk import MinidumpStackwalkRule
from crashline.processor.rules.streams import MacBootArgsRule, MacCrashInfoRule, SoftErrorsRule
from crashline.processor.stackwalker import Stackwalker


def default_rulesets(stackwalker: Stackwalker, signature_rule: SignatureGeneratorRule,
                     stackwalk_timer=None) -> dict[str, list[Rule]]:
    """``default`` (the whole pipeline) and ``regenerate_signature`` (signature rules only)."""
    signature_rules: list[Rule] = [signature_rule, ShutdownHangCrashingThreadRule()]
    default: list[Rule] = [
        DeNullRule(),
        DeNoneRule(),
        CrashReportKeysRule(),
        CollectorMetadataRule(),
        CopyFromRawCrashRule(),
        IdentifierRule(),
        MinidumpSha256HashRule(),
        MinidumpStackwalkRule(stackwalker, timer=stackwalk_timer),
        CrashingThreadInfoRule(),
        TruncateStacksRule(),
        PossibleBitFlipsRule(),
        CrashInconsistenciesRule(),
        HasGuardPageAccessRule(),
        MajorVersionRule(),
        ProcessTypeRule(),
        DatesAndTimesRule(),
        JavaStackTraceRule(),
        AbortMessageRule(),
        ReportTypeRule(),
        MacBootArgsRule(),
        MacCrashInfoRule(),
        CPUInfoRule(),
        AndroidCPUInfoRule(),
        OSInfoRule(),
        AndroidOSInfoRule(),
        PlatformInfoRule(),
        OSPrettyVersionRule(),
        TopMostFilesRule(),
        ModulesInStackRule(),
        MissingSymbolsRule(),
        SoftErrorsRule(),
        ThreadCountRule(),
        *signature_rules,
    ]
    return {"default": default, "regenerate_signature": signature_rules}
