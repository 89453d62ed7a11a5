"""The sample patient and scripted conversation that `make demo` runs."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach import goals as goals_mod
from coach.store.schema import Patient

DEMO_NAME = "Margaret Evans (demo)"

SCRIPT: tuple[str, ...] = (
    "Hi Sam. I managed a walk after lunch on three days this week.",
    "My knees ache after about fifteen minutes though, and this cold weather is killing me.",
    "Should I take an extra metformin if I have a big dinner?",
    "How do I check my blood pressure properly at home?",
    "Could you help me plan my walks for next week?",
)


def ensure_demo_patient(db: Session) -> Patient:
    """The demo patient, with a walking goal and a few days of check-ins."""
    patient = db.scalar(select(Patient).where(Patient.name == DEMO_NAME))
    if patient is not None:
        return patient
    patient = Patient(
        name=DEMO_NAME, preferred_name="Maggie", age_band="70-79",
        conditions=["hypertension", "type 2 diabetes"],
        medications=["metformin", "amlodipine"], allergies=["penicillin"],
        goals_text="To walk to the shops and back without stopping by the spring.",
        preferences="Likes plain talk and small steps; mornings are her best time.",
    )
    db.add(patient)
    db.flush()
    goal = goals_mod.add_goal(db, patient.id, "walk after lunch", "minutes walked", 20,
                              "minutes", "day", date.today() + timedelta(days=60))
    for back, minutes in ((3, 15), (2, 20), (1, 12)):
        goals_mod.check_in(db, goal, minutes, date.today() - timedelta(days=back))
    return patient

