"""Tables of the memory sessions (Dignity Therapy) and the legacy document they produce.

The patient's answers themselves are ordinary `Turn` rows in `sessions` of kind
`memory`, so they are committed the moment they exist, exactly like coaching turns.
These tables hold what is particular to a memory session: the consent, where the
interview stands, which turn answered which prompt (and its recording), and the
document with every paragraph's source turns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coach.store.schema import Base, utcnow


class LegacyConsent(Base):
    """What the patient agreed to, when, and whether they have taken it back."""

    __tablename__ = "legacy_consents"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    given_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    explained: Mapped[str] = mapped_column(Text)
    """The exact explanation shown, so what was agreed to can be read back word for word."""
    explained_id: Mapped[str] = mapped_column(String(40))
    """Version id of that explanation (e.g. `legacy-consent-v1`)."""
    proxy_name: Mapped[str] = mapped_column(String(200), default="")
    """Someone the patient names to review and approve the document for them."""
    share_with_clinician: Mapped[bool] = mapped_column(Boolean, default=False)
    """Whether the care team may read the content, not only the session's status."""
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    withdrawal_choice: Mapped[str] = mapped_column(String(10), default="")
    """`delete` (content erased) or `lock` (kept encrypted, shown and exported to no one)."""


class LegacyInterview(Base):
    """Where the guided interview stands; updated in the same commit as each answer."""

    __tablename__ = "legacy_interviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("legacy_consents.id"))
    question_index: Mapped[int] = mapped_column(Integer, default=0)
    """0-based index into the nine prompts of the one being asked now (9 = all asked)."""
    stage: Mapped[str] = mapped_column(String(10), default="prompt")
    """`prompt` (the question itself is open) or `followup` (its follow-up is open)."""
    skipped: Mapped[list[int]] = mapped_column(JSON, default=list)
    """Prompt numbers (1-9) the patient chose to skip."""
    status: Mapped[str] = mapped_column(String(12), default="active")
    """`active`, `paused`, `finished`, `locked` or `deleted`."""
    sittings: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    answers: Mapped[list[LegacyAnswer]] = relationship(back_populates="interview",
                                                       order_by="LegacyAnswer.id")


class LegacyAnswer(Base):
    """Links one patient turn to the prompt it answers (and keeps its recording, encrypted)."""

    __tablename__ = "legacy_answers"
    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("legacy_interviews.id"), index=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"))
    question: Mapped[int] = mapped_column(Integer)
    """Prompt number 1-9."""
    stage: Mapped[str] = mapped_column(String(10))
    """`prompt` or `followup`: which question the turn answered."""
    recording: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """The patient's own audio file, byte for byte, inside the encrypted store (never synthetic)."""
    recording_name: Mapped[str] = mapped_column(String(200), default="")
    held_back: Mapped[bool] = mapped_column(Boolean, default=False)
    """Raised a crisis or emergency flag: left out of the draft unless the patient puts it back."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    interview: Mapped[LegacyInterview] = relationship(back_populates="answers")


class LegacyDocument(Base):
    """One version of the legacy document: a draft until the patient or their proxy approves."""

    __tablename__ = "legacy_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("legacy_interviews.id"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    """`draft` or `approved`."""
    titles_by: Mapped[str] = mapped_column(String(60), default="")
    """`protocol` (the fixed theme titles) or `model:NAME` when the model proposed them."""
    check: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The traceability check's figures when the draft was built."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Every edit, removal and approval: who, when, which paragraph, the text before."""

    paragraphs: Mapped[list[LegacyParagraph]] = relationship(
        back_populates="document", order_by="LegacyParagraph.position", cascade="all, delete-orphan")


class LegacyParagraph(Base):
    """A paragraph of the document and the transcript turns its sentences came from."""

    __tablename__ = "legacy_paragraphs"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("legacy_documents.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    question: Mapped[int] = mapped_column(Integer)
    """The prompt (1-9) whose theme this paragraph belongs to."""
    section_title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    source_turn_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    original_text: Mapped[str] = mapped_column(Text, default="")
    """The text as built from the transcript, kept when the patient edits it."""
    edited_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)

    document: Mapped[LegacyDocument] = relationship(back_populates="paragraphs")
