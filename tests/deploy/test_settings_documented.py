"""Every setting a service reads is in the README's configuration tables, and every variable
those tables name is one a service reads. Names are written in full, so that an operator
finds each one by searching for it."""

from __future__ import annotations

import re

from harness.deployfiles import ROOT, SETTINGS, environ_reads, setting_names

from crashline.common.settings import CommonSettings


def section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def documented(markdown: str) -> set[str]:
    """The variables in the first cell of the tables' rows (a shortened ``_NAME`` there is
    kept as it is, and so fails the comparison with what the code reads)."""
    names = set()
    for line in markdown.splitlines():
        if line.startswith("|"):
            names.update(re.findall(r"`((?:CRASHLINE)?_[A-Z0-9_]+)`", line.split("|")[1]))
    return names


def read_settings() -> set[str]:
    return set().union(setting_names(CommonSettings),
                       *(setting_names(c) for c in SETTINGS.values()), environ_reads())


def test_what_a_table_names():
    table = ("| variable | default |\n|---|---|\n"
             "| `CRASHLINE_A_TIMEOUT`, `_DEADLINE` | `CRASHLINE_NOT_ME` |\n"
             "text `CRASHLINE_NOR_ME`\n")
    assert documented(table) == {"CRASHLINE_A_TIMEOUT", "_DEADLINE"}


def test_every_setting_is_documented():
    table = documented(section((ROOT / "README.md").read_text(), "Configuration"))
    missing = read_settings() - table
    assert not missing, f"settings missing from the README's configuration: {sorted(missing)}"


def test_every_documented_setting_exists():
    table = documented(section((ROOT / "README.md").read_text(), "Configuration"))
    unknown = table - read_settings()
    assert not unknown, f"the README documents settings no code reads: {sorted(unknown)}"
