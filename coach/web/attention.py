"""Which patients need a clinician first, and why.

Order: open crisis or emergency flags, then missed medication, then worsening
readings, then no contact for N days, then everyone else (most recently seen
first). Each is one grouped query over the whole store, so the dashboard costs
the same few queries for 5 patients or 500.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coach.store.clinical import Note, Reading
from coach.store.schema import CoachSession, Flag, Patient, utcnow

_S = TypeVar("_S")

MISSED_MEDICATION_DAYS = 14
"""A missed dose mentioned in a session within this many days still needs a look."""


@dataclass
class PatientAttention:
    patient_id: int
    name: str
    tier: int
    """0 flags, 1 missed medication, 2 worsening readings, 3 no contact, 4 nothing pressing."""
    reasons: list[str] = field(default_factory=list)
    open_flags: int = 0
    last_contact: datetime | None = None
    unreviewed_notes: int = 0

    @property
    def tier_name(self) -> str:
        return ("flag", "medication", "readings", "no-contact", "ok")[self.tier]


def _worsening(readings: list[tuple[str, float, float | None, str]]) -> str:
    """A reason when the latest reading of a kind is high and higher than the one before."""
    by_kind: dict[str, list[tuple[float, float | None, str]]] = defaultdict(list)
    for kind, value, value2, unit in readings:
        by_kind[kind].append((value, value2, unit))
    bp = by_kind.get("blood_pressure", [])
    if len(bp) >= 2:
        (s0, d0, _), (s1, d1, _) = bp[-2], bp[-1]
        if (s1 >= 140 and s1 > s0 + 5) or ((d1 or 0) >= 90 and (d1 or 0) > (d0 or 0) + 5):
            return f"blood pressure rising: {s0:.0f}/{d0 or 0:.0f} then {s1:.0f}/{d1 or 0:.0f}"
    gl = by_kind.get("glucose", [])
    if len(gl) >= 2 and gl[-1][2] == gl[-2][2]:
        high = 10.0 if gl[-1][2] == "mmol/L" else 180.0
        if gl[-1][0] >= high and gl[-1][0] > gl[-2][0]:
            return f"glucose rising: {gl[-2][0]:g} then {gl[-1][0]:g} {gl[-1][2]}"
    wt = by_kind.get("weight", [])
    if len(wt) >= 2 and wt[-1][2] == wt[-2][2]:
        gain = wt[-1][0] - wt[-2][0]
        if gain >= (2.0 if wt[-1][2] == "kg" else 4.4):
            return f"weight up {gain:.1f} {wt[-1][2]} since the last reading"
    return ""


def attention(db: Session, patient_ids: set[int] | None, no_contact_days: int = 7) -> list[PatientAttention]:
    """Patients (all, or those in `patient_ids`) in the order a clinician should look at them."""
    now = utcnow()
    q = select(Patient.id, Patient.name)
    if patient_ids is not None:
        if not patient_ids:
            return []
        q = q.where(Patient.id.in_(patient_ids))

    def only(stmt: _S, column: Any) -> _S:
        if patient_ids is None:
            return stmt
        return cast(_S, cast(Any, stmt).where(column.in_(patient_ids)))

    rows = {pid: PatientAttention(pid, name, 4) for pid, name in db.execute(q)}
    flags = db.execute(only(
        select(Flag.patient_id, Flag.category, func.count()).where(Flag.acknowledged_at.is_(None))
        .group_by(Flag.patient_id, Flag.category), Flag.patient_id))
    for pid, category, count in flags:
        row = rows.get(pid)
        if row is None:
            continue
        row.open_flags += count
        row.tier = 0
        row.reasons.append(f"{count} open {category} flag{'s' if count > 1 else ''}")
    since = now - timedelta(days=MISSED_MEDICATION_DAYS)
    missed = db.execute(only(
        select(Note.patient_id).join(CoachSession, CoachSession.id == Note.session_id)
        .where(Note.missed_medication.is_(True), CoachSession.started_at >= since)
        .group_by(Note.patient_id), Note.patient_id))
    for (pid,) in missed:
        row = rows.get(pid)
        if row is not None:
            row.tier = min(row.tier, 1)
            row.reasons.append("missed medication mentioned")
    per_patient: dict[int, list[tuple[str, float, float | None, str]]] = defaultdict(list)
    for pid, kind, value, value2, unit in db.execute(only(
            select(Reading.patient_id, Reading.kind, Reading.value, Reading.value2, Reading.unit)
            .order_by(Reading.taken_at, Reading.id), Reading.patient_id)):
        per_patient[pid].append((kind, value, value2, unit))
    for pid, readings in per_patient.items():
        row = rows.get(pid)
        reason = _worsening(readings) if row is not None else ""
        if row is not None and reason:
            row.tier = min(row.tier, 2)
            row.reasons.append(reason)
    for pid, last in db.execute(only(
            select(CoachSession.patient_id, func.max(CoachSession.started_at))
            .group_by(CoachSession.patient_id), CoachSession.patient_id)):
        row = rows.get(pid)
        if row is not None:
            row.last_contact = last
    for pid, count in db.execute(only(
            select(Note.patient_id, func.count()).where(Note.reviewed_at.is_(None))
            .group_by(Note.patient_id), Note.patient_id)):
        if pid in rows:
            rows[pid].unreviewed_notes = count
    cutoff = now - timedelta(days=no_contact_days)
    for row in rows.values():
        if row.last_contact is None or row.last_contact < cutoff:
            row.tier = min(row.tier, 3)
            days = (now - row.last_contact).days if row.last_contact else None
            row.reasons.append(f"no contact for {days} days" if days is not None else "no sessions yet")
    return sorted(rows.values(), key=_order)


def _order(row: PatientAttention) -> tuple[int, float, int]:
    """Within a tier: longest silence first for no-contact, most recent contact first otherwise."""
    seen = (row.last_contact - _EPOCH).total_seconds() if row.last_contact else 0.0
    return (row.tier, seen if row.tier == 3 else -seen, row.patient_id)


_EPOCH = datetime(1970, 1, 1)
