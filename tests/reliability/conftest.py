"""The reliability suite: the fault matrix on backends of its own, hostile input, security
properties. Sizes come from the environment (the slices of ``make test`` by default; ``make
test-reliability`` and ``make test-hostile`` set the full ones), and every test's figures
are printed at the end of the run, whatever pytest captured."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # audit, backends, faults...

_FIGURES_KEY = pytest.StashKey[list[tuple[str, list[str]]]]()


@pytest.fixture
def figures(request):
    """``figures(title, lines)``: printed in the run's summary."""
    store = request.config.stash.setdefault(_FIGURES_KEY, [])
    return lambda title, lines: store.append((title, list(lines)))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    store = config.stash.get(_FIGURES_KEY, [])
    if not store:
        return
    terminalreporter.section("reliability figures")
    for title, lines in store:
        terminalreporter.write_line(title)
        for line in lines:
            terminalreporter.write_line(f"  {line}")
