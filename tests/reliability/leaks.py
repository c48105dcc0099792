"""Where the secrets planted in a run's crashes must never appear: the logs of every service
and backend, the metric pages (labels), and what the webapp shows anyone without a token
(the API's answers and error messages, the report pages). They may only be in crash storage
and behind ``view_pii``."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from backends import PrivateBackends
from fleet import Fleet

SAMPLE_LINES = 5


@dataclass
class Leaks:
    scanned: Counter = field(default_factory=Counter)  # kind -> files or pages read
    found: dict[str, int] = field(default_factory=dict)  # where -> occurrences
    samples: list[str] = field(default_factory=list)

    def add(self, where: str, text: str, pattern: re.Pattern) -> None:
        hits = pattern.findall(text)
        if not hits:
            return
        self.found[where] = self.found.get(where, 0) + len(hits)
        for line in text.splitlines():
            if len(self.samples) < SAMPLE_LINES and pattern.search(line):
                self.samples.append(f"{where}: {line[:300]}")

    def line(self) -> str:
        scanned = ", ".join(f"{n} {kind}" for kind, n in sorted(self.scanned.items()))
        if not self.found:
            return f"none (scanned {scanned})"
        return f"{sum(self.found.values())} in {self.found} (scanned {scanned}); {self.samples}"


def log_files(fleet: Fleet, backends: PrivateBackends) -> list[Path]:
    """Every log of the run: each start of each service, the backends' own."""
    elasticsearch_logs = backends.root / "data" / "elasticsearch" / "logs"
    engine = [p for p in elasticsearch_logs.rglob("*") if p.is_file() and
              p.suffix in (".log", ".json")] if elasticsearch_logs.is_dir() else []
    return [*fleet.log_files(), *backends.log_files(), *engine]


def find_leaks(prefix: str, fleet: Fleet, backends: PrivateBackends,
               sample_ids: Iterable[str]) -> Leaks:
    pattern = re.compile(re.escape(prefix) + r"[0-9a-f]+-\d+")
    leaks = Leaks()
    for path in log_files(fleet, backends):
        leaks.scanned["log files"] += 1
        leaks.add(str(path.relative_to(backends.root)),
                  path.read_text(errors="replace"), pattern)
    for name, url in fleet.urls().items():
        leaks.scanned["metric pages"] += 1
        leaks.add(f"{name} /metrics", requests.get(f"{url}/metrics", timeout=30).text, pattern)
    webapp = fleet.url("webapp")
    for crash_id in sample_ids:
        for path in (f"/api/ProcessedCrash/?crash_id={crash_id}",
                     f"/api/RawCrash/?crash_id={crash_id}",
                     f"/api/RawCrash/?crash_id={crash_id}&format=raw",
                     f"/api/SuperSearch/?uuid={crash_id}&_columns=url&_columns=user_comments"
                     f"&_columns=email&_facets=url",
                     f"/report/index/{crash_id}"):
            leaks.scanned["anonymous webapp answers"] += 1
            leaks.add(f"webapp {path.split('?')[0]}",
                      requests.get(webapp + path, timeout=30).text, pattern)
    return leaks
