import pytest

from crashline.processor.pipeline import EMPTY_SIGNATURE, Pipeline, Rule, UnknownRuleset


class SetField(Rule):
    def __init__(self, key, value):
        self.key, self.value = key, value

    def action(self, crash):
        crash.processed[self.key] = self.value


class Explodes(Rule):
    def action(self, crash):
        raise ZeroDivisionError("secret crash data")


class Never(Rule):
    def predicate(self, crash):
        return False

    def action(self, crash):
        raise AssertionError("must not run")


def test_rule_failure_is_noted_and_later_rules_run(make_crash):
    timings = []
    pipeline = Pipeline({"default": [Explodes(), Never(), SetField("a", 1)]}, hostname="h",
                        timer=lambda rs, rule, s: timings.append(rule))
    processed = pipeline.run(make_crash())
    assert processed["a"] == 1
    assert processed["success"] is True
    notes = processed["processor_notes"].splitlines()
    assert notes[0].startswith(">>> Start processing: ") and notes[0].endswith(" (h)")
    assert notes[1] == "ruleset 'default' rule 'test_pipeline.Explodes' failed: ZeroDivisionError"
    assert "secret" not in processed["processor_notes"]
    assert timings == ["test_pipeline.Explodes", "test_pipeline.Never", "test_pipeline.SetField"]
    assert processed["started_datetime"] <= processed["completed_datetime"]


def test_previous_notes_become_history(make_crash):
    pipeline = Pipeline({"default": []})
    crash = make_crash(processed={"processor_notes": "old run", "processor_history": ["older"]})
    processed = pipeline.run(crash)
    assert processed["processor_history"] == ["old run", "older"]


def test_the_reason_for_a_reprocessing_stays_in_the_history(make_crash):
    pipeline = Pipeline({"default": []}, hostname="h")
    crash = make_crash(processed={"processor_notes": "first run"})
    crash.reason = "symbols arrived for app.pdb/ABC"
    processed = pipeline.run(crash)
    assert processed["processor_notes"].splitlines()[1] == \
        "reprocessed: symbols arrived for app.pdb/ABC"
    again = pipeline.run(make_crash(processed=processed))
    assert "reprocessed: symbols arrived for app.pdb/ABC" in again["processor_history"][0]


def test_default_starts_with_the_placeholder_signature(make_crash):
    processed = Pipeline({"default": []}).run(make_crash(processed={"signature": "old"}))
    assert processed["signature"] == EMPTY_SIGNATURE


def test_unknown_ruleset_raises(make_crash):
    crash = make_crash()
    crash.ruleset = "nope"
    with pytest.raises(UnknownRuleset):
        Pipeline({"default": []}).run(crash)
