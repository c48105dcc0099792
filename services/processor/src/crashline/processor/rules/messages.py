"""Messages the application left before it died, and what kind of report this is."""

from __future__ import annotations

from crashline.processor.pipeline import Crash, Rule
from crashline.processor.rules.stack import crashing_frames, expanded


class AbortMessageRule(Rule):
    """``abort_message`` (the text of a deliberate abort, which the signature includes).
    Stray NULs and surrounding whitespace are dropped; an empty message is no message."""

    def predicate(self, crash: Crash) -> bool:
        return isinstance(crash.raw_crash.get("AbortMessage"), str)

    def action(self, crash: Crash) -> None:
        message = crash.raw_crash["AbortMessage"].replace("\0", "").strip()
        if message:
            crash.processed["abort_message"] = message


class ReportTypeRule(Rule):
    """``hang`` when a watchdog killed the process (shutdown timeout, IPC channel error or a
    watchdog thread on the crashing stack), else ``crash``."""

    def action(self, crash: Crash) -> None:
        processed = crash.processed
        hang = bool(processed.get("async_shutdown_timeout") or processed.get("ipc_channel_error"))
        if not hang:
            hang = any("RunWatchdog" in str(frame.get("function") or "")
                       for frame in expanded(crashing_frames(processed)))
        processed["report_type"] = "hang" if hang else "crash"
