"""The clinician's end of `make demo`, on the demo patient's stored session."""

from __future__ import annotations

import pytest
from rich.console import Console
from sqlalchemy import select

from coach.cli.context import Context
from coach.config import Settings
from coach.demo import SCRIPT, ensure_demo_patient
from coach.store.accounts import authenticate
from coach.store.clinical import Assignment, Note
from coach.store.schema import CoachSession, Turn, utcnow
from coach.web.demo import DEMO_CLINICIAN, clinician_demo


@pytest.mark.slow  # loads MiniLM
def test_demo_clinician_notes_and_sign_in(home: Settings) -> None:
    context = Context(home)
    with context.store.session() as db:
        patient = ensure_demo_patient(db)
        session = CoachSession(patient_id=patient.id, ended_at=utcnow())  # the demo ends its sessions first
        db.add(session)
        db.flush()
        for i, line in enumerate(SCRIPT[:2]):
            db.add(Turn(session_id=session.id, idx=2 * i, role="patient", text=line))
            db.add(Turn(session_id=session.id, idx=2 * i + 1, role="coach", text="Thanks for telling me."))
        patient_id, session_id = patient.id, session.id
    console = Console(record=True, width=200)
    password = clinician_demo(context, patient_id, console, use_model=False)
    out = console.export_text()
    assert "coach serve" in out and "http://127.0.0.1:8765/" in out and password in out
    with context.store.session() as db:
        user = authenticate(db, DEMO_CLINICIAN, password)
        assert user is not None
        assert db.scalar(select(Assignment).where(Assignment.user_id == user.id,
                                                  Assignment.patient_id == patient_id))
        note = db.scalar(select(Note).where(Note.session_id == session_id))
        assert note is not None and any("walk after lunch" in s.text for s in note.statements)
    again = clinician_demo(context, patient_id, Console(record=True), use_model=False)  # a second demo run
    with context.store.session() as db:
        assert again != password and authenticate(db, DEMO_CLINICIAN, again) is not None
    context.close()
