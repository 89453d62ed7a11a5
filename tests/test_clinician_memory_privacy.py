"""A palliative memory session is the patient's own record: no clinical note, no transcript page."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.notes.make import NoteError, make_note
from coach.notes.service import sessions_without_note
from coach.store import CoachSession, Patient, open_store
from coach.store.schema import utcnow


def test_memory_sessions_get_no_clinical_note(tmp_path: Path) -> None:
    store = open_store(tmp_path / "coach.db", tmp_path / "db.key")
    with store.session() as db:
        patient = Patient(name="Iris Hale")
        db.add(patient)
        db.flush()
        coaching = CoachSession(patient_id=patient.id, kind="coaching", ended_at=utcnow())
        memory = CoachSession(patient_id=patient.id, kind="memory", ended_at=utcnow())
        db.add_all([coaching, memory])
        db.flush()
        assert sessions_without_note(db, patient.id) == [coaching.id]
        assert sessions_without_note(db) == [coaching.id]
        with pytest.raises(NoteError, match="memory session"):
            make_note(db, memory.id, None)
    store.close()
