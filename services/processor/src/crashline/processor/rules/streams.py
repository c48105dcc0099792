"""Side streams of the minidump that the stack walker reports: the crash reporter's own
errors, and macOS's crash info records and boot arguments."""

from __future__ import annotations

import json

from crashline.processor.pipeline import Crash, Rule

MAX_SOFT_ERRORS_CHARS = 4096


def _json_dump(crash: Crash) -> dict:
    json_dump = crash.processed.get("json_dump")
    return json_dump if isinstance(json_dump, dict) else {}


class SoftErrorsRule(Rule):
    """``soft_errors``: what went wrong while the crash reporter wrote the dump, as JSON of
    at most 4 KiB (whole errors are dropped from the end to fit, so it stays JSON)."""

    def predicate(self, crash: Crash) -> bool:
        return bool(_json_dump(crash).get("soft_errors"))

    def action(self, crash: Crash) -> None:
        errors = _json_dump(crash)["soft_errors"]
        errors = errors if isinstance(errors, list) else [errors]
        text = json.dumps(errors)
        kept = len(errors)
        while len(text) > MAX_SOFT_ERRORS_CHARS and kept > 0:
            kept -= 1
            text = json.dumps(errors[:kept])
        if kept < len(errors):
            crash.note(f"soft_errors: kept {kept} of {len(errors)} to fit "
                       f"{MAX_SOFT_ERRORS_CHARS} characters")
        crash.processed["soft_errors"] = text


class MacCrashInfoRule(Rule):
    """``mac_crash_info``: macOS's ``__crash_info`` records (abort messages of system
    libraries), as JSON with sorted keys so reprocessing gives the same text."""

    def action(self, crash: Crash) -> None:
        crash.processed.pop("mac_crash_info", None)
        info = _json_dump(crash).get("mac_crash_info")
        records = info.get("num_records") if isinstance(info, dict) else None
        if isinstance(records, int) and records > 0:
            crash.processed["mac_crash_info"] = json.dumps(info, sort_keys=True)


class MacBootArgsRule(Rule):
    """``mac_boot_args`` (protected: they can identify a machine) and the public
    ``has_mac_boot_args``, when the dump has non-empty boot arguments."""

    def predicate(self, crash: Crash) -> bool:
        return bool(_json_dump(crash).get("mac_boot_args"))

    def action(self, crash: Crash) -> None:
        value = _json_dump(crash)["mac_boot_args"]
        if not isinstance(value, str):
            crash.note(f"mac_boot_args is a {type(value).__name__}, not text")
            return
        if value.strip():
            crash.processed["mac_boot_args"] = value.strip()
            crash.processed["has_mac_boot_args"] = True
