"""The throttler: ordered rules from a TOML file decide what happens to each crash.

A rule has a ``name``, conditions and a ``result``. Conditions are either written in the
rule itself (one condition) or listed under ``all`` (every one must hold); a rule with no
condition matches every crash. Rules are tried in order and the first decisive one wins;
a sampling result can say ``continue`` for one side, and then the next rules are tried.
If no rule decides, the crash is rejected by the rule ``no_match``.

Condition keys (exactly one operator each)::

    key = "ProductName"          annotation the condition looks at (required by operators)
    equals = "Firefox"           value equality          ignore_case = true   any operator
    one_of = ["a", "b"]          membership              negate = true        inverts it
    regex = "^5[2-9]\\."         re.search               default = "browser"  value if absent
    starts_with = "nightly"      prefix                  json_path = "a.b"    look inside a
    exists = true | false        present / absent                             JSON value
    missing = true               absent
    version = [">= 52", "< 60"]  version comparison(s), e.g. 60.0b3 < 60.0 < 60.0.1
    lt | le | gt | ge = 9600     numeric comparison
    build_id_older_than_days = 730   BuildID (YYYYMMDDhhmmss) older than N days
    build_id_before = 2017-12-26     BuildID built before that date
    always = true                matches (for rules about the whole crash)

As in the reference, a condition on an annotation the crash does not have does not match
(unless it gives a ``default``, or is ``missing``/``exists = false``); non-string values
are compared as ``str(value)``.

Results: ``"accept"`` (stored and queued), ``"defer"`` (stored, not queued), ``"reject"``,
``"fake_accept"`` (answered like an accept, nothing stored) or a sample::

    result = { percent = 10, sampled = "accept", otherwise = "reject" }

where ``sampled`` applies to ``percent`` % of the crashes and either side may be
``"continue"``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

__all__ = ["Decision", "Result", "Rule", "Throttler", "ThrottleConfigError", "load_rules"]


class ThrottleConfigError(ValueError):
    """The rules file is not valid; the message names the rule and the problem."""


class Result(Enum):
    ACCEPT = "accept"
    DEFER = "defer"
    REJECT = "reject"
    FAKE_ACCEPT = "fake_accept"
    CONTINUE = "continue"


@dataclass(frozen=True)
class Decision:
    result: Result
    rule: str
    percentage: float  # 100 for fixed results, the sample's percent for sampled ones


NO_MATCH = Decision(Result.REJECT, "no_match", 0)
_MISSING = object()
_RULE_NAME = re.compile(r"^[a-z0-9_]+$")


# -- values ---------------------------------------------------------------------------------
def _as_text(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


_VERSION_PART = re.compile(r"^(\d+)([a-z]*)(\d*)")
_VERSION_WIDTH = 8
_SUFFIX_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "pre": 1, "rc": 2}


def version_key(version: str) -> tuple | None:
    """A sortable key for versions like ``52.0``, ``60.0b3``, ``110.0a1``, ``115.3.1esr``:
    alpha < beta < rc < release for the same numbers; None if it does not look like one."""
    parts = []
    for piece in version.strip().lower().split("."):
        match = _VERSION_PART.match(piece)
        if not match:
            return None
        number, suffix, suffix_number = match.groups()
        rank = _SUFFIX_RANK.get(suffix, 3)  # no suffix, "esr" and unknown: a release
        parts.append((int(number), rank, int(suffix_number or 0)))
    # Missing components count as ".0": 60 == 60.0.0, and 60.0b3 < 60 (its ".0b3" < ".0").
    parts += [(0, 3, 0)] * (_VERSION_WIDTH - len(parts))
    return tuple(parts)


_COMPARATORS: dict[str, Callable[[object, object], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}
_VERSION_SPEC = re.compile(r"^\s*(<=|>=|==|!=|<|>)?\s*(\S+)\s*$")


def _build_date(value: str) -> dt.date | None:
    """The build date of a 14-digit BuildID (``YYYYMMDDhhmmss``), else None."""
    if len(value) != 14 or not value.isdigit() or not value.startswith("20"):
        return None
    try:
        return dt.datetime.strptime(value[:8], "%Y%m%d").date()
    except ValueError:
        return None


# -- conditions -----------------------------------------------------------------------------
_OPERATORS = ("equals", "one_of", "regex", "starts_with", "exists", "missing", "version",
              "lt", "le", "gt", "ge", "build_id_older_than_days", "build_id_before", "always")
_MODIFIERS = ("key", "default", "ignore_case", "negate", "json_path")


@dataclass(frozen=True)
class Condition:
    key: str | None
    test: Callable[[object, dt.datetime], bool]  # (value or _MISSING, now) -> bool
    description: str
    default: object = _MISSING
    json_path: tuple[str, ...] = ()
    negate: bool = False

    def holds(self, crash: Mapping, now: dt.datetime) -> bool:
        if self.key is None:
            value: object = crash
        else:
            value = crash.get(self.key, _MISSING)
            if value is not _MISSING and self.json_path:
                value = _descend(value, self.json_path)
            if value is _MISSING and self.default is not _MISSING:
                value = self.default
        result = self.test(value, now)
        return not result if self.negate else result


def _descend(value: object, path: tuple[str, ...]) -> object:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return _MISSING
    for step in path:
        if not isinstance(value, dict) or step not in value:
            return _MISSING
        value = value[step]
    return value


def _present(test: Callable[[object], bool]) -> Callable[[object, dt.datetime], bool]:
    """Wrap a test on a present value: an absent annotation never matches."""
    return lambda value, now: value is not _MISSING and test(value)


def _make_condition(spec: Mapping, where: str) -> Condition:
    unknown = set(spec) - set(_OPERATORS) - set(_MODIFIERS)
    if unknown:
        raise ThrottleConfigError(f"{where}: unknown condition keys {sorted(unknown)}")
    ops = [op for op in _OPERATORS if op in spec]
    if len(ops) != 1:
        raise ThrottleConfigError(f"{where}: a condition needs exactly one operator of "
                                  f"{list(_OPERATORS)}, got {ops}")
    op, arg = ops[0], spec[ops[0]]
    key = spec.get("key")
    if key == "*":
        key = None
    if key is None and op != "always":
        raise ThrottleConfigError(f"{where}: {op!r} needs a 'key' (an annotation name)")
    if key is not None and not isinstance(key, str):
        raise ThrottleConfigError(f"{where}: 'key' must be a string")
    fold = bool(spec.get("ignore_case", False))

    def norm(text: str) -> str:
        return text.casefold() if fold else text

    try:
        test = _operator(op, arg, norm, fold)
    except (TypeError, ValueError, re.error) as exc:
        raise ThrottleConfigError(f"{where}: bad {op!r} value {arg!r}: {exc}") from exc
    path = spec.get("json_path")
    return Condition(
        key=key,
        test=test,
        description=f"{key or '*'} {op} {arg!r}",
        default=spec.get("default", _MISSING),
        json_path=tuple(path.split(".")) if path else (),
        negate=bool(spec.get("negate", False)),
    )


def _operator(op: str, arg: object, norm, fold: bool) -> Callable[[object, dt.datetime], bool]:
    if op == "always":
        if arg is not True:
            raise ValueError("always must be true")
        return lambda value, now: True
    if op == "exists":
        if not isinstance(arg, bool):
            raise TypeError("exists must be true or false")
        return lambda value, now: (value is not _MISSING) == arg
    if op == "missing":
        if not isinstance(arg, bool):
            raise TypeError("missing must be true or false")
        return lambda value, now: (value is _MISSING) == arg
    if op == "equals":
        expected = norm(_as_text(arg))
        return _present(lambda v: norm(_as_text(v)) == expected)
    if op == "one_of":
        if not isinstance(arg, list):
            raise TypeError("one_of takes a list")
        choices = frozenset(norm(_as_text(a)) for a in arg)
        return _present(lambda v: norm(_as_text(v)) in choices)
    if op == "starts_with":
        prefix = norm(_as_text(arg))
        return _present(lambda v: norm(_as_text(v)).startswith(prefix))
    if op == "regex":
        pattern = re.compile(_as_text(arg), re.IGNORECASE if fold else 0)
        return _present(lambda v: pattern.search(_as_text(v)) is not None)
    if op in ("lt", "le", "gt", "ge"):
        limit = _as_number(arg)
        if limit is None:
            raise ValueError("needs a number")
        compare = _COMPARATORS[{"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]]

        def numeric(v: object) -> bool:
            number = _as_number(v)
            return number is not None and compare(number, limit)

        return _present(numeric)
    if op == "version":
        specs = [arg] if isinstance(arg, str) else arg
        if not isinstance(specs, list) or not specs:
            raise TypeError("version takes a string like '>= 52' or a list of them")
        checks = []
        for item in specs:
            match = _VERSION_SPEC.match(_as_text(item))
            bound = version_key(match.group(2)) if match else None
            if bound is None:
                raise ValueError(f"not a version constraint: {item!r}")
            checks.append((_COMPARATORS[match.group(1) or "=="], bound))

        def versioned(v: object) -> bool:
            key = version_key(_as_text(v))
            return key is not None and all(cmp(key, bound) for cmp, bound in checks)

        return _present(versioned)
    if op == "build_id_older_than_days":
        if isinstance(arg, bool) or not isinstance(arg, int) or arg < 0:
            raise ValueError("needs a whole number of days")
        days = dt.timedelta(days=arg)

        def older(value: object, now: dt.datetime) -> bool:
            if value is _MISSING:
                return False
            built = _build_date(_as_text(value))
            return built is not None and built < (now - days).date()

        return older
    if op == "build_id_before":
        if isinstance(arg, dt.datetime):
            arg = arg.date()
        if not isinstance(arg, dt.date):
            arg = dt.datetime.strptime(_as_text(arg).replace("-", ""), "%Y%m%d").date()
        cutoff = arg
        return _present(lambda v: (d := _build_date(_as_text(v))) is not None and d < cutoff)
    raise ValueError(f"unknown operator {op}")  # pragma: no cover - guarded by _OPERATORS


# -- rules ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    name: str
    conditions: tuple[Condition, ...]
    result: Result
    percent: float | None = None  # set for sampled results
    otherwise: Result | None = None

    def matches(self, crash: Mapping, now: dt.datetime) -> bool:
        return all(c.holds(crash, now) for c in self.conditions)

    def decide(self, draw: Callable[[], float]) -> Decision:
        if self.percent is None:
            return Decision(self.result, self.name, 100)
        result = self.result if draw() * 100 <= self.percent else self.otherwise
        return Decision(result, self.name, self.percent)


def _parse_result(value: object, where: str) -> tuple[Result, float | None, Result | None]:
    def one(v: object, allow_continue: bool) -> Result:
        try:
            result = Result(v)
        except ValueError:
            raise ThrottleConfigError(
                f"{where}: result {v!r} is not one of "
                f"{[r.value for r in Result]}") from None
        if result is Result.CONTINUE and not allow_continue:
            raise ThrottleConfigError(f"{where}: 'continue' only makes sense in a sample")
        return result

    if isinstance(value, str):
        return one(value, False), None, None
    if isinstance(value, Mapping):
        unknown = set(value) - {"percent", "sampled", "otherwise"}
        if unknown or not {"percent", "sampled", "otherwise"} <= set(value):
            raise ThrottleConfigError(
                f"{where}: a sampled result is {{percent, sampled, otherwise}}")
        percent = value["percent"]
        if isinstance(percent, bool) or not isinstance(percent, int | float) \
                or not 0 <= percent <= 100:
            raise ThrottleConfigError(f"{where}: percent must be between 0 and 100")
        return one(value["sampled"], True), float(percent), one(value["otherwise"], True)
    raise ThrottleConfigError(f"{where}: 'result' is missing or not a string or table")


def parse_rules(document: Mapping) -> list[Rule]:
    """Rules from a parsed TOML document (``[[rules]]`` tables)."""
    unknown = set(document) - {"rules"}
    if unknown:
        raise ThrottleConfigError(f"unknown top-level keys {sorted(unknown)}")
    tables = document.get("rules", [])
    if not isinstance(tables, list) or not tables:
        raise ThrottleConfigError("no [[rules]] in the file")
    rules = []
    for index, table in enumerate(tables, 1):
        name = table.get("name")
        where = f"rule #{index} ({name or 'unnamed'})"
        if not isinstance(name, str) or not _RULE_NAME.match(name):
            raise ThrottleConfigError(f"{where}: 'name' must match [a-z0-9_]+")
        result, percent, otherwise = _parse_result(table.get("result"), where)
        inline = {k: v for k, v in table.items() if k not in ("name", "result", "all")}
        if "all" in table and inline:
            raise ThrottleConfigError(f"{where}: use either 'all = [...]' or one inline "
                                      f"condition, not both ({sorted(inline)})")
        if "all" in table:
            specs = table["all"]
            if not isinstance(specs, list) or not all(isinstance(s, Mapping) for s in specs):
                raise ThrottleConfigError(f"{where}: 'all' must be a list of tables")
        else:
            specs = [inline] if inline else []
        conditions = tuple(_make_condition(s, f"{where} condition {i}")
                           for i, s in enumerate(specs, 1))
        rules.append(Rule(name, conditions, result, percent, otherwise))
    return rules


def load_rules(path: Path | str) -> list[Rule]:
    path = Path(path)
    try:
        with path.open("rb") as f:
            document = tomllib.load(f)
    except OSError as exc:
        raise ThrottleConfigError(f"cannot read throttle rules {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ThrottleConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return parse_rules(document)
    except ThrottleConfigError as exc:
        raise ThrottleConfigError(f"{path}: {exc}") from exc


class Throttler:
    def __init__(self, rules: list[Rule], *, draw: Callable[[], float] = random.random,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)):
        self.rules = list(rules)
        self.draw = draw
        self.clock = clock

    @classmethod
    def from_file(cls, path: Path | str, **kwargs) -> Throttler:
        return cls(load_rules(path), **kwargs)

    def throttle(self, crash: Mapping) -> Decision:
        now = self.clock()
        for rule in self.rules:
            if rule.matches(crash, now):
                decision = rule.decide(self.draw)
                if decision.result is not Result.CONTINUE:
                    return decision
        return NO_MATCH
