"""Small inline SVG line charts: goal check-ins and reported readings over time.

Drawn on the server as plain SVG so the page needs no script, no CDN and no
chart library, and prints as it looks. Values are escaped by Jinja.
"""

from __future__ import annotations

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


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 or v == int(v) else f"{v:.1f}"


def line_chart(title: str, series: Sequence[Series], target: float | None = None,
               target_label: str = "target", unit: str = "") -> Chart | None:
    points = [p for s in series for p in s.points]
    if not points:
        return None
    days = [d for d, _ in points]
    values = [v for _, v in points] + ([target] if target is not None else [])
    d0, d1 = min(days), max(days)
    span_days = max((d1 - d0).days, 1)
    lo, hi = min(values), max(values)
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
    y_ticks = [(y(lo + (hi - lo) * k / 4), _fmt(lo + (hi - lo) * k / 4)) for k in range(5)]
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
    return Chart(title, W, H, lines, y(target) if target is not None else None, target_label,
                 y_ticks, x_ticks, summary + ".")
