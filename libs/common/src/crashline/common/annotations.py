"""Which raw-crash annotations are public: the one source for redaction and the data
dictionary.

The defaults ship in ``annotations.toml`` (the reference's public annotations). A deployment
adds or protects annotations in a TOML file of the same shape
(``CRASHLINE_ANNOTATIONS_FILE``) and in ``CRASHLINE_PUBLIC_ANNOTATIONS`` /
``CRASHLINE_PROTECTED_ANNOTATIONS``; a protected name is never public.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from crashline.common.settings import CommonSettings, get_settings

DEFAULTS_FILE = Path(__file__).with_name("annotations.toml")


@dataclass(frozen=True)
class AnnotationPolicy:
    public: frozenset[str]
    protected: frozenset[str] = frozenset()  # named protected on purpose (documentation)

    def is_public(self, name: str) -> bool:
        return name in self.public


def _names(table: dict, key: str, where: Path) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where}: {key} must be a list of annotation names")
    return value


def read_file(path: Path) -> tuple[list[str], list[str], bool]:
    """(public, protected, replace_defaults) of an annotations file."""
    try:
        with path.open("rb") as f:
            table = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read the annotations file {path}: {exc}") from exc
    unknown = sorted(set(table) - {"public", "protected", "replace_defaults"})
    if unknown:
        raise ValueError(f"{path}: unknown keys {', '.join(unknown)}")
    replace = table.get("replace_defaults", False)
    if not isinstance(replace, bool):
        raise ValueError(f"{path}: replace_defaults must be true or false")
    return _names(table, "public", path), _names(table, "protected", path), replace


def load_policy(file: Path | None = None, public: Iterable[str] = (),
                protected: Iterable[str] = ()) -> AnnotationPolicy:
    """The defaults, then ``file``, then the extra ``public`` and ``protected`` names."""
    names, hidden, _ = read_file(DEFAULTS_FILE)
    if file is not None:
        more, more_hidden, replace = read_file(file)
        names = more if replace else names + more
        hidden = hidden + more_hidden
    hidden_set = frozenset(hidden) | frozenset(protected)
    return AnnotationPolicy((frozenset(names) | frozenset(public)) - hidden_set, hidden_set)


@lru_cache(maxsize=1)
def _policy(file: Path | None, public: tuple[str, ...],
            protected: tuple[str, ...]) -> AnnotationPolicy:
    return load_policy(file, public, protected)


def annotation_policy(settings: CommonSettings | None = None) -> AnnotationPolicy:
    """The policy the settings describe (read once per process)."""
    settings = settings or get_settings()
    return _policy(settings.annotations_file, tuple(settings.public_annotations),
                   tuple(settings.protected_annotations))
