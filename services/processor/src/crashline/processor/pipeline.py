"""The rule pipeline: an ordered list of small rules, each a predicate and an action.

A rule that raises costs only its own fields: the pipeline adds a note naming it and goes on,
so one bad annotation never costs us the whole crash. The note format follows the reference
(``ruleset '<rs>' rule '<module.Class>' failed: <ExceptionClass>``; the message is left out
because it may quote crash data).
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EMPTY_SIGNATURE = "EMPTY: crash failed to process"


class UnknownRuleset(ValueError):
    """The message asked for a rule set that does not exist (a poison message)."""


@dataclass
class Crash:
    """Everything a rule may read or write while one crash is processed."""

    crash_id: str
    raw_crash: dict[str, Any]
    dumps: dict[str, Path]  # dump name → file in the scratch folder
    processed: dict[str, Any]
    tmpdir: Path
    ruleset: str = "default"
    notes: list[str] = field(default_factory=list)
    previous: dict[str, Any] = field(default_factory=dict)  # the last result, to read only
    reason: str = ""  # why it is processed again

    def note(self, message: str) -> None:
        self.notes.append(message)


class Rule:
    """Override :meth:`predicate` (default: always) and :meth:`action`."""

    @property
    def name(self) -> str:
        cls = type(self)
        return f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}"

    def predicate(self, crash: Crash) -> bool:
        return True

    def action(self, crash: Crash) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the rule holds (subprocess pools, clients); called at shutdown."""


RuleTimer = Callable[[str, str, float], None]  # (ruleset, rule name, seconds)


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class Pipeline:
    """Named rule sets; :meth:`run` applies one to a crash."""

    def __init__(self, rulesets: Mapping[str, Sequence[Rule]], *,
                 hostname: str | None = None, timer: RuleTimer | None = None):
        self.rulesets = {name: list(rules) for name, rules in rulesets.items()}
        self.hostname = hostname or socket.gethostname()
        self.timer = timer

    def check_ruleset(self, ruleset: str) -> None:
        if ruleset not in self.rulesets:
            known = ", ".join(sorted(self.rulesets))
            raise UnknownRuleset(f"no ruleset {ruleset!r} (known: {known})")

    def run(self, crash: Crash) -> dict[str, Any]:
        """Apply the crash's rule set to ``crash.processed`` (the earlier result, or ``{}``)."""
        self.check_ruleset(crash.ruleset)
        processed = crash.processed
        previous_notes = processed.get("processor_notes")
        previous_history = processed.get("processor_history") or []

        started = utc_now()
        processed["success"] = False
        processed["started_datetime"] = started
        processed.pop("completed_datetime", None)
        processed["signature"] = processed.get("signature") or EMPTY_SIGNATURE
        if crash.ruleset == "default":
            processed["signature"] = EMPTY_SIGNATURE
        crash.notes.insert(0, f">>> Start processing: {started} ({self.hostname})")
        if crash.reason:
            crash.notes.insert(1, f"reprocessed: {crash.reason}")

        for rule in self.rulesets[crash.ruleset]:
            begun = time.perf_counter()
            try:
                if rule.predicate(crash):
                    rule.action(crash)
            except Exception as exc:  # a broken rule costs its own fields, not the crash
                log.warning("rule %s failed", rule.name, exc_info=True)
                crash.note(f"ruleset {crash.ruleset!r} rule {rule.name!r} failed: "
                           f"{type(exc).__name__}")
            finally:
                if self.timer is not None:
                    self.timer(crash.ruleset, rule.name, time.perf_counter() - begun)

        history = list(previous_history) if isinstance(previous_history, list) else []
        if previous_notes:
            history.insert(0, previous_notes)
        processed["processor_history"] = history
        processed["processor_notes"] = "\n".join(crash.notes)
        processed["success"] = True
        processed["completed_datetime"] = utc_now()
        return processed

    def close(self) -> None:
        for rules in self.rulesets.values():
            for rule in rules:
                rule.close()
