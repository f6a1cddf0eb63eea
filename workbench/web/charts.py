"""Geometry for server-rendered SVG charts: rows of point estimates with intervals.

Templates draw the shapes (``templates/_macros/charts.html``); this module only turns
numbers into coordinates, so charts need no JavaScript and no CDN. Every chart also
comes with its numbers as a table for screen readers and printing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

ROW_HEIGHT = 26
LABEL_WIDTH = 250
PLOT_WIDTH = 460
PAD = 12


@dataclass(frozen=True)
class IntervalRow:
    label: str
    estimate: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""
    warn: bool = False


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class DrawnRow:
    row: IntervalRow
    y: float
    x: float | None
    x_low: float | None
    x_high: float | None


@dataclass(frozen=True)
class IntervalChart:
    title: str
    width: int
    height: int
    plot_left: int
    plot_right: int
    rows: tuple[DrawnRow, ...]
    ticks: tuple[Tick, ...]
    reference_x: float | None
    axis_y: float


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    span = hi - lo
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step) * step
    ticks = []
    value = first
    while value <= hi + 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def interval_chart(
    title: str,
    rows: Sequence[IntervalRow],
    domain: tuple[float, float] | None = None,
    reference: float | None = None,
    fmt: str = "{:.2f}",
) -> IntervalChart:
    """Lay out rows top to bottom; the domain covers every estimate, interval and reference."""
    values = [v for r in rows for v in (r.estimate, r.low, r.high) if v is not None and math.isfinite(v)]
    if reference is not None:
        values.append(reference)
    if domain is None:
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
        margin = (hi - lo) * 0.05
        domain = (lo - margin, hi + margin)
    lo, hi = domain
    left, right = LABEL_WIDTH, LABEL_WIDTH + PLOT_WIDTH

    def x_of(v: float | None) -> float | None:
        if v is None or not math.isfinite(v):
            return None
        v = min(max(v, lo), hi)
        return round(left + (v - lo) / (hi - lo) * (right - left), 1)

    drawn = tuple(
        DrawnRow(row, PAD + i * ROW_HEIGHT + ROW_HEIGHT / 2, x_of(row.estimate), x_of(row.low), x_of(row.high))
        for i, row in enumerate(rows)
    )
    axis_y = PAD + len(rows) * ROW_HEIGHT + 4
    ticks = tuple(Tick(x_of(t), fmt.format(t)) for t in _nice_ticks(lo, hi))
    return IntervalChart(
        title=title,
        width=right + 80,
        height=int(axis_y + 28),
        plot_left=left,
        plot_right=right,
        rows=drawn,
        ticks=ticks,
        reference_x=x_of(reference) if reference is not None else None,
        axis_y=axis_y,
    )
