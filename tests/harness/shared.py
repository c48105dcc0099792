"""Where ``../shared`` (the crash corpus, the reference data) is: beside the checkout. Absent
on machines without it: the tests that need it then skip, saying so."""

from __future__ import annotations

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CORPUS = SHARED / "corpus"
REFERENCE = SHARED / "reference"
