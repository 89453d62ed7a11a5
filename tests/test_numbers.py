"""Numbers on the way into the store, and stored numbers on the way onto a page.

A goal target of inf once made every view of its patient's page a 500: the ranges in
`coach.numbers` keep such values out now, and a store written before them must still
show its patient's page.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from coach import numbers
from coach.notes.readings import extract_readings
from coach.store import open_store
from coach.store.accounts import add_user, assign
from coach.store.clinical import Reading
from coach.store.schema import CheckIn, CoachSession, Goal, Patient, Turn
from coach.web.app import create_app
from coach.web.charts import Series, line_chart
from tests.test_clinician_web import PASSWORD, login


@pytest.mark.parametrize("text", [
    "My blood pressure was 1200/80 this morning.",
    "My blood pressure was 300/80 this morning.",
    "My blood pressure was 80/120 this morning.",  # diastolic above systolic
    "My BP was 140/15.",
    "I weighed 0 kg this morning.",
    "I weighed 999 kg this morning.",
    "I weigh 900 pounds.",
    "I'm 60 stone now.",
    "My blood sugar was 95.5 mmol this morning.",
    "My glucose was 990 mg/dL.",
    "I did 999999 steps yesterday.",
    "I did 50 steps yesterday.",
])
def test_impossible_readings_are_not_readings(text: str) -> None:
    assert extract_readings(text) == []


def test_every_extracted_reading_is_in_its_stored_range() -> None:
    text = ("My blood pressure was 142/88 this morning. My sugar was 7.8 before breakfast. "
            "I weigh 82 kg. I did about eight thousand steps on Tuesday. Scales said 14 stone.")
    got = extract_readings(text)
    assert [r.kind for r in got] == ["blood_pressure", "glucose", "weight", "steps", "weight"]
    assert all(numbers.plausible_reading(r.kind, r.unit, r.value, r.value2) for r in got)


@pytest.mark.parametrize(("value", "ok"), [
    (math.nan, False), (math.inf, False), (-math.inf, False), (0.0, False), (-0.0, False),
    (1e-9, True), (1_000_000.0, True), (1_000_000.5, False),
])
def test_goal_target_range(value: float, ok: bool) -> None:
    assert numbers.GOAL_TARGET.holds(value) is ok
    assert (numbers.out_of_range(value, numbers.GOAL_TARGET, "x") == "") is ok


def test_a_chart_leaves_out_what_it_cannot_draw_and_says_so() -> None:
    today = date.today()
    chart = line_chart("Goal: walk", [Series("minutes", [
        (today - timedelta(days=2), 10.0), (today - timedelta(days=1), math.nan), (today, math.inf),
        (today, 1e300)])], target=math.inf, unit="minutes")
    assert chart is not None
    [(_, polyline, marks)] = chart.lines
    assert len(marks) == 1 and polyline == f"{marks[0][0]},{marks[0][1]}"
    assert chart.target_y is None
    assert "3 stored values are not a usable number" in chart.summary
    assert "the stored target is not a usable number" in chart.summary
    assert all(math.isfinite(y) for y, _ in chart.y_ticks)
    # Nothing drawable at all: still a chart that says why, not an exception.
    empty = line_chart("Goal: swim", [Series("laps", [(today, -math.inf)])], target=math.nan)
    assert empty is not None and empty.lines[0][2] == [] and empty.y_ticks == []
    assert "1 stored value is not a usable number" in empty.summary


def test_a_patient_page_with_infinite_numbers_from_an_old_store_still_shows(tmp_path: Path) -> None:
    """Values written straight into the tables, as a store from before the checks may hold them.

    SQLite keeps inf as a REAL but turns NaN into NULL, which these NOT NULL columns refuse; so
    an old store can hold +-inf or a huge finite number, and NaN is covered by the chart test above.
    """
    store = open_store(tmp_path / "coach.db", tmp_path / "db.key")
    today = date.today()
    with store.session() as db:
        patient = Patient(name="Maggie Evans")
        db.add(patient)
        db.flush()
        assign(db, add_user(db, "drlee", PASSWORD), patient.id)
        bad = Goal(patient_id=patient.id, description="sleep more", measure="hours", target=math.inf,
                   unit="hours")
        huge = Goal(patient_id=patient.id, description="drink water", measure="glasses", target=1e308)
        good = Goal(patient_id=patient.id, description="walk after lunch", measure="minutes walked",
                    target=20, unit="minutes")
        db.add_all([bad, huge, good])
        db.flush()
        db.add_all([CheckIn(goal_id=bad.id, day=today, value=7),
                    CheckIn(goal_id=huge.id, day=today, value=1.7e308),
                    CheckIn(goal_id=good.id, day=today - timedelta(days=2), value=15),
                    CheckIn(goal_id=good.id, day=today - timedelta(days=1), value=math.inf),
                    CheckIn(goal_id=good.id, day=today, value=-math.inf)])
        session = CoachSession(patient_id=patient.id)
        db.add(session)
        db.flush()
        turn = Turn(session_id=session.id, idx=0, role="patient", text="I weigh 82 kg.")
        db.add(turn)
        db.flush()
        db.add_all([Reading(patient_id=patient.id, session_id=session.id, turn_id=turn.id, kind="weight",
                            value=82, unit="kg", taken_at=datetime.now() - timedelta(days=1)),
                    Reading(patient_id=patient.id, session_id=session.id, turn_id=turn.id, kind="weight",
                            value=math.inf, unit="kg", taken_at=datetime.now())])
        pid, bad_id = patient.id, bad.id
    with store.session() as db:  # the store really holds them
        assert db.get(Goal, bad_id).target == math.inf  # type: ignore[union-attr]
    try:
        client = TestClient(create_app(store), follow_redirects=False)
        assert login(client).status_code == 303
        page = client.get(f"/patients/{pid}")
        assert page.status_code == 200, page.text
        html = page.text
        assert "Goal: walk after lunch (minutes walked per day)" in html and "Weight (kg)" in html
        assert "Goal: sleep more (hours per day)" in html and "Goal: drink water" in html
        assert "the stored target is not a usable number" in html
        assert "2 stored values are not a usable number" in html
        assert not re.search(r"\b(?:inf|nan)\b", html)
    finally:
        store.close()
