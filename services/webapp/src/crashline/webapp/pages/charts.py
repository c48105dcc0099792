"""Graphs as inline SVG, drawn on the server: pure geometry here, markup in
``templates/_charts.html``. Each chart keeps its numbers, so the page also shows them as a
table (the fallback for people and tools that do not read pictures)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

SERIES_COLOURS = 8          # CSS classes s0..s7; more series are folded into "other"
OTHER = "other"


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int          # colour index; -1 for "other"
    category: str
    name: str            # series name
    count: int


@dataclass
class Chart:
    title: str
    x_label: str
    y_label: str
    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    bars: list[Bar] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    series: list[str] = field(default_factory=list)
    # the table: one row per category, one count per series, and the row total
    rows: list[tuple[str, list[int], int]] = field(default_factory=list)
    horizontal: bool = False

    @property
    def total(self) -> int:
        return sum(total for _, _, total in self.rows)


def nice_ticks(maximum: int, count: int = 4) -> list[int]:
    """Round tick values from 0 to at least ``maximum`` (steps of 1, 2 or 5 x 10^k)."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    top = step * math.ceil(maximum / step)
    return list(range(0, top + 1, step))


def _short(n: int) -> str:
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if n >= size and n % (size // 10) == 0:
            return f"{n / size:g}{suffix}"
    return f"{n:,}"


def stacked_columns(title: str, categories: Sequence[str], series: Sequence[str],
                    counts: Mapping[tuple[str, str], int], *, x_label: str, y_label: str,
                    width: int = 720, height: int = 260) -> Chart:
    """One column per category, stacked by series (in ``series`` order, bottom up)."""
    chart = Chart(title, x_label, y_label, width, height, left=56, top=12,
                  right=width - 12, bottom=height - 44, series=list(series))
    totals = [sum(counts.get((c, s), 0) for s in series) for c in categories]
    ticks = nice_ticks(max(totals, default=0))
    plot_h = chart.bottom - chart.top
    scale = plot_h / ticks[-1]
    chart.y_ticks = [Tick(chart.bottom - t * scale, _short(t)) for t in ticks]
    slot = (chart.right - chart.left) / max(len(categories), 1)
    bar_w = max(1.0, slot * 0.72)
    label_every = max(1, math.ceil(len(categories) / 10))
    for i, category in enumerate(categories):
        x = chart.left + i * slot + (slot - bar_w) / 2
        y = chart.bottom
        row = []
        for j, name in enumerate(series):
            n = counts.get((category, name), 0)
            row.append(n)
            if n:
                h = n * scale
                y -= h
                chart.bars.append(Bar(round(x, 2), round(y, 2), round(bar_w, 2), round(h, 2),
                                      -1 if name == OTHER else j % SERIES_COLOURS, category,
                                      name, n))
        chart.rows.append((category, row, totals[i]))
        if i % label_every == 0:
            chart.x_ticks.append(Tick(round(x + bar_w / 2, 2), category))
    return chart


def horizontal_bars(title: str, items: Sequence[tuple[str, int]], *, x_label: str,
                    y_label: str, width: int = 720, bar_height: int = 22) -> Chart:
    """One bar per item, longest first as given; labels to the left of the plot."""
    height = 36 + bar_height * max(len(items), 1)
    chart = Chart(title, x_label, y_label, width, height, left=240, top=8,
                  right=width - 16, bottom=height - 28, series=["count"], horizontal=True)
    ticks = nice_ticks(max((n for _, n in items), default=0))
    scale = (chart.right - chart.left) / ticks[-1]
    chart.x_ticks = [Tick(round(chart.left + t * scale, 2), _short(t)) for t in ticks]
    for i, (label, n) in enumerate(items):
        y = chart.top + i * bar_height + 3
        chart.bars.append(Bar(chart.left, y, round(n * scale, 2), bar_height - 6, 0, label,
                              "count", n))
        chart.y_ticks.append(Tick(y + (bar_height - 6) / 2, label))
        chart.rows.append((label, [n], n))
    return chart


def days(start: dt.datetime, end: dt.datetime) -> list[str]:
    """Every UTC day from ``start`` to ``end`` as YYYY-MM-DD."""
    first, last = start.astimezone(dt.UTC).date(), end.astimezone(dt.UTC).date()
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def histogram_chart(title: str, buckets: Sequence[Mapping], split: str | None,
                    start: dt.datetime, end: dt.datetime, *, x_label: str = "Day (UTC)",
                    y_label: str = "Crashes", top: int = 6) -> Chart:
    """Crashes per day from a Super Search ``histogram_date`` facet whose buckets hold the
    ``split`` facet: the ``top`` largest series by name, the rest as "other". Days without
    crashes count zero (the search omits empty buckets)."""
    counts: dict[tuple[str, str], int] = {}
    totals: dict[str, int] = {}
    per_day: list[tuple[str, int, list[Mapping]]] = []
    for bucket in buckets:
        day = str(bucket.get("term", ""))[:10]
        terms = list((bucket.get("facets") or {}).get(split, [])) if split else []
        per_day.append((day, int(bucket.get("count", 0)), terms))
        for term in terms:
            totals[str(term["term"])] = totals.get(str(term["term"]), 0) + int(term["count"])
    names = sorted(totals, key=lambda n: (-totals[n], n))[:top] if split else []
    for day, count, terms in per_day:
        shown = 0
        for term in terms:
            name = str(term["term"])
            if name in names:
                counts[(day, name)] = counts.get((day, name), 0) + int(term["count"])
                shown += int(term["count"])
        if count > shown:  # terms beyond the top ones, or crashes without the field
            rest = OTHER if split else "crashes"
            counts[(day, rest)] = counts.get((day, rest), 0) + count - shown
    series = names + [name for name in (OTHER, "crashes") if any(k[1] == name for k in counts)]
    return stacked_columns(title, days(start, end), series, counts, x_label=x_label,
                           y_label=y_label)
