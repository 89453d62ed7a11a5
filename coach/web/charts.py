"""Small inline SVG line charts: goal check-ins and reported readings over time.

Drawn on the server as plain SVG so the page needs no script, no CDN and no
chart library, and prints as it looks. Values are escaped by Jinja.

A store written before numbers were checked on the way in may hold an infinite
or not-a-number target or check-in; such a value is left out of the drawing and
the chart's summary says so, because one bad number must not take the whole
patient page down with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[date, float]]
    css: str = "s1"
    """CSS class of the line (colours live in the stylesheet)."""


@dataclass(frozen=True)
class Chart:
    """Everything the template needs to draw one chart."""

    title: str
    width: int
    height: int
    lines: list[tuple[str, str, list[tuple[float, float, str]]]]
    """(css class, SVG polyline points, [(x, y, tooltip)]) per series."""
    target_y: float | None
    target_label: str
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    summary: str
    """A sentence saying what the chart shows, for screen readers and for print."""


W, H, PAD_L, PAD_R, PAD_T, PAD_B = 560, 170, 46, 12, 12, 26

DRAWABLE = 1e15
"""Beyond this the axis arithmetic can overflow to inf, and no patient's number is this large."""


def _drawable(v: float) -> bool:
    return math.isfinite(v) and abs(v) <= DRAWABLE


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 or v == int(v) else f"{v:.1f}"


def line_chart(title: str, series: Sequence[Series], target: float | None = None,
               target_label: str = "target", unit: str = "") -> Chart | None:
    """The chart of `series`, or None when there is no point at all.

    Never raises on a value: points and a target that cannot be drawn are left out and counted
    in the summary, so a clinician knows to look at the record rather than trust the line.
    """
    every = [p for s in series for p in s.points]
    if not every:
        return None
    series = [Series(s.label, [(d, v) for d, v in s.points if _drawable(v)], s.css) for s in series]
    points = [p for s in series for p in s.points]
    left_out = len(every) - len(points)
    if target is not None and not _drawable(target):
        target, target_left_out = None, True
    else:
        target_left_out = False
    days = [d for d, _ in every]
    values = [v for _, v in points] + ([target] if target is not None else [])
    d0, d1 = min(days), max(days)
    span_days = max((d1 - d0).days, 1)
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (hi - lo) * 0.1 or max(abs(hi) * 0.1, 1.0)
    lo, hi = max(0.0, lo - pad) if lo >= 0 else lo - pad, hi + pad

    def x(d: date) -> float:
        return round(PAD_L + (W - PAD_L - PAD_R) * ((d - d0).days / span_days), 1)

    def y(v: float) -> float:
        return round(PAD_T + (H - PAD_T - PAD_B) * (1 - (v - lo) / (hi - lo)), 1)

    lines = []
    for s in series:
        pts = sorted(s.points)
        marks = [(x(d), y(v), f"{d.isoformat()}: {_fmt(v)} {unit}".strip()) for d, v in pts]
        lines.append((s.css, " ".join(f"{mx},{my}" for mx, my, _ in marks), marks))
    ticks = [lo + (hi - lo) * k / 4 for k in range(5)] if values else []
    y_ticks = [(y(v), _fmt(v)) for v in ticks]
    x_ticks = [(x(d0), d0.strftime("%d %b"))]
    if d1 != d0:
        x_ticks.append((x(d1), d1.strftime("%d %b")))
    last = sorted(series[0].points)[-1] if series[0].points else None
    summary = (f"{title}: {len(points)} value{'' if len(points) == 1 else 's'} from {d0.isoformat()} "
               f"to {d1.isoformat()}")
    if last is not None:
        summary += f"; latest {_fmt(last[1])} {unit}".rstrip()
    if target is not None:
        summary += f"; {target_label} {_fmt(target)}"
    if left_out:
        summary += (f"; {left_out} stored value{' is' if left_out == 1 else 's are'} not a usable number "
                    "(infinite, not a number or far too large) and left out")
    if target_left_out:
        summary += f"; the stored {target_label} is not a usable number and is not drawn"
    return Chart(title, W, H, lines, y(target) if target is not None else None, target_label,
                 y_ticks, x_ticks, summary + ".")
