"""Tables of the clinician side: accounts, who sees whom, notes, readings, web sessions, audit.

They sit beside the coach's own tables (`coach.store.schema`) on the same `Base`,
in the same encrypted file: a clinician reads exactly what the coach stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coach.store.schema import Base, Flag, utcnow

ROLES = ("clinician", "admin")

Index("ix_flags_open", Flag.patient_id, Flag.acknowledged_at)
"""The dashboard asks for open flags per patient on every view (created by migration 0002)."""


class User(Base):
    """A person who signs in to the clinician app. Patients never have accounts here."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20), default="clinician")
    """`clinician` (sees assigned patients) or `admin` (manages accounts; sees every patient)."""
    password_hash: Mapped[str] = mapped_column(String(200))
    """An argon2id hash string (salt and parameters inside); the password itself is never kept."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Assignment(Base):
    """A clinician is responsible for a patient, and so may see their record."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("user_id", "patient_id", name="uq_assignment"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WebSession(Base):
    """A signed-in browser. Only a hash of the cookie is stored, so a copied database
    cannot be used to sign in."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    """The token every form and API change of this session must carry."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditEntry(Base):
    """One read or change of patient data by a user. Each entry's hash covers the previous
    entry's hash, so editing or deleting any entry breaks every hash after it."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    target: Mapped[str] = mapped_column(String(100), default="")
    """What was touched, e.g. `note:12`, `flag:3`, `session:7`."""
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64), default="", server_default="")
    """HMAC-SHA256 of `hash` under the audit key, which is kept apart from the database key:
    whoever holds only the database key can recompute every hash, but not these."""


class SignInThrottle(Base):
    """Failed sign-ins of one account from one address, shared by every worker process.

    Keyed by account *and* address so that nobody can lock a clinician out from elsewhere, and
    one address (a proxy, a shared clinic network) cannot lock out every account behind it.
    """

    __tablename__ = "sign_in_throttle"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    """Failures since the window began."""
    window_start: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    """Lockouts in a row; each one lasts twice as long as the one before (backoff)."""


class Note(Base):
    """The clinician's note of one coaching session, every statement checked against the turns."""

    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    writer: Mapped[str] = mapped_column(String(60))
    """`extractive` or `model:<name>`: who drafted the statements before the check."""
    dropped: Mapped[int] = mapped_column(Integer, default=0)
    """Drafted statements the check removed because no turn supported them."""
    missed_medication: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    statements: Mapped[list[NoteStatement]] = relationship(
        back_populates="note", order_by="NoteStatement.position", cascade="all, delete-orphan")


class NoteStatement(Base):
    """One line of a note and the transcript turns that support it."""

    __tablename__ = "note_statements"
    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id"), index=True)
    section: Mapped[str] = mapped_column(String(20))
    """`subjective`, `readings`, `observations` or `plan`."""
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    turn_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    support: Mapped[float] = mapped_column(Float, default=0.0)
    """The best evidence score (0-1) among the linked turns."""

    note: Mapped[Note] = relationship(back_populates="statements")


class Reading(Base):
    """A measurement the patient reported in their own words (never a device feed)."""

    __tablename__ = "readings"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"))
    kind: Mapped[str] = mapped_column(String(20))
    """`blood_pressure`, `glucose`, `weight` or `steps`."""
    value: Mapped[float] = mapped_column(Float)
    value2: Mapped[float | None] = mapped_column(Float, nullable=True)
    """Diastolic pressure for `blood_pressure`; empty otherwise."""
    unit: Mapped[str] = mapped_column(String(20))
    quote: Mapped[str] = mapped_column(Text, default="")
    taken_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
