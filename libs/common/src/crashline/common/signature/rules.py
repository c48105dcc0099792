"""The signature rules, in the reference's order. Each rule is a predicate and an action.

Rules read the crash data (see :mod:`.convert` for its fields) and rewrite ``result.signature``.
The generator runs them in :data:`default_rules` order; a rule that raises only adds a note.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from typing import Any

from .java import java_exception_signature, java_trace_signature
from .native import NativeSignatureTool
from .result import SignatureResult

CrashData = Mapping[str, Any]

MAX_SIGNATURE_LENGTH = 255
OOM_SMALL_LIMIT = 262144  # 256 KiB: small allocations failing means memory is exhausted
ABORT_MESSAGE_MAX = 80


def crashing_thread_index(crash_data: CrashData) -> int:
    """The crashing thread; unknown (None, missing, junk) counts as thread 0."""
    value = crash_data.get("crashing_thread")
    if isinstance(value, bool):
        return 0
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError, OverflowError):  # OverflowError: infinity
        return 0


def thread(crash_data: CrashData, index: int) -> Mapping[str, Any]:
    threads = crash_data.get("threads")
    if isinstance(threads, list) and 0 <= index < len(threads):
        found = threads[index]
        if isinstance(found, Mapping):
            return found
    return {}


class Rule:
    """Base class: runs always and changes nothing."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def predicate(self, crash_data: CrashData, result: SignatureResult) -> bool:
        return True

    def action(self, crash_data: CrashData, result: SignatureResult) -> None:
        raise NotImplementedError


class SignatureGenerationRule(Rule):
    """The base signature: Java trace, else Java exception, else the native frames."""

    def __init__(self, native: NativeSignatureTool) -> None:
        self.native = native

    def action(self, crash_data: CrashData, result: SignatureResult) -> None:
        if crash_data.get("java_stack_trace"):
            result.debug(self.name, "using the Java stack trace")
            signature, notes = java_trace_signature(crash_data["java_stack_trace"])
        elif crash_data.get("java_exception"):
            result.debug(self.name, "using the Java exception")
            signature, notes = java_exception_signature(crash_data["java_exception"])
        else:
            signature, notes = self.native_signature(crash_data, result)
        for note in notes:
            result.note(self.name, note)
        result.set_signature(self.name, signature)

    def native_signature(
        self, crash_data: CrashData, result: SignatureResult
    ) -> tuple[str, list[str]]:
        index = crashing_thread_index(crash_data)
        frames = thread(crash_data, index).get("frames")
        lowercase = crash_data.get("os") == "Windows NT"
        normalized = self.native.normalize_frames(frames, lowercase_modules=lowercase)
        walked = self.native.walk(normalized, index)
        for line in walked.debug:
            result.debug(self.name, line)
        if normalized:
            result.extra["normalized_frames"] = normalized
            result.extra["proto_signature"] = " | ".join(normalized)
        return walked.signature, walked.notes


class StackwalkerErrorSignatureRule(Rule):
    """``EMPTY…`` signatures say why: ``EMPTY: no frame data available; HeaderMismatch``."""

    def predicate(self, crash_data: CrashData, result: SignatureResult) -> bool:
        return result.signature.startswith("EMPTY") and bool(crash_data.get("mdsw_status_string"))

    def action(self, crash_data: CrashData, result: SignatureResult) -> None:
        status = crash_data["mdsw_status_string"]
        result.set_signature(self.name, f"{result.signature}; {status}")


class BadHardware(Rule):
    """Machine-check style errors are not our bug: ``bad hardware | <sig>``."""

    REASONS = ("STATUS_DEVICE_DATA_ERROR",)

    def predicate(self, crash_data: CrashData, result: SignatureResult) -> bool:
        reason = crash_data.get("reason")
        return isinstance(reason, str) and any(r in reason for r in self.REASONS)

    def action(self, crash_data: CrashData, result: SignatureResult) -> None:
        result.set_signature(self.name, f"bad hardware | {result.signature}")


class OOMSignature(Rule):
    """Out-of-memory crashes: ``OOM | small``, ``OOM | large | <sig>``, ``OOM | unknown | …``."""

    SIGNATURE_FRAGMENTS = (
        "NS_ABORT_OOM",
        "mozalloc_handle_oom",
        "CrashAtUnhandlableOOM",
        "AutoEnterOOMUnsafeRegion",
        "alloc::oom::oom",
    )
    REASONS = ("STATUS_FATAL_MEMORY_EXHAUSTION", "STATUS_NO_MEMORY")
    LAST_ERRORS = ("ERROR_COMMITMENT_LIMIT", "ERROR_NOT_ENOUGH_MEMORY")

    def predicate(self, crash_data: CrashData, result: SignatureResult) -> bool:
        if crash_data.get("oom_allocation_size") or self._large_js_failure(crash_data):
            return True
        if any(fragment in result.signature for fragment in self.SIGNATURE_FRAGMENTS):
            return True
        crashed = thread(crash_data, crashing_thread_index(crash_data))
        if crashed.get("last_error_value") in self.LAST_ERRORS:
            return True
        return crash_data.get("reason") in self.REASONS

    @staticmethod
    def _large_js_failure(crash_data: CrashData) -> bool:
        return crash_data.get("js_large_allocation_failure") == "Reporting"

    def action(self, crash_data: CrashData, result: SignatureResult) -> None:
        if self._large_js_failure(crash_data):
            result.set_signature(self.name, f"OOM | large | {result.signature}")
            return
        try:
            size = int(crash_data.get("oom_allocation_size"))  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            result.set_signature(self.name, f"OOM | unknown | {result.signature}")
            return
        if size <= OOM_SMALL_LIMIT:
            result.set_signature(self.name, "OOM | small")
        else:
            result.set_signature(self.name, f"OOM | large | {result.signature}")


def abort_message_text(message: str) -> str:
    """The stable part of an abort message: no pid prefix, no file and line, printable, short."""
    if "###!!! ABORT:" in message:
        message = message.split("###!!! ABORT:", 1)[1]
    message = message.split(": file ", 1)[0]
    if "unable to find a usable font" in message:
        # The parenthesised part is localised, so it would split one bug into many.
        start, end = message.find("("), message.rfind(")")
        if start != -1 and end != -1:
            message = message[:start] + message[end + 1 :]
    message = "".join(c for c in message if " " <= c <= "~").strip()
    if len(message) > ABORT_MESSAGE_MAX:
        message = message[: ABORT_MESSAGE_MAX - 3] + "..."
    return message


def scalar_text(value: Any) -> str:
    """An annotation that should be text, as text: annotations sent as JSON can be numbers.
    Anything else (objects, lists, booleans, nothing) is no text at all."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


class AbortSignature(Rule):
    """``Abort | <message> | <sig>`` (just ``Abort | <sig>`` when the message is only a file)."""

    def predicate(self, crash_data: CrashData, result: SignatureResult) -> bool:
        return bool(scalar_text(crash_data.get("abort_message")))

    def action(self, crash_data: CrashData, result: SignatureResult) -> None:
        message = scalar_text(crash_data["abort_message"])
        if "###!!! ABORT: file " in message:
            result.set_signature(self.name, f"Abort | {result.signature}")
            return
        text = abort_message_text(message)
        result.set_signature(self.name, f"Abort | {text} | {result.signature}")


class SignatureShutdownTimeout(Rule):
    """``AsyncShutdownTimeout | <phase> | <sorted blocker names>`` replaces the signature."""

    def predicate(self, crash_data: CrashData, result: SignatureResult) -> bool:
        return bool(crash_data.get("async_shutdown_timeout"))

    def action(self, crash_data: CrashData, result: SignatureResult) -> None:
        parts = ["AsyncShutdownTimeout"]
        try:
            data = json.loads(crash_data["async_shutdown_timeout"])
            phase = data.get("phase")
            parts.append(phase if isinstance(phase, str) else "(unknown)")
            # A condition is either a name or an object with a name.
            names = [c["name"] if isinstance(c, dict) else c for c in data.get("conditions") or []]
            parts.append(",".join(sorted(names)) if names else "(none)")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            parts.append("UNKNOWN")
            result.note(self.name, f"Error parsing AsyncShutdownTimeout: {exc}")
        was = result.signature
        result.note(self.name, f"Signature replaced with a Shutdown Timeout signature, was: {was}")
        result.set_signature(self.name, " | ".join(parts))


class SignatureRunWatchDog(Rule):
    """Shutdown hangs kill the process from a watchdog thread; thread 0 is what hung."""

    def __init__(self, generation: SignatureGenerationRule) -> None:
        self.generation = generation

    def predicate(self, crash_data: CrashData, result: SignatureResult) -> bool:
        return "RunWatchdog" in result.signature

    def action(self, crash_data: CrashData, result: SignatureResult) -> None:
        self.generation.action({**crash_data, "crashing_thread": 0}, result)
        result.set_signature(self.name, f"shutdownhang | {result.signature}")


class SignatureIPCChannelError(Rule):
    """``IPCError-browser | <error>`` or ``IPCError-content | <error>`` replaces the signature."""

    def predicate(self, crash_data: CrashData, result: SignatureResult) -> bool:
        return bool(crash_data.get("ipc_channel_error"))

    def action(self, crash_data: CrashData, result: SignatureResult) -> None:
        minidumps = crash_data.get("additional_minidumps")
        if not isinstance(minidumps, list | tuple | str):
            minidumps = ()
        side = "browser" if "upload_file_minidump_browser" in minidumps else "content"
        error = str(crash_data["ipc_channel_error"])[:100]
        result.note(self.name, "IPC Channel Error stomped on signature")
        result.set_signature(self.name, f"IPCError-{side} | {error}")


class SignatureIPCMessageName(Rule):
    """``<sig> | IPC_Message_Name=<name>``."""

    def predicate(self, crash_data: CrashData, result: SignatureResult) -> bool:
        return bool(crash_data.get("ipc_message_name"))

    def action(self, crash_data: CrashData, result: SignatureResult) -> None:
        name = crash_data["ipc_message_name"]
        result.set_signature(self.name, f"{result.signature} | IPC_Message_Name={name}")


class StackOverflowSignature(Rule):
    """``stackoverflow | <sig>``."""

    REASONS = ("EXCEPTION_STACK_OVERFLOW",)

    def predicate(self, crash_data: CrashData, result: SignatureResult) -> bool:
        return crash_data.get("reason") in self.REASONS

    def action(self, crash_data: CrashData, result: SignatureResult) -> None:
        result.set_signature(self.name, f"stackoverflow | {result.signature}")


class HungProcess(Rule):
    """``hang: <kind> | <sig>`` for reports of a hung process (``ui``, ``shutdown``)."""

    def predicate(self, crash_data: CrashData, result: SignatureResult) -> bool:
        return bool(crash_data.get("hang"))

    def action(self, crash_data: CrashData, result: SignatureResult) -> None:
        result.set_signature(self.name, f"hang: {crash_data['hang']} | {result.signature}")


_PRINTABLE = frozenset(string.printable)


class SigPrintableCharsOnly(Rule):
    """Drop everything but printable ASCII (whitespace stays, for the next rule to fix)."""

    def action(self, crash_data: CrashData, result: SignatureResult) -> None:
        if not result.signature.isascii() or not result.signature.isprintable():
            cleaned = "".join(c for c in result.signature if c in _PRINTABLE)
            result.set_signature(self.name, cleaned)


_WHITESPACE_RUN = re.compile(r"\s+")


class SigFixWhitespace(Rule):
    """Trim, turn any whitespace into spaces, and collapse runs of them."""

    def action(self, crash_data: CrashData, result: SignatureResult) -> None:
        fixed = _WHITESPACE_RUN.sub(" ", result.signature.strip())
        result.set_signature(self.name, fixed)


class SigTruncate(Rule):
    """At most 255 characters: the first 252 and ``...``."""

    def predicate(self, crash_data: CrashData, result: SignatureResult) -> bool:
        return len(result.signature) > MAX_SIGNATURE_LENGTH

    def action(self, crash_data: CrashData, result: SignatureResult) -> None:
        result.set_signature(self.name, result.signature[: MAX_SIGNATURE_LENGTH - 3] + "...")
        result.note(self.name, "signature truncated due to length")


def default_rules(native: NativeSignatureTool) -> list[Rule]:
    """The reference's rule order; the three clean-up rules must stay last and in this order."""
    generation = SignatureGenerationRule(native)
    return [
        generation,
        StackwalkerErrorSignatureRule(),
        BadHardware(),
        OOMSignature(),
        AbortSignature(),
        SignatureShutdownTimeout(),
        SignatureRunWatchDog(generation),
        SignatureIPCChannelError(),
        SignatureIPCMessageName(),
        StackOverflowSignature(),
        HungProcess(),
        SigPrintableCharsOnly(),
        SigFixWhitespace(),
        SigTruncate(),
    ]
