"""Rules over the stack-walker output (``json_dump``): crashing thread, reason and address,
stack truncation, and the module and file summaries people search on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crashline.common.symbols import module_symbol
from crashline.processor.pipeline import Crash, Rule

MAX_FRAMES = 500
KEEP_TOP = 250
KEEP_BOTTOM = MAX_FRAMES - KEEP_TOP - 1  # one slot for the marker


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def crashing_thread_index(json_dump: dict) -> int | None:
    index = _dict(json_dump.get("crash_info")).get("crashing_thread")
    return index if isinstance(index, int) and not isinstance(index, bool) else None


def crashing_frames(processed: dict) -> list[dict]:
    """Frames of the crashing thread (the processor's ``crashing_thread``, which a later rule
    may move to thread 0), or none."""
    json_dump = _dict(processed.get("json_dump"))
    index = processed.get("crashing_thread")
    if not isinstance(index, int):
        index = crashing_thread_index(json_dump)
    threads = _list(json_dump.get("threads"))
    if index is None or not 0 <= index < len(threads):
        return []
    return [f for f in _list(_dict(threads[index]).get("frames")) if isinstance(f, dict)]


def expanded(frames: list[dict]) -> Iterator[dict]:
    """Each frame's inlined functions (innermost first) and then the frame itself."""
    for frame in frames:
        yield from (i for i in _list(frame.get("inlines")) if isinstance(i, dict))
        yield frame


def adjusted_address(crash_info: dict) -> str | None:
    """The address people should see: a null-pointer dereference at an offset is shown as
    address zero (same width), a non-canonical address as the address the CPU really used."""
    address = crash_info.get("address")
    adjusted = _dict(crash_info.get("adjusted_address"))
    kind = adjusted.get("kind")
    if kind == "null-pointer" and isinstance(address, str) and address.startswith("0x"):
        return "0x" + "0" * (len(address) - 2)
    if kind == "non-canonical" and isinstance(adjusted.get("address"), str):
        return adjusted["address"]
    return address if isinstance(address, str) else None


class CrashingThreadInfoRule(Rule):
    def predicate(self, crash: Crash) -> bool:
        return bool(crash.processed.get("json_dump"))

    def action(self, crash: Crash) -> None:
        processed = crash.processed
        json_dump = processed["json_dump"]
        crash_info = _dict(json_dump.get("crash_info"))
        index = crashing_thread_index(json_dump)
        processed["crashing_thread"] = index
        threads = _list(json_dump.get("threads"))
        if index is not None and 0 <= index < len(threads):
            thread = _dict(threads[index])
            processed["crashing_thread_name"] = thread.get("thread_name")
            if thread.get("last_error_value"):
                processed["last_error_value"] = thread["last_error_value"]
        processed["reason"] = crash_info.get("type") or ""
        processed["address"] = adjusted_address(crash_info)


def _truncate(frames: list) -> list:
    # The reference counts frames beyond the limit (the marker takes one more slot).
    dropped = len(frames) - MAX_FRAMES
    marker = {"truncated": {"msg": f"{dropped} frames truncated"}}
    return [*frames[:KEEP_TOP], marker, *frames[-KEEP_BOTTOM:]]


class TruncateStacksRule(Rule):
    """Runaway recursion yields stacks of thousands of frames; keep both ends."""

    def predicate(self, crash: Crash) -> bool:
        return bool(crash.processed.get("json_dump"))

    def action(self, crash: Crash) -> None:
        json_dump = crash.processed["json_dump"]
        threads = [t for t in _list(json_dump.get("threads")) if isinstance(t, dict)]
        crashing = _dict(json_dump.get("crashing_thread"))
        for number, thread in enumerate(threads):
            frames = _list(thread.get("frames"))
            if len(frames) > MAX_FRAMES:
                thread["frames"] = _truncate(frames)
                crash.processed["truncated"] = True
                crash.note(f"thread {number}: {len(frames) - MAX_FRAMES} frames truncated")
        if len(_list(crashing.get("frames"))) > MAX_FRAMES:
            crashing["frames"] = _truncate(crashing["frames"])
            crash.processed["truncated"] = True


class TopMostFilesRule(Rule):
    """The source file of the top-most crashing frame that has one."""

    def action(self, crash: Crash) -> None:
        for frame in expanded(crashing_frames(crash.processed)):
            if isinstance(frame.get("file"), str) and frame["file"]:
                crash.processed["topmost_filenames"] = frame["file"]
                return


def _modules_by_filename(json_dump: dict) -> dict[str, dict]:
    modules = (m for m in _list(json_dump.get("modules")) if isinstance(m, dict))
    return {m["filename"]: m for m in modules if isinstance(m.get("filename"), str)}


class ModulesInStackRule(Rule):
    """``debug_file/debug_id`` of each module in the crashing stack (finds crashes in a given
    build of a library)."""

    def action(self, crash: Crash) -> None:
        modules = _modules_by_filename(_dict(crash.processed.get("json_dump")))
        seen: list[str] = []
        for frame in crashing_frames(crash.processed):
            module = modules.get(frame.get("module"))
            if module is None:
                continue
            entry = f"{module.get('debug_file') or ''}/{module.get('debug_id') or ''}"
            if entry not in seen:
                seen.append(entry)
        if seen:
            crash.processed["modules_in_stack"] = ";".join(seen)


class MissingSymbolsRule(Rule):
    """``debug_file/version/debug_id[/code_id]`` of each module without symbols (what to
    upload to make these crashes readable), and ``missing_symbol_files``: each of those
    symbol files as the stack walker looks it up (``debug_file/debug_id``), which the
    missing-symbols report counts and the reprocessing of late symbols looks for."""

    def action(self, crash: Crash) -> None:
        missing = []
        files = []
        for module in _list(_dict(crash.processed.get("json_dump")).get("modules")):
            if not isinstance(module, dict) or not module.get("missing_symbols"):
                continue
            parts = [module.get("debug_file") or "", module.get("version") or "",
                     module.get("debug_id") or ""]
            if module.get("code_id"):
                parts.append(module["code_id"])
            missing.append("/".join(parts))
            symbol = module_symbol(module.get("debug_file"), module.get("debug_id"),
                                   module.get("filename"))
            if symbol and symbol.module not in files:
                files.append(symbol.module)
        if missing:
            crash.processed["missing_symbols"] = ";".join(missing)
        if files:
            crash.processed["missing_symbol_files"] = files


class ThreadCountRule(Rule):
    def predicate(self, crash: Crash) -> bool:
        return bool(crash.processed.get("json_dump"))

    def action(self, crash: Crash) -> None:
        json_dump = crash.processed["json_dump"]
        count = json_dump.get("thread_count")
        if not isinstance(count, int):
            count = len(_list(json_dump.get("threads")))
        crash.processed["thread_count"] = count


class PossibleBitFlipsRule(Rule):
    """``possible_bit_flips_max_confidence`` (0-100): how likely the crash address is a
    flipped bit of a valid one (bad hardware rather than a bug)."""

    def action(self, crash: Crash) -> None:
        crash_info = _dict(_dict(crash.processed.get("json_dump")).get("crash_info"))
        flips = _list(crash_info.get("possible_bit_flips"))
        confidences = [flip.get("confidence") for flip in flips if isinstance(flip, dict)]
        values = [c for c in confidences if isinstance(c, int | float)]
        if values:
            crash.processed["possible_bit_flips_max_confidence"] = int(max(values) * 100)


def _crash_info(crash: Crash) -> dict:
    return _dict(_dict(crash.processed.get("json_dump")).get("crash_info"))


class CrashInconsistenciesRule(Rule):
    """``crash_inconsistencies``: where the crash reason, the address and the crashing
    instruction disagree (the walker checks; a sign of a corrupt dump or bad hardware)."""

    def action(self, crash: Crash) -> None:
        found = [item for item in _list(_crash_info(crash).get("crash_inconsistencies"))
                 if isinstance(item, str) and item]
        if found:
            crash.processed["crash_inconsistencies"] = found


class HasGuardPageAccessRule(Rule):
    """``has_guard_page_access``: some memory access of the crashing instruction hit a
    likely guard page (a buffer overflow). Set only when true."""

    def action(self, crash: Crash) -> None:
        accesses = _list(_crash_info(crash).get("memory_accesses"))
        if any(isinstance(a, dict) and a.get("is_likely_guard_page") is True
               for a in accesses):
            crash.processed["has_guard_page_access"] = True
