"""Rules over the raw crash: clean-up, and annotations copied into typed processed fields."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crashline.common.crashid import date_from_crash_id
from crashline.common.fields import FIELDS, FieldType
from crashline.common.timestamps import submitted_at
from crashline.processor.pipeline import Crash, Rule


class DeNullRule(Rule):
    """NUL characters in keys or values break JSON consumers and PostgreSQL text."""

    def action(self, crash: Crash) -> None:
        cleaned = {}
        for key, value in crash.raw_crash.items():
            if isinstance(value, str):
                value = value.replace("\0", "")
            cleaned[key.replace("\0", "")] = value
        crash.raw_crash.clear()
        crash.raw_crash.update(cleaned)


class DeNoneRule(Rule):
    def action(self, crash: Crash) -> None:
        for key in [k for k, v in crash.raw_crash.items() if v is None]:
            del crash.raw_crash[key]


_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


class CrashReportKeysRule(Rule):
    """``crash_report_keys``: which annotations and dumps the report had (for searching by
    key); names that do not look like keys are left out and noted."""

    def action(self, crash: Crash) -> None:
        keys = set(crash.raw_crash) | set(crash.dumps)
        valid = sorted(k for k in keys if _KEY_RE.match(k))
        if len(valid) != len(keys):
            crash.note("invalidkeys: some annotation or dump names were left out")
        crash.processed["crash_report_keys"] = valid


class CollectorMetadataRule(Rule):
    def predicate(self, crash: Crash) -> bool:
        return isinstance(crash.raw_crash.get("metadata"), dict)

    def action(self, crash: Crash) -> None:
        crash.processed["collector_metadata"] = dict(crash.raw_crash["metadata"])


# -- typed copies of annotations ---------------------------------------------------------

class BadValue(ValueError):
    pass


def to_str(value: Any) -> str:
    if not isinstance(value, str):
        raise BadValue("not a string")
    return value.rstrip()


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise BadValue("not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise BadValue("not an integer")


def to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise BadValue("not a number")
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise BadValue("not a number") from exc


_TRUE, _FALSE = {"1", "true", "yes"}, {"0", "false", "no", ""}


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise BadValue("not a boolean")


def to_object(value: Any) -> Any:
    if isinstance(value, dict | list):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise BadValue("not JSON") from exc
        if isinstance(parsed, dict | list):
            return parsed
    raise BadValue("not a JSON object or list")


Coerce = Callable[[Any], Any]

_BY_FIELD_TYPE: dict[FieldType, Coerce] = {
    FieldType.STRING: to_str,
    FieldType.ENUM: to_str,
    FieldType.INTEGER: to_int,
    FieldType.LONG: to_int,
    FieldType.FLOAT: to_float,
    FieldType.BOOLEAN: to_bool,
    FieldType.DATE: to_str,
}


@dataclass(frozen=True)
class Annotation:
    """Where a processed field comes from: the first of ``annotations`` present in the raw
    crash. Searchable fields take their type from the field registry (so the value always
    fits the index mapping); ``coerce`` is for fields the registry does not index."""

    field: str
    annotations: tuple[str, ...]
    coerce: Coerce | None = None


def registry_annotations() -> tuple[Annotation, ...]:
    """Copies the field registry asks for: each searchable field filled straight from an
    annotation (``FieldDef.annotations``, Breakpad/Mozilla name first, then Crashpad's)."""
    return tuple(Annotation(f.source_path, f.annotations) for f in FIELDS if f.annotations)


# Annotations the processor keeps but search does not index (the signature generator and
# the dates rule read them): not in the registry, so typed here.
PROCESSOR_ANNOTATIONS: tuple[Annotation, ...] = (
    Annotation("js_large_allocation_failure", ("JSLargeAllocationFailure",), to_str),
    Annotation("java_exception", ("JavaException",), to_object),
    Annotation("distributor", ("Distributor",), to_str),
)


def check_table(annotations: tuple[Annotation, ...]) -> None:
    """Each field is filled by one entry and each annotation fills one field: a second copy
    would silently overwrite the first."""
    fields = [a.field for a in annotations]
    names = [n for a in annotations for n in a.annotations]
    for kind, values in (("field", fields), ("annotation", names)):
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise ValueError(f"copied more than once ({kind}): {', '.join(twice)}")


ANNOTATIONS: tuple[Annotation, ...] = registry_annotations() + PROCESSOR_ANNOTATIONS
check_table(ANNOTATIONS)


def _registry_types() -> dict[str, FieldType]:
    """Processed-field path → registry type, for the fields the registry indexes."""
    return {f.source_path: f.type for f in FIELDS}


def coercer(annotation: Annotation, registry: dict[str, FieldType] | None = None) -> Coerce:
    registry = _registry_types() if registry is None else registry
    if annotation.field in registry:
        return _BY_FIELD_TYPE[registry[annotation.field]]
    if annotation.coerce is None:
        raise LookupError(f"{annotation.field} is neither in the field registry nor typed")
    return annotation.coerce


class CopyFromRawCrashRule(Rule):
    """Annotations → typed processed fields. A bad value is noted and the field left out."""

    def __init__(self, annotations: tuple[Annotation, ...] = ANNOTATIONS):
        check_table(annotations)
        registry = _registry_types()
        self.table = [(a, coercer(a, registry)) for a in annotations]

    def action(self, crash: Crash) -> None:
        raw = crash.raw_crash
        for annotation, coerce in self.table:
            name = next((n for n in annotation.annotations if n in raw), None)
            if name is None:
                continue
            try:
                crash.processed[annotation.field] = coerce(raw[name])
            except BadValue as exc:
                crash.note(f"{name} has an invalid value ({exc}); {annotation.field} left out")


class ProcessTypeRule(Rule):
    """The main process reports no ProcessType (or ``default``/``main``): call it parent."""

    def action(self, crash: Crash) -> None:
        value = crash.processed.get("process_type")
        if value in (None, "", "default", "main", "browser"):
            crash.processed["process_type"] = "parent"


class DatesAndTimesRule(Rule):
    """``date_processed`` is when the collector received the crash (what search indices and
    reports key on); client-side times become ages in seconds."""

    def action(self, crash: Crash) -> None:
        raw, processed = crash.raw_crash, crash.processed
        submitted = submitted_at(raw)
        if submitted is None:
            day = date_from_crash_id(crash.crash_id)
            submitted = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            crash.note("submitted_timestamp missing or invalid; using the crash id's date")
        processed["date_processed"] = submitted.astimezone(dt.UTC).isoformat()

        crash_time = processed.get("crash_time")
        if not isinstance(crash_time, int) or crash_time <= 0:
            crash.note("client_crash_date is unknown")
            return
        try:
            processed["client_crash_date"] = dt.datetime.fromtimestamp(
                crash_time, dt.UTC).isoformat()
        except (OverflowError, OSError, ValueError):  # past year 9999 or the platform's time_t
            crash.note("client_crash_date is out of range")
        startup = processed.get("startup_time")
        if isinstance(startup, int) and 0 < startup <= crash_time:
            processed["uptime"] = crash_time - startup
        install = processed.get("install_time")
        if isinstance(install, int) and 0 < install <= crash_time:
            processed["install_age"] = crash_time - install


_MAJOR_RE = re.compile(r"^(\d+)")


class MajorVersionRule(Rule):
    """``major_version``: 120 for 120.0.1 (searching a release series)."""

    def predicate(self, crash: Crash) -> bool:
        return isinstance(crash.processed.get("version"), str)

    def action(self, crash: Crash) -> None:
        match = _MAJOR_RE.match(crash.processed["version"])
        if match:
            crash.processed["major_version"] = int(match.group(1))
