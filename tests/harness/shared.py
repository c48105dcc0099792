"""Where ``../shared`` (the crash corpus, the reference data) is for this checkout: beside
it, or beside the main checkout when this one is a worktree a level further down
(``<root>/wt/<name>``). Absent on machines without it: tests then skip."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def shared_folder() -> Path:
    for parent in (ROOT.parent, ROOT.parent.parent):
        if (parent / "shared").is_dir():
            return parent / "shared"
    return ROOT.parent / "shared"


SHARED = shared_folder()
CORPUS = SHARED / "corpus"
REFERENCE = SHARED / "reference"
