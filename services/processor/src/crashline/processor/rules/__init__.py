"""Processing rules, grouped by what they look at. :func:`default_rulesets` puts them in order.

The default ruleset holds generic rules only (any Breakpad/Crashpad product). A deployment
adds rules of its own by naming them in ``CRASHLINE_PROCESSOR_EXTRA_RULES``
(``package.module:RuleClass``, see :func:`load_rules`): they run after the generic rules,
before signature generation.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

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
    SignatureMoveRule,
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


def load_rules(paths: Sequence[str]) -> list[Rule]:
    """An instance of each ``package.module:RuleClass`` (a :class:`Rule` subclass taking no
    arguments); ValueError naming the one that cannot be loaded."""
    rules = []
    for path in paths:
        module_name, _, class_name = path.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ValueError(f"cannot load the rule {path!r}: {exc}") from exc
        if not (isinstance(cls, type) and issubclass(cls, Rule)):
            raise ValueError(f"{path!r} is not a processor Rule class")
        rules.append(cls())
    return rules


def default_rulesets(stackwalker: Stackwalker, signature_rule: SignatureGeneratorRule,
                     stackwalk_timer=None, extra_rules: Sequence[Rule] = ()
                     ) -> dict[str, list[Rule]]:
    """``default`` (the whole pipeline, with ``extra_rules`` before signature generation) and
    ``regenerate_signature`` (signature rules only)."""
    signature_rules: list[Rule] = [signature_rule, ShutdownHangCrashingThreadRule(),
                                   SignatureMoveRule()]
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
        *extra_rules,
        *signature_rules,
    ]
    return {"default": default, "regenerate_signature": signature_rules}
