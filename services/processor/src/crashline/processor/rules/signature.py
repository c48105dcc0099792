"""Signature generation (the shared generator) and its follow-ups."""

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


class SignatureMoveRule(Rule):
    """``signature_moved_from``: the signature a crash had before a reprocessing changed it
    (symbols that arrived late, new signature lists), kept until it changes again, so a
    signature report can say where its crashes came from and where they went."""

    def action(self, crash: Crash) -> None:
        old = crash.previous.get("signature")
        new = crash.processed.get("signature")
        crash.processed.pop("signature_moved_from", None)
        if isinstance(old, str) and old and old != new:
            crash.processed["signature_moved_from"] = old
            crash.note(f"signature changed from {old!r} to {new!r}")
        elif old == new and crash.previous.get("signature_moved_from"):
            crash.processed["signature_moved_from"] = crash.previous["signature_moved_from"]
