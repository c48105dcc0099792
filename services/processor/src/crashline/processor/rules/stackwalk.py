"""Stack walking: every minidump of the crash through ``minidump-stackwalk``."""

from __future__ import annotations

from collections.abc import Callable

from crashline.common.storage.keys import MAIN_DUMP
from crashline.processor.pipeline import Crash, Rule
from crashline.processor.stackwalker import Stackwalker, StackwalkResult


def _fields(result: StackwalkResult, version: str) -> dict:
    return {
        "json_dump": result.json_dump,
        "mdsw_return_code": result.return_code,
        "mdsw_status_string": result.status,
        "mdsw_stderr": result.stderr,
        "stackwalk_version": version,
    }


class MinidumpStackwalkRule(Rule):
    """The main dump fills ``json_dump`` and the ``mdsw_*`` fields; each additional dump
    (``upload_file_minidump_<process>``) gets the same keys under its own name and is listed
    in ``additional_minidumps``."""

    def __init__(self, stackwalker: Stackwalker,
                 timer: Callable[[float, str], None] | None = None):
        self.stackwalker = stackwalker
        self.timer = timer  # (seconds, status) of every walk, for metrics

    def predicate(self, crash: Crash) -> bool:
        return any(name.startswith(MAIN_DUMP) for name in crash.dumps)

    def action(self, crash: Crash) -> None:
        version = self.stackwalker.version()
        # Annotations go to the walker as --evil-json (certificate info, microcode version).
        annotations = crash.raw_crash
        additional = []
        for name in sorted(crash.dumps):
            if not name.startswith(MAIN_DUMP):
                continue
            result = self.stackwalker.walk(crash.dumps[name], annotations, crash.tmpdir, name)
            if self.timer is not None and result.return_code is not None:
                self.timer(result.seconds, result.status)
            for note in result.notes:
                crash.note(note)
            if name == MAIN_DUMP:
                crash.processed.update(_fields(result, version))
            else:
                crash.processed[name] = _fields(result, version)
                additional.append(name)
        crash.processed["additional_minidumps"] = additional
