"""Make and store the checked note of one session: draft, check, keep what is supported.

The flow is: turns -> readings (deterministic) + drafted statements (model or
extractive) -> support check -> a `Note` whose statements each link to turns.
Dropped statements are counted, never shown. A note a clinician has already
reviewed is not remade.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from coach.llm.base import LanguageModel, LLMError
from coach.notes.check import CheckedStatement, Evidence, content_words
from coach.notes.draft import (
    SECTIONS,
    DraftStatement,
    TranscriptTurn,
    extractive_draft,
    model_draft,
)
from coach.notes.readings import ExtractedReading, extract_readings, missed_medication
from coach.store import audit
from coach.store.clinical import Note, NoteStatement, Reading
from coach.store.db import Store
from coach.store.schema import CoachSession, Turn
from knowledge.embeddings import Embedder


class NoteError(Exception):
    """A note cannot be made as asked; the message says what to do."""


@dataclass
class NoteResult:
    """What making one note produced (for the CLI, the bench and the demo)."""

    session_id: int
    writer: str
    shown: list[CheckedStatement] = field(default_factory=list)
    dropped: list[CheckedStatement] = field(default_factory=list)
    readings: list[tuple[int, ExtractedReading]] = field(default_factory=list)
    missed_medication: str = ""
    note_id: int = 0

    def text(self) -> str:
        """The note as plain text (what the bench scores for fact recall)."""
        return "\n".join(s.text for s in self.shown)


def session_turns(db: Session, session_id: int) -> list[TranscriptTurn]:
    rows = db.scalars(select(Turn).where(Turn.session_id == session_id).order_by(Turn.idx)).all()
    return [TranscriptTurn(t.id, t.idx, t.role, t.text, t.triage, t.source) for t in rows]


def build_note(turns: list[TranscriptTurn], embedder: Embedder | None,
               model: LanguageModel | None = None, max_tokens: int = 320) -> NoteResult:
    """Draft and check a note for these turns; nothing is stored."""
    result = NoteResult(0, "extractive")
    statements: list[CheckedStatement] = []
    for n, turn in enumerate(turns):
        if turn.role != "patient":
            continue
        context = " ".join(t.text for t in turns[max(0, n - 2):n])
        for reading in extract_readings(turn.text, context):
            result.readings.append((turn.id, reading))
            statements.append(CheckedStatement("readings", reading.describe(), [turn.id], 1.0, True))
        if not result.missed_medication:
            sentence = missed_medication(turn.text)
            if sentence:
                result.missed_medication = sentence
                statements.append(CheckedStatement(
                    "observations", f'Patient said they missed medication: "{sentence}"',
                    [turn.id], 1.0, True))
    evidence = Evidence(turns, embedder)
    if model is not None:
        try:
            drafts: list[DraftStatement] = model_draft(model, turns, max_tokens)
            result.writer = f"model:{model.name}"
        except LLMError:
            drafts = []
        _keep(evidence.check(drafts), statements, result)
        # What the model left out is added in the patient's own words, so a terse draft
        # never costs the clinician a fact that was said.
        covered = [content_words(s.text) for s in statements]
        missing = [d for d in extractive_draft(turns)
                   if not _covered(content_words(d.text), covered)]
        _keep(evidence.check(missing), statements, result)
    else:
        _keep(evidence.check(extractive_draft(turns)), statements, result)
    order = {name: i for i, name in enumerate(SECTIONS)}
    result.shown = sorted(statements, key=lambda s: order[s.section])
    return result


def _keep(checked: list[CheckedStatement], statements: list[CheckedStatement], result: NoteResult) -> None:
    seen = {s.text for s in statements}
    for s in checked:
        if s.text in seen:
            continue
        seen.add(s.text)
        (statements if s.verified else result.dropped).append(s)


def _covered(words: set[str], covered: list[set[str]]) -> bool:
    """Most of these words already appear in one statement of the note."""
    return bool(words) and any(len(words & c) >= 0.6 * len(words) for c in covered)


def make_note(db: Session, session_id: int, embedder: Embedder | None,
              model_factory: Callable[[], LanguageModel] | None = None, replace: bool = False) -> NoteResult:
    """Make the note for a stored session (replacing an unreviewed one when asked), in one unit of work."""
    turns = note_turns(db, session_id, replace)
    model = model_factory() if model_factory is not None else None
    return save_note(db, session_id, build_note(turns, embedder, model), replace)


def make_note_in(store: Store, session_id: int, embedder: Embedder | None,
                 model_factory: Callable[[], LanguageModel] | None = None,
                 replace: bool = False, actor: str = "cli") -> NoteResult:
    """The same, audited as `actor`, with the drafting outside any write transaction.

    A model draft takes from seconds to minutes on a CPU; holding the store's write lock
    that long would stall every clinician's page. The turns are read, the note drafted
    with no transaction open, and stored after checking again that nobody noted the
    session (or reviewed its note) meanwhile.
    """
    with store.reading() as db:
        turns = note_turns(db, session_id, replace)
    model = model_factory() if model_factory is not None else None
    result = build_note(turns, embedder, model)
    with store.session() as db:
        saved = save_note(db, session_id, result, replace)
        owner = db.scalar(select(CoachSession.patient_id).where(CoachSession.id == session_id))
        audit.record(db, actor, "make_note", patient_id=owner, target=f"note:{saved.note_id}")
        return saved


def note_turns(db: Session, session_id: int, replace: bool) -> list[TranscriptTurn]:
    """The turns to write a note about; NoteError when this session may not get one."""
    session = db.get(CoachSession, session_id)
    if session is None:
        raise NoteError(f"no session with id {session_id}; see `coach patients show PATIENT`")
    if session.kind == "memory":
        # A legacy interview is the patient's own record, not a clinical encounter.
        raise NoteError(f"session {session_id} is a palliative memory session: it gets no clinical note; "
                        "its progress shows in `coach memory status`")
    _existing(db, session_id, replace)
    turns = session_turns(db, session_id)
    if not turns:
        raise NoteError(f"session {session_id} has no turns to write a note about")
    return turns


def _existing(db: Session, session_id: int, replace: bool) -> Note | None:
    existing = db.scalar(select(Note).where(Note.session_id == session_id))
    if existing is not None:
        if existing.reviewed_at is not None:
            raise NoteError(f"the note of session {session_id} was reviewed by {existing.reviewed_by}; "
                            "a reviewed note is kept as it is")
        if not replace:
            raise NoteError(f"session {session_id} already has a note; pass --replace to remake it")
    return existing


def save_note(db: Session, session_id: int, result: NoteResult, replace: bool) -> NoteResult:
    """Store a built note (the checks of `note_turns` are made again: time may have passed)."""
    session = db.get(CoachSession, session_id)
    if session is None:
        raise NoteError(f"session {session_id} was deleted while its note was written")
    existing = _existing(db, session_id, replace)
    result.session_id = session_id
    if existing is not None:
        db.execute(delete(NoteStatement).where(NoteStatement.note_id == existing.id))
        db.execute(delete(Reading).where(Reading.session_id == session_id))
        db.delete(existing)
        db.flush()
    note = Note(session_id=session_id, patient_id=session.patient_id, writer=result.writer,
                dropped=len(result.dropped), missed_medication=bool(result.missed_medication))
    db.add(note)
    db.flush()
    for pos, s in enumerate(result.shown):
        db.add(NoteStatement(note_id=note.id, section=s.section, position=pos, text=s.text,
                             turn_ids=s.turn_ids, support=s.support))
    created = {t.id: t for t in db.scalars(select(Turn).where(Turn.session_id == session_id))}
    for turn_id, r in result.readings:
        db.add(Reading(patient_id=session.patient_id, session_id=session_id, turn_id=turn_id,
                       kind=r.kind, value=r.value, value2=r.value2, unit=r.unit, quote=r.quote,
                       taken_at=created[turn_id].created_at,
                       extra={"when": r.when, **r.context}))
    db.flush()
    result.note_id = note.id
    return result
