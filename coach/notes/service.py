"""What the CLI, the demo and the benches share to make notes: the embedder and the to-do list."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach.config import Settings
from coach.provision import require
from coach.store.clinical import Note
from coach.store.schema import CoachSession
from knowledge.embeddings import Embedder

NOTE_EMBEDDER = "minilm-l6"
"""The knowledge base's embedder: small and already loaded by the coach in most processes."""


def open_embedder(settings: Settings) -> Embedder:
    return Embedder(require(settings.models_dir, NOTE_EMBEDDER))


def sessions_without_note(db: Session, patient_id: int | None = None) -> list[int]:
    """Ended coaching sessions still waiting for a note, of one patient or of all.

    An open session is unfinished, and a memory session never gets a clinical note.
    """
    noted = select(Note.session_id)
    query = select(CoachSession.id).where(CoachSession.ended_at.is_not(None), CoachSession.kind != "memory",
                                          CoachSession.id.not_in(noted))
    if patient_id is not None:
        query = query.where(CoachSession.patient_id == patient_id)
    return list(db.scalars(query.order_by(CoachSession.id)))
