"""Signature generation (the shared generator) and its one follow-up."""

from __future__ import annotations

from crashline.common.signature import SignatureGenerator, crash_data_from_processed_crash
from crashline.processor.pipeline import Crash, Rule


class SignatureGeneratorRule(Rule):
    def __init__(self, generator: SignatureGenerator | None = None):
        self.generator = generator or SignatureGenerator()

    def action(self, crash: Crash) -> None:
        result = self.generator.generate(crash_data_from_processed_crash(crash.processed))
        crash.processed["signature"] = result.signature
        crash.processed["proto_signature"] = result.proto_signature
        debug = result.extra.get("debug_log")
        if debug:
            crash.processed["signature_debug"] = "\n".join(debug)
        for note in result.notes:
            crash.note(f"SignatureGenerator: {note}")


class ShutdownHangCrashingThreadRule(Rule):
    """A shutdown hang's signature comes from thread 0 (the stuck main thread), so that is
    the thread to show as crashing, not the watchdog that killed the process."""

    def predicate(self, crash: Crash) -> bool:
        return str(crash.processed.get("signature", "")).startswith("shutdownhang")

    def action(self, crash: Crash) -> None:
        crash.processed["crashing_thread"] = 0
