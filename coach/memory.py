"""Memory across sessions: a short, faithful summary of each earlier sitting.

Summaries are extractive (the patient's own main statements, quoted), not
written by the model: a 1.5B model's paraphrase can invent things, and whatever
goes here is fed back into every later prompt.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach.store.schema import CoachSession, Flag, Turn, utcnow

MAX_QUOTES = 3
QUOTE_CHARS = 160


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rsplit(" ", 1)[0] + "…"


def summarise(db: Session, session: CoachSession) -> str:
    turns = db.scalars(
        select(Turn).where(Turn.session_id == session.id, Turn.role == "patient")
        .order_by(Turn.idx)
    ).all()
    if not turns:
        return "no conversation"
    # The longest statements carry the most content; keep them in the order said.
    chosen = sorted(sorted(turns, key=lambda t: -len(t.text))[:MAX_QUOTES], key=lambda t: t.idx)
    quotes = "; ".join(f'"{_shorten(t.text)}"' for t in chosen)
    flags = db.scalars(select(Flag.category).where(Flag.session_id == session.id)).all()
    text = f"{len(turns)} patient turns. They said: {quotes}."
    if flags:
        text += f" Safety flags raised: {', '.join(sorted(set(flags)))}."
    return text


def close_session(db: Session, session: CoachSession) -> None:
    session.summary = summarise(db, session)
    if session.ended_at is None:
        session.ended_at = utcnow()


def memory_lines(db: Session, patient_id: int, exclude_session: int | None = None,
                 limit: int = 3) -> list[str]:
    """Summaries of the latest earlier sessions, closing any a killed process left open."""
    sessions = db.scalars(
        select(CoachSession).where(CoachSession.patient_id == patient_id,
                                   CoachSession.kind == "coaching")
        .order_by(CoachSession.started_at.desc(), CoachSession.id.desc())
    ).all()
    lines = []
    for s in sessions:
        if s.id == exclude_session:
            continue
        if not s.summary:
            close_session(db, s)
        if s.summary != "no conversation":
            lines.append(f"{s.started_at:%d %b %Y}: {s.summary}")
        if len(lines) >= limit:
            break
    return list(reversed(lines))
