"""Signature lists: loading, validation and compilation.

A lists directory holds four text files in the reference (Socorro) format: one entry per line,
blank lines and lines starting with ``#`` ignored. Three files hold regular expressions that are
applied with ``re.match`` (anchored at the start only); the sentinel file holds exact strings.
Every file is validated when loaded, so a bad list fails at start-up rather than per crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LISTS_DIR = Path(__file__).parent / "siglists"

SENTINELS_FILE = "signature_sentinels.txt"
IRRELEVANT_FILE = "irrelevant_signature_re.txt"
PREFIX_FILE = "prefix_signature_re.txt"
LINE_NUMBERS_FILE = "signatures_with_line_numbers_re.txt"
LIST_FILES = (SENTINELS_FILE, IRRELEVANT_FILE, PREFIX_FILE, LINE_NUMBERS_FILE)

# An empty alternation would match everything; an empty list must match nothing.
_NEVER = re.compile(r"(?!)")


class SignatureListError(ValueError):
    """A list file is missing, unreadable or holds an entry that does not compile."""


@dataclass(frozen=True, slots=True)
class SignatureLists:
    sentinels: tuple[str, ...]
    irrelevant: re.Pattern[str]
    prefix: re.Pattern[str]
    line_numbers: re.Pattern[str]
    source: Path


def read_list_file(path: Path) -> list[tuple[int, str]]:
    """Return ``(line number, entry)`` for every non-blank, non-comment line of ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SignatureListError(f"{path}: signature list file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SignatureListError(f"{path}: cannot read signature list: {exc}") from None
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            entries.append((number, line))
    return entries


def compile_regex_list(path: Path) -> re.Pattern[str]:
    """Compile every line of ``path`` on its own (to name the bad line), then as one alternation."""
    entries = read_list_file(path)
    for number, pattern in entries:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SignatureListError(
                f"{path}:{number}: invalid regular expression {pattern!r}: {exc}"
            ) from None
    if not entries:
        return _NEVER
    # Joined unwrapped, like the reference, so a list behaves exactly as it does there.
    combined = "|".join(pattern for _, pattern in entries)
    try:
        return re.compile(combined)
    except re.error as exc:  # e.g. a global flag such as (?i) that is only legal on line 1
        raise SignatureListError(f"{path}: entries do not combine into one regex: {exc}") from None


def load_lists(directory: Path | None = None) -> SignatureLists:
    """Load and validate the four lists from ``directory`` (None: the lists shipped with us)."""
    directory = Path(directory) if directory is not None else DEFAULT_LISTS_DIR
    if not directory.is_dir():
        raise SignatureListError(f"{directory}: signature lists directory not found")
    return SignatureLists(
        sentinels=tuple(entry for _, entry in read_list_file(directory / SENTINELS_FILE)),
        irrelevant=compile_regex_list(directory / IRRELEVANT_FILE),
        prefix=compile_regex_list(directory / PREFIX_FILE),
        line_numbers=compile_regex_list(directory / LINE_NUMBERS_FILE),
        source=directory,
    )
