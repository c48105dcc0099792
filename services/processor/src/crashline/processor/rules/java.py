"""Java stack traces (Android apps): a sanitised public copy and the protected raw text."""

from __future__ import annotations

from crashline.common.signature.java import sanitize_java_stack_trace
from crashline.processor.pipeline import Crash, Rule

MALFORMED = "malformed"


class JavaStackTraceRule(Rule):
    """``java_stack_trace_raw`` keeps the trace as sent (its exception message may hold
    personal data, hence protected); ``java_stack_trace`` keeps the exception class and the
    frames only, or says ``malformed`` when the text is not a Java trace."""

    def predicate(self, crash: Crash) -> bool:
        return isinstance(crash.raw_crash.get("JavaStackTrace"), str)

    def action(self, crash: Crash) -> None:
        raw = crash.raw_crash["JavaStackTrace"]
        crash.processed["java_stack_trace_raw"] = raw
        sanitized = sanitize_java_stack_trace(raw)
        lines = sanitized.splitlines()
        if len(lines) < 2 or not lines[0] or " " in lines[0]:
            crash.processed["java_stack_trace"] = MALFORMED
            crash.note("JavaStackTrace is not in the expected format")
        else:
            crash.processed["java_stack_trace"] = sanitized
