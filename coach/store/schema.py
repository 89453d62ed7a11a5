"""Tables of the coach's store. Each row type is what one part of the product reads.

Lists (conditions, medications, ...) are JSON columns: they are read whole with
the profile and never queried by element, so separate tables would add joins
without adding any question we can answer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Date, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


class Patient(Base):
    """A patient's profile: what the coach must know to be personal and safe."""

    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    preferred_name: Mapped[str] = mapped_column(String(100), default="")
    age_band: Mapped[str] = mapped_column(String(20), default="")
    """e.g. `60-69`: enough to pitch advice, less identifying than a birth date."""
    conditions: Mapped[list[str]] = mapped_column(default=list)
    medications: Mapped[list[str]] = mapped_column(default=list)
    """Names (and the patient's own schedule, if given); only ever read back, never changed."""
    allergies: Mapped[list[str]] = mapped_column(default=list)
    goals_text: Mapped[str] = mapped_column(Text, default="")
    """The patient's own words about what matters to them (SMART goals live in `goals`)."""
    preferences: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(20), default="en")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    sessions: Mapped[list[CoachSession]] = relationship(back_populates="patient")
    goals: Mapped[list[Goal]] = relationship(back_populates="patient", order_by="Goal.id")

    @property
    def address_as(self) -> str:
        return self.preferred_name or self.name.split()[0]


class CoachSession(Base):
    """One sitting with the coach; its summary feeds the next sitting's prompt."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="coaching")
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    summary: Mapped[str] = mapped_column(Text, default="")

    patient: Mapped[Patient] = relationship(back_populates="sessions")
    turns: Mapped[list[Turn]] = relationship(back_populates="session", order_by="Turn.idx")


class Turn(Base):
    """One utterance, committed as soon as it exists so a crash loses at most the one in flight."""

    __tablename__ = "turns"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(10))
    """`patient` or `coach`."""
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(30), default="")
    """For coach turns: `model`, or the id of the fixed reply given (e.g. `crisis-v1`)."""
    status: Mapped[str] = mapped_column(String(12), default="complete")
    """`complete`, `interrupted` (stopped mid-reply) or `failed`."""
    triage: Mapped[str] = mapped_column(String(20), default="")
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)

    session: Mapped[CoachSession] = relationship(back_populates="turns")


class Goal(Base):
    """A SMART goal: specific action, measure, target, time frame."""

    __tablename__ = "goals"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    """The specific action in the patient's words, e.g. "walk after lunch"."""
    measure: Mapped[str] = mapped_column(String(100))
    """What is counted, e.g. `steps`, `minutes walked`, `servings of vegetables`."""
    target: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(30), default="")
    period: Mapped[str] = mapped_column(String(10), default="day")
    """The target applies per `day` or per `week`."""
    start_date: Mapped[date] = mapped_column(Date, default=date.today)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="active")
    """`active`, `achieved`, `paused` or `dropped`."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="goals")
    checkins: Mapped[list[CheckIn]] = relationship(back_populates="goal", order_by="CheckIn.day")


class CheckIn(Base):
    """What the patient reported for a goal on a given day."""

    __tablename__ = "checkins"
    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id"), index=True)
    day: Mapped[date] = mapped_column(Date, default=date.today)
    value: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    goal: Mapped[Goal] = relationship(back_populates="checkins")


class Flag(Base):
    """Something a clinician must see: a crisis or emergency statement, and who acknowledged it."""

    __tablename__ = "flags"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"), nullable=True)
    turn_id: Mapped[int | None] = mapped_column(ForeignKey("turns.id"), nullable=True)
    category: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
