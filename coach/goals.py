"""SMART goals and check-ins: what the patient is working on and how it is going."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach.numbers import CHECK_IN_VALUE, GOAL_TARGET, out_of_range
from coach.store.schema import CheckIn, Goal

PERIODS = ("day", "week")


class GoalError(Exception):
    pass


@dataclass(frozen=True)
class GoalProgress:
    """Progress as a patient would describe it: how often the target was met lately."""

    goal_id: int
    periods_logged: int
    periods_met: int
    latest_value: float | None
    latest_day: date | None
    latest_met: bool = False
    """Whether the most recent period logged reached the target: what "you've reached your
    goal" may rest on (a target met once, weeks ago, is not a goal reached)."""

    @property
    def rate(self) -> float:
        return self.periods_met / self.periods_logged if self.periods_logged else 0.0


def add_goal(db: Session, patient_id: int, description: str, measure: str, target: float,
             unit: str = "", period: str = "day", due_date: date | None = None) -> Goal:
    if period not in PERIODS:
        raise GoalError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    if reason := out_of_range(target, GOAL_TARGET, "a goal's target"):
        raise GoalError(f"{reason}; give the amount to reach each {period}, e.g. 20")
    if not description.strip() or not measure.strip():
        raise GoalError("a goal needs a description and a measure")
    if due_date is not None and due_date < date.today():
        raise GoalError(f"the due date {due_date} is in the past")
    goal = Goal(patient_id=patient_id, description=description.strip(), measure=measure.strip(),
                target=target, unit=unit.strip(), period=period, due_date=due_date)
    db.add(goal)
    db.flush()
    return goal


def check_in(db: Session, goal: Goal, value: float, day: date | None = None,
             note: str = "") -> CheckIn:
    if reason := out_of_range(value, CHECK_IN_VALUE, "a check-in value"):
        raise GoalError(f"{reason}; give the patient's {goal.measure} for that {goal.period} as a "
                        "number, e.g. 0 or 15")
    # + 0.0 turns -0.0 into 0.0, so "-0" is stored and shown as plain 0.
    checkin = CheckIn(goal_id=goal.id, value=value + 0.0, day=day or date.today(), note=note.strip())
    db.add(checkin)
    db.flush()
    return checkin


def _period_key(goal: Goal, day: date) -> date:
    return day - timedelta(days=day.weekday()) if goal.period == "week" else day


def progress(db: Session, goal: Goal, lookback_days: int = 28) -> GoalProgress:
    since = date.today() - timedelta(days=lookback_days)
    rows = db.scalars(
        select(CheckIn).where(CheckIn.goal_id == goal.id, CheckIn.day >= since)
        .order_by(CheckIn.day, CheckIn.id)
    ).all()
    totals: dict[date, float] = {}
    for row in rows:
        key = _period_key(goal, row.day)
        # Daily goals record the day's value (the last report wins); weekly goals add up.
        totals[key] = totals.get(key, 0.0) + row.value if goal.period == "week" else row.value
    met = sum(1 for v in totals.values() if v >= goal.target)
    latest = rows[-1] if rows else None
    latest_met = latest is not None and totals[_period_key(goal, latest.day)] >= goal.target
    return GoalProgress(goal.id, len(totals), met, latest.value if latest else None,
                        latest.day if latest else None, latest_met)


def describe(goal: Goal, prog: GoalProgress) -> str:
    """One line for the prompt and the CLI."""
    unit = f" {goal.unit}" if goal.unit else ""
    text = f"{goal.description}: {goal.target:g}{unit} of {goal.measure} per {goal.period}"
    if goal.due_date:
        text += f", by {goal.due_date.isoformat()}"
    if prog.periods_logged:
        text += (f" (progress: reached the target on {prog.periods_met} of the last "
                 f"{prog.periods_logged} {goal.period}s logged; most recent "
                 f"{prog.latest_value:g}{unit} on {prog.latest_day:%d %b})")
    else:
        text += " (no check-ins yet)"
    return text


_MET_CLAIM = re.compile(
    r"\byou(?:'ve|\s+have|'re|\s+are)?\s+(?:already\s+|now\s+|really\s+)?(?:reached|met|hit|achieved|"
    r"smashed|exceeded|beaten|completed|on\s+track\s+(?:for|with)|well\s+on\s+your\s+way)\b"
    r"|\b(?:your|the|this)\s+(?:\w+\s+){0,2}(?:goal|target)\b[^.?!]{0,40}\b(?:reached|met|achieved|hit|"
    r"smashed|done)\b",
    re.IGNORECASE,
)
_PATIENT_MET = re.compile(r"\b(?:reached|met|hit|made|smashed|achieved|did|managed)\b[^.?!]{0,40}"
                          r"\b(?:goal|target)\b", re.IGNORECASE)


def claims_goal_met(sentence: str) -> bool:
    """Whether a coach's sentence tells the patient they reached (or are on track for) a goal.

    A small model praises progress it was not told about ("You've already reached your goal of
    walking 20 minutes per day") when the check-ins show the opposite; praise must rest on the
    store, or on the patient's own words (see `says_goal_met`)."""
    return bool(_MET_CLAIM.search(sentence))


def says_goal_met(text: str) -> bool:
    """Whether the patient says they reached a goal ("I hit my target three days running")."""
    return bool(_PATIENT_MET.search(text))
