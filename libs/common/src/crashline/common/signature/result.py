"""The outcome of signature generation, built up rule by rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SignatureResult:
    """``signature`` is what triagers see; ``proto_signature`` joins all normalised frames.

    ``notes`` are meant for people (they end up in the processed crash); ``extra`` holds debug
    information: ``normalized_frames``, ``proto_signature`` and ``debug_log``.
    """

    signature: str = ""
    proto_signature: str = ""
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def set_signature(self, rule: str, signature: str) -> None:
        if signature != self.signature:
            self.debug(rule, f"signature {self.signature!r} -> {signature!r}")
        self.signature = signature

    def note(self, rule: str, message: str) -> None:
        self.notes.append(f"{rule}: {message}")

    def debug(self, rule: str, message: str) -> None:
        self.extra.setdefault("debug_log", []).append(f"{rule}: {message}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "signature": self.signature,
            "proto_signature": self.proto_signature,
            "notes": list(self.notes),
            "extra": dict(self.extra),
        }
