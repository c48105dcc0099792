"""Weekly index naming: one index per week of submission, from a strftime template.

The default template ``crashline-%Y%W`` uses Python's ``%W`` (Monday-based weeks; the days
before a year's first Monday are week 00), so a week that spans New Year has two indices.
"""

from __future__ import annotations

import datetime as dt
import re


class IndexNamer:
    def __init__(self, template: str = "crashline-%Y%W"):
        if "%" not in template:
            raise ValueError(f"index template has no date directive: {template!r}")
        self.template = template
        # A regex matching names this template produces, to recognise our indices.
        probe = dt.datetime(2000, 1, 3).strftime(template)  # any date: only shape matters
        self.pattern = re.compile("^" + re.sub(r"\d", r"\\d", re.escape(probe)) + "$")
        self.wildcard = re.sub(r"%.", "*", template).replace("**", "*")

    def for_date(self, when: dt.date | dt.datetime) -> str:
        return when.strftime(self.template)

    def for_range(self, start: dt.datetime, end: dt.datetime) -> list[str]:
        """Every index that may hold crashes submitted in [start, end], oldest first."""
        if end < start:
            return []
        names: list[str] = []
        day = start.date() if isinstance(start, dt.datetime) else start
        last = end.date() if isinstance(end, dt.datetime) else end
        while True:
            name = self.for_date(day)
            if name not in names:
                names.append(name)
            if day >= last:  # stop before stepping: the day after 9999-12-31 overflows
                return names
            day += dt.timedelta(days=1)

    def is_ours(self, name: str) -> bool:
        return bool(self.pattern.match(name))
