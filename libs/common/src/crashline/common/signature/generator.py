"""The signature generator: lists loaded once, rules run in order, failures become notes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from .native import NativeSignatureTool
from .result import SignatureResult
from .rules import Rule, default_rules
from .siglists import load_lists

log = logging.getLogger(__name__)

ErrorHandler = Callable[[Mapping[str, Any], str, BaseException], None]


class SignatureGenerator:
    """Turns crash data into a :class:`SignatureResult`.

    ``lists_dir`` names a directory of signature lists (None: the lists shipped with Crashline);
    it is read and validated here, once, and a bad list raises
    :class:`~crashline.common.signature.siglists.SignatureListError`.
    ``error_handler(crash_data, rule_name, exc)`` is told about every rule that raises.
    """

    def __init__(
        self,
        lists_dir: Path | None = None,
        *,
        rules: list[Rule] | None = None,
        error_handler: ErrorHandler | None = None,
    ) -> None:
        self.lists = load_lists(lists_dir)
        self.native = NativeSignatureTool(self.lists)
        self.rules = rules if rules is not None else default_rules(self.native)
        self.error_handler = error_handler

    def generate(self, crash_data: Mapping[str, Any]) -> SignatureResult:
        result = SignatureResult()
        if not isinstance(crash_data, Mapping):
            result.note("SignatureGenerator", "crash data is not an object")
            crash_data = {}
        for rule in self.rules:
            try:
                if rule.predicate(crash_data, result):
                    rule.action(crash_data, result)
            except Exception as exc:  # one broken rule must not cost us the signature
                result.note(rule.name, f"Rule failed: {exc}")
                log.debug("signature rule %s failed", rule.name, exc_info=True)
                if self.error_handler is not None:
                    self.error_handler(crash_data, rule.name, exc)
        result.proto_signature = result.extra.get("proto_signature", "")
        return result


@lru_cache(maxsize=1)
def default_generator() -> SignatureGenerator:
    """The process-wide generator with the shipped lists."""
    return SignatureGenerator()


def generate_signature(crash_data: Mapping[str, Any]) -> SignatureResult:
    """Generate with the process-wide default generator (shipped lists)."""
    return default_generator().generate(crash_data)
