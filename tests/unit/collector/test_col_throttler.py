"""The throttler: every condition, results, sampling, the rule files we ship."""

from __future__ import annotations

import datetime as dt
import json
import tomllib

import pytest

from crashline.collector.settings import RULES_DIR
from crashline.collector.throttler import (
    Decision,
    Result,
    ThrottleConfigError,
    Throttler,
    load_rules,
    parse_rules,
    version_key,
)

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


def throttler(toml: str, draw=lambda: 0.5) -> Throttler:
    return Throttler(parse_rules(tomllib.loads(toml)), draw=draw, clock=lambda: NOW)


def matches(condition: str, crash: dict) -> bool:
    """Whether a one-condition rule matches ``crash``."""
    t = throttler(f'[[rules]]\nname = "r"\nresult = "accept"\n{condition}\n')
    return t.throttle(crash).rule == "r"


@pytest.mark.parametrize("condition, crash, expected", [
    # equals, with stringified values and optional case folding
    ('key = "P"\nequals = "Firefox"', {"P": "Firefox"}, True),
    ('key = "P"\nequals = "Firefox"', {"P": "firefox"}, False),
    ('key = "P"\nequals = "firefox"\nignore_case = true', {"P": "FireFox"}, True),
    ('key = "P"\nequals = "Firefox"', {}, False),  # absent key never matches
    ('key = "N"\nequals = "5"', {"N": 5}, True),
    ('key = "N"\nequals = "None"', {"N": None}, True),
    # one_of and its negation
    ('key = "P"\none_of = ["a", "b"]', {"P": "b"}, True),
    ('key = "P"\none_of = ["a", "b"]', {"P": "c"}, False),
    ('key = "P"\none_of = ["a", "b"]\nnegate = true', {"P": "c"}, True),
    ('key = "P"\none_of = ["a", "b"]\nnegate = true', {}, True),  # negate(absent -> False)
    ('key = "P"\none_of = ["a"]\nnegate = true\ndefault = "a"', {}, False),
    # regex (search)
    ('key = "V"\nregex = \'^5[2-9]\\.\'', {"V": "55.0.1"}, True),
    ('key = "V"\nregex = \'^5[2-9]\\.\'', {"V": "60.0"}, False),
    ('key = "V"\nregex = "esr"', {"V": "115.3.0esr"}, True),
    ('key = "V"\nregex = "ESR"\nignore_case = true', {"V": "115.3.0esr"}, True),
    # starts_with
    ('key = "C"\nstarts_with = "nightly"', {"C": "nightly-cck"}, True),
    ('key = "C"\nstarts_with = "nightly"', {"C": "beta"}, False),
    # exists / missing
    ('key = "Comments"\nexists = true', {"Comments": ""}, True),
    ('key = "Comments"\nexists = true', {}, False),
    ('key = "Comments"\nexists = false', {}, True),
    ('key = "Comments"\nmissing = true', {}, True),
    ('key = "Comments"\nmissing = true', {"Comments": "x"}, False),
    # default for an absent key
    ('key = "ProcessType"\ndefault = "browser"\nequals = "browser"', {}, True),
    ('key = "ProcessType"\ndefault = "browser"\nequals = "browser"',
     {"ProcessType": "content"}, False),
    # version comparisons
    ('key = "Version"\nversion = ">= 52"', {"Version": "52.0"}, True),
    ('key = "Version"\nversion = [">= 52", "< 60"]', {"Version": "59.0.3"}, True),
    ('key = "Version"\nversion = [">= 52", "< 60"]', {"Version": "60.0"}, False),
    ('key = "Version"\nversion = "< 60"', {"Version": "60.0b3"}, True),
    ('key = "Version"\nversion = "== 60"', {"Version": "60.0.0"}, True),
    ('key = "Version"\nversion = "!= 60"', {"Version": "60.0.1"}, True),
    ('key = "Version"\nversion = "> 9"', {"Version": "10.0"}, True),  # not string order
    ('key = "Version"\nversion = "> 9"', {"Version": "not a version"}, False),
    # numeric comparisons
    ('key = "B"\nle = 9600', {"B": "9600"}, True),
    ('key = "B"\nle = 9600', {"B": 9601}, False),
    ('key = "B"\nlt = 1.5', {"B": "1.25"}, True),
    ('key = "B"\ngt = 10', {"B": "11"}, True),
    ('key = "B"\nge = 10', {"B": "nan?"}, False),
    # build id age (730 days before 2026-06-15 is 2024-06-15)
    ('key = "BuildID"\nbuild_id_older_than_days = 730', {"BuildID": "20240614000000"}, True),
    ('key = "BuildID"\nbuild_id_older_than_days = 730', {"BuildID": "20240615000000"}, False),
    ('key = "BuildID"\nbuild_id_older_than_days = 730', {"BuildID": "2024061400000"}, False),
    ('key = "BuildID"\nbuild_id_older_than_days = 730', {"BuildID": "20241399000000"}, False),
    ('key = "BuildID"\nbuild_id_older_than_days = 730', {}, False),
    # build id before a date
    ('key = "BuildID"\nbuild_id_before = 2017-12-26', {"BuildID": "20171225235959"}, True),
    ('key = "BuildID"\nbuild_id_before = 2017-12-26', {"BuildID": "20171226000000"}, False),
    ('key = "BuildID"\nbuild_id_before = "20171226"', {"BuildID": "20171225000000"}, True),
    # JSON path into an annotation holding JSON
    ('key = "T"\njson_path = "system.os.name"\nequals = "Windows_NT"',
     {"T": json.dumps({"system": {"os": {"name": "Windows_NT"}}})}, True),
    ('key = "T"\njson_path = "system.os.name"\nequals = "Windows_NT"', {"T": "{bad"}, False),
    ('key = "T"\njson_path = "system.os.build"\nle = 9600',
     {"T": {"system": {"os": {"build": 9200}}}}, True),
    ('key = "T"\njson_path = "system.missing"\nexists = false', {"T": "{}"}, True),
    # whole crash
    ('key = "*"\nalways = true', {}, True),
    ("always = true", {"anything": "1"}, True),
])
def test_conditions(condition, crash, expected):
    assert matches(condition, crash) is expected


def test_rule_without_conditions_matches_everything():
    assert throttler('[[rules]]\nname = "all"\nresult = "defer"').throttle({}) == \
        Decision(Result.DEFER, "all", 100)


def test_all_conditions_must_hold():
    t = throttler('''
[[rules]]
name = "hang"
result = "reject"
[[rules.all]]
key = "HangID"
exists = true
[[rules.all]]
key = "ProcessType"
default = "browser"
equals = "browser"

[[rules]]
name = "rest"
result = "accept"
''')
    assert t.throttle({"HangID": "x"}).rule == "hang"
    assert t.throttle({"HangID": "x", "ProcessType": "browser"}).rule == "hang"
    assert t.throttle({"HangID": "x", "ProcessType": "content"}).rule == "rest"
    assert t.throttle({}).rule == "rest"


def test_first_decisive_rule_wins_and_no_match_rejects():
    t = throttler('''
[[rules]]
name = "one"
key = "A"
exists = true
result = "fake_accept"

[[rules]]
name = "two"
key = "A"
exists = true
result = "accept"
''')
    assert t.throttle({"A": "1"}) == Decision(Result.FAKE_ACCEPT, "one", 100)
    assert t.throttle({}) == Decision(Result.REJECT, "no_match", 0)


SAMPLED = '''
[[rules]]
name = "sample"
result = { percent = 10, sampled = "accept", otherwise = "reject" }
'''


@pytest.mark.parametrize("draw, result", [(0.0, Result.ACCEPT), (0.1, Result.ACCEPT),
                                          (0.1000001, Result.REJECT), (0.99, Result.REJECT)])
def test_sampling_sides(draw, result):
    assert throttler(SAMPLED, draw=lambda: draw).throttle({}) == Decision(result, "sample", 10)


def test_sampling_is_roughly_the_percentage():
    import random

    rng = random.Random(42)
    t = throttler(SAMPLED, draw=rng.random)
    accepted = sum(t.throttle({}).result is Result.ACCEPT for _ in range(10_000))
    assert 800 < accepted < 1200


def test_continue_goes_on_to_the_next_rule():
    toml = '''
[[rules]]
name = "kill"
result = { percent = 10, sampled = "continue", otherwise = "reject" }

[[rules]]
name = "then"
result = "accept"
'''
    assert throttler(toml, draw=lambda: 0.05).throttle({}) == Decision(Result.ACCEPT, "then", 100)
    assert throttler(toml, draw=lambda: 0.5).throttle({}) == Decision(Result.REJECT, "kill", 10)


@pytest.mark.parametrize("toml, message", [
    ("", "no \\[\\[rules\\]\\]"),
    ('other = 1\n[[rules]]\nname = "a"\nresult = "accept"', "unknown top-level"),
    ('[[rules]]\nname = "Bad Name"\nresult = "accept"', "must match"),
    ('[[rules]]\nname = "a"\nresult = "maybe"', "not one of"),
    ('[[rules]]\nname = "a"\nresult = "continue"', "only makes sense in a sample"),
    ('[[rules]]\nname = "a"', "'result' is missing"),
    ('[[rules]]\nname = "a"\nresult = { percent = 150, sampled = "accept", otherwise = "reject" }',
     "between 0 and 100"),
    ('[[rules]]\nname = "a"\nresult = { percent = 10, sampled = "accept" }', "sampled result"),
    ('[[rules]]\nname = "a"\nresult = "accept"\nkey = "X"\nequalz = "1"', "unknown condition"),
    ('[[rules]]\nname = "a"\nresult = "accept"\nkey = "X"', "exactly one operator"),
    ('[[rules]]\nname = "a"\nresult = "accept"\nkey = "X"\nequals = "1"\nexists = true',
     "exactly one operator"),
    ('[[rules]]\nname = "a"\nresult = "accept"\nequals = "1"', "needs a 'key'"),
    ('[[rules]]\nname = "a"\nresult = "accept"\nkey = "X"\nregex = "("', "bad 'regex'"),
    ('[[rules]]\nname = "a"\nresult = "accept"\nkey = "X"\nversion = "~ 5"', "bad 'version'"),
    ('[[rules]]\nname = "a"\nresult = "accept"\nkey = "X"\nle = "many"', "bad 'le'"),
    ('[[rules]]\nname = "a"\nresult = "accept"\nkey = "X"\none_of = "a"', "bad 'one_of'"),
    ('[[rules]]\nname = "a"\nresult = "accept"\nkey = "X"\nbuild_id_older_than_days = -1',
     "bad 'build_id_older_than_days'"),
    ('[[rules]]\nname = "a"\nresult = "accept"\nkey = "X"\nexists = true\nall = []',
     "either"),
])
def test_invalid_rule_files_are_refused_with_a_reason(toml, message):
    with pytest.raises(ThrottleConfigError, match=message):
        parse_rules(tomllib.loads(toml))


def test_load_rules_reports_the_path(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text("[[rules]\n")
    with pytest.raises(ThrottleConfigError, match="rules.toml: not valid TOML"):
        load_rules(path)
    with pytest.raises(ThrottleConfigError, match="cannot read"):
        load_rules(tmp_path / "absent.toml")


def test_version_key_ordering():
    ordered = ["52.0a1", "52.0b1", "52.0b10", "52.0rc1", "52.0", "52.0.1", "52.1", "60.0"]
    keys = [version_key(v) for v in ordered]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert version_key("115.3.1esr") == version_key("115.3.1")
    assert version_key("x.y") is None


# -- the files we ship ----------------------------------------------------------------------
def test_default_rules_accept_everything():
    t = Throttler.from_file(RULES_DIR / "default.toml")
    for crash in ({}, {"ProductName": "Anything"}, {"HangID": "x"}):
        assert t.throttle(crash) == Decision(Result.ACCEPT, "accept_everything", 100)


def reference(draw=0.5, now=NOW):
    return Throttler.from_file(RULES_DIR / "example_reference.toml", draw=lambda: draw,
                               clock=lambda: now)


def test_reference_infobar_rule():
    # Only reachable while such builds were younger than the old-build cut-off.
    early_2018 = dt.datetime(2018, 1, 15, tzinfo=dt.UTC)
    crash = {"ProductName": "Firefox", "SubmittedFromInfobar": "true", "Version": "55.0",
             "BuildID": "20171101000000"}
    assert reference(now=early_2018).throttle(crash).rule == "infobar_is_true"
    assert reference(now=early_2018).throttle({**crash, "Version": "60.0"}).rule != \
        "infobar_is_true"
    assert reference().throttle(crash).rule == "has_old_buildid"


TELEMETRY_81 = json.dumps({"system": {"os": {"name": "Windows_NT", "windowsBuildNumber": 9600}}})


@pytest.mark.parametrize("crash, draw, expected", [
    ({"ProductName": "Firefox", "BuildID": "20200101000000"}, 0.5, ("reject", "has_old_buildid")),
    ({"ProductName": "Firefox", "HangID": "h"}, 0.5, ("reject", "has_hangid_and_browser")),
    ({"ProductName": "Firefox", "HangID": "h", "ProcessType": "browser"}, 0.5,
     ("reject", "has_hangid_and_browser")),
    ({"ProductName": "Firefox", "HangID": "h", "ProcessType": "content"}, 0.5,
     ("accept", "accept_everything")),
    ({"ProductName": "B2G"}, 0.5, ("fake_accept", "b2g")),
    ({"ProductName": "Netscape"}, 0.5, ("reject", "unsupported_product")),
    ({"Version": "1"}, 0.5, ("reject", "unsupported_product")),
    ({"ProductName": "Fenix", "Android_PackageName": "com.evil"}, 0.5,
     ("reject", "unsupported_packagename")),
    ({"ProductName": "Fenix"}, 0.5, ("reject", "unsupported_packagename")),
    ({"ProductName": "Fenix", "Android_PackageName": "org.mozilla.fenix"}, 0.5,
     ("accept", "accept_everything")),
    ({"ProductName": "Focus", "Android_PackageName": "org.mozilla.klar"}, 0.5,
     ("accept", "accept_everything")),
    ({"ProductName": "ReferenceBrowser", "Android_PackageName": "x"}, 0.5,
     ("reject", "unsupported_packagename")),
    ({"ProductName": "Firefox", "ReleaseChannel": "release", "Throttleable": "0"}, 0.5,
     ("accept", "throttleable_0")),
    ({"ProductName": "Firefox", "ReleaseChannel": "release", "Comments": ""}, 0.5,
     ("accept", "has_comments")),
    ({"ProductName": "Firefox", "ReleaseChannel": "release", "PHCKind": "x"}, 0.5,
     ("accept", "has_phc")),
    ({"ProductName": "Firefox", "ReleaseChannel": "release", "ProcessType": "gpu"}, 0.5,
     ("accept", "is_background")),
    ({"ProductName": "Firefox", "ipc_channel_error": "ShutDownKill"}, 0.5,
     ("reject", "is_shutdownkill")),
    ({"ProductName": "Firefox", "ipc_channel_error": "ShutDownKill"}, 0.05,
     ("accept", "accept_everything")),
    ({"ProductName": "Firefox", "ReleaseChannel": "esr", "TelemetryEnvironment": TELEMETRY_81},
     0.5, ("reject", "is_firefox_esr_unsupported_windows")),
    ({"ProductName": "Firefox", "ReleaseChannel": "esr", "TelemetryEnvironment": TELEMETRY_81},
     0.2, ("accept", "is_alpha_beta_esr")),
    ({"ProductName": "Firefox", "ReleaseChannel": "beta"}, 0.5, ("accept", "is_alpha_beta_esr")),
    ({"ProductName": "Firefox", "ReleaseChannel": "nightly-try"}, 0.5, ("accept", "is_nightly")),
    ({"ProductName": "Firefox", "ReleaseChannel": "release"}, 0.5,
     ("reject", "is_firefox_desktop")),
    ({"ProductName": "Firefox", "ReleaseChannel": "release"}, 0.05,
     ("accept", "is_firefox_desktop")),
    ({"ProductName": "Thunderbird", "ReleaseChannel": "release"}, 0.5,
     ("accept", "accept_everything")),
])
def test_reference_rule_set(crash, draw, expected):
    decision = reference(draw).throttle(crash)
    assert (decision.result.value, decision.rule) == expected
