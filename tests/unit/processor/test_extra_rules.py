"""A deployment's own rules, named in CRASHLINE_PROCESSOR_EXTRA_RULES, run in the default
ruleset after the generic rules and before signature generation."""

from __future__ import annotations

import pytest

from crashline.processor.pipeline import Crash, Rule
from crashline.processor.rules import default_rulesets, load_rules
from crashline.processor.rules.signature import SignatureGeneratorRule
from crashline.processor.settings import ProcessorSettings
from crashline.processor.stackwalker import Stackwalker


class TeamFlavorRule(Rule):
    """What a deployment writes: a field from its own annotation."""

    def predicate(self, crash: Crash) -> bool:
        return "TeamFlavor" in crash.raw_crash

    def action(self, crash: Crash) -> None:
        crash.processed["team_flavor"] = crash.raw_crash["TeamFlavor"]


def test_rules_named_in_the_settings_join_the_default_ruleset(monkeypatch):
    monkeypatch.setenv("CRASHLINE_PROCESSOR_EXTRA_RULES", f"{__name__}:TeamFlavorRule")
    extra = load_rules(ProcessorSettings().processor_extra_rules)
    rules = default_rulesets(Stackwalker("minidump-stackwalk"), SignatureGeneratorRule(),
                             extra_rules=extra)["default"]
    names = [type(rule).__name__ for rule in rules]
    assert names.index("TeamFlavorRule") == names.index("SignatureGeneratorRule") - 1
    assert names.index("TeamFlavorRule") > names.index("OSPrettyVersionRule")


@pytest.mark.parametrize("path, message", [
    ("no_such_module:Rule", "cannot load"),
    (f"{__name__}:NoSuchRule", "cannot load"),
    (f"{__name__}:pytest", "not a processor Rule"),
    ("no colon", "cannot load"),
])
def test_a_bad_name_is_refused_with_a_reason(path, message):
    with pytest.raises(ValueError, match=message):
        load_rules([path])
