"""The range each stored number must fall in, in one place.

Python's float(), and with it every typer float option, accepts "inf", "nan" and
"1e309"; a goal target of inf once made every view of that patient's page fail.
A range per quantity also keeps a slip of the keyboard (a target of 200000
minutes a day) or a misheard reading out of a record a clinician acts on. The
callers raise their own user errors, so the message can say what to type instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """Finite values from `low` to `high`; `low` itself only when `low_open` is False."""

    low: float
    high: float
    low_open: bool = False

    def holds(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        return above and value <= self.high

    def describe(self) -> str:
        if self.low_open and self.low == 0:
            return f"a positive number no larger than {plain(self.high)}"
        if self.low_open:
            return f"a number above {plain(self.low)} and at most {plain(self.high)}"
        return f"a number from {plain(self.low)} to {plain(self.high)}"


def plain(value: float) -> str:
    """A number as a person would type it back: 1,000,000 rather than 1e+06."""
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.0f}" if value == int(value) else f"{value:g}"


GOAL_TARGET = Range(0.0, 1_000_000.0, low_open=True)
"""A target of 0 is met by doing nothing; a million of anything a day or week is a typo."""
CHECK_IN_VALUE = Range(0.0, 1_000_000.0)
"""0 is a real report ("I didn't walk at all"); the cap matches the target's."""

SYSTOLIC = Range(70.0, 260.0)
DIASTOLIC = Range(30.0, 160.0)
READINGS: dict[tuple[str, str], Range] = {
    ("blood_pressure", "mmHg"): SYSTOLIC,
    ("glucose", "mmol/L"): Range(1.5, 35.0),
    ("glucose", "mg/dL"): Range(40.0, 600.0),
    ("weight", "kg"): Range(30.0, 300.0),
    ("weight", "lb"): Range(66.0, 660.0),
    ("steps", "steps/day"): Range(100.0, 100_000.0),
}
"""What a person could plausibly report, per (kind, unit). Narrower than what a meter can
show on purpose: a reading is taken from speech, and a wrong number misleads where a
missing one only costs a look at the transcript."""


def out_of_range(value: float, allowed: Range, what: str) -> str:
    """Why `value` may not be stored as `what`, or '' when it may."""
    if allowed.holds(value):
        return ""
    return f"{what} must be {allowed.describe()}, not {plain(value)}"


def plausible_reading(kind: str, unit: str, value: float, value2: float | None = None) -> bool:
    """Whether a reading may be stored: a known kind and unit, every number finite and in range."""
    allowed = READINGS.get((kind, unit))
    if allowed is None or not allowed.holds(value):
        return False
    if kind == "blood_pressure":
        return value2 is not None and DIASTOLIC.holds(value2) and value > value2
    return value2 is None or math.isfinite(value2)
