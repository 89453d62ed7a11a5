"""A made-up but realistic load for the clinician app, and the page-time benchmark over it.

`seed_store` writes patients, sessions of alternating patient and coach turns
(with readings, missed doses, and a few crisis or emergency flags in the
patients' words), goals with check-ins and notes, in bulk. `run_web_bench`
signs in through the real app and reads each page's Server-Timing header.
"""

from __future__ import annotations

import random
import secrets
import statistics
from datetime import date, timedelta
from typing import Any

from rich.progress import Progress
from sqlalchemy import func, insert, select

from coach.notes.make import make_note
from coach.notes.readings import extract_readings
from coach.store.accounts import add_user, assign
from coach.store.clinical import Assignment, Note, Reading, User
from coach.store.db import Store
from coach.store.schema import CheckIn, CoachSession, Flag, Goal, Patient, Turn, utcnow

FIRST = ("Ada", "Ben", "Chloe", "Dev", "Edith", "Farid", "Grace", "Hamza", "Ines", "Jon", "Kofi",
         "Lena", "Mo", "Nora", "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tess", "Uma", "Viktor")
LAST = ("Adams", "Brook", "Chen", "Diaz", "Evans", "Fox", "Gupta", "Hale", "Ito", "Jones", "Khan",
        "Lopez", "Moss", "Novak", "Okafor", "Patel", "Reyes", "Silva", "Tan", "Usman", "Wood")
CONDITIONS = ("hypertension", "type 2 diabetes", "heart failure", "COPD")

PATIENT_LINES = (
    "My blood pressure was {sys}/{dia} this morning.",
    "I walked about {steps} steps yesterday.",
    "My sugar was {glu} before breakfast.",
    "I weighed {kg} kg on the bathroom scales.",
    "I forgot my metformin on {day}.",
    "I've been sleeping badly, maybe five hours a night.",
    "My knees ache after walking for fifteen minutes.",
    "I'm going to try walking after lunch every day next week.",
    "I had a good week and felt more energetic.",
    "Work has been stressful and I skipped my walks.",
    "I cooked at home four nights this week.",
    "I'm worried about my breathing on the stairs.",
)
COACH_LINES = (
    "Thanks for telling me. How did that feel?",
    "That's a real step forward. What helped you do it?",
    "Would a short walk after lunch fit into your day?",
    "Let's plan two small walks for next week.",
    "It might help to note your readings at the same time each day.",
    "Your care team would like to hear about that at your next visit.",
)
CRISIS_LINE = "Some days I feel everyone would be better off without me."
EMERGENCY_LINE = "I have crushing chest pain and my left arm feels numb."


def seed_store(store: Store, patients: int, turns: int, notes: int, clinician: str,
               password: str | None, progress: bool = True, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    now = utcnow()
    per_patient = max(turns // max(patients, 1), 2)
    sessions_each = max(per_patient // 10, 1)
    turns_each = max(per_patient // sessions_each, 2)
    generated = password or secrets.token_urlsafe(12)
    created_sessions: list[int] = []
    turn_total = 0
    with Progress(disable=not progress, transient=True) as bar, store.session() as db:
        task = bar.add_task("seeding", total=patients)
        user = db.scalar(select(User).where(User.username == clinician))
        if user is None:
            user = add_user(db, clinician, generated, "clinician", "Seed clinician")
        else:
            generated = ""
        for p in range(patients):
            patient = Patient(name=f"{rng.choice(FIRST)} {rng.choice(LAST)} #{p + 1}",
                              age_band=rng.choice(("50-59", "60-69", "70-79", "80-89")),
                              conditions=rng.sample(CONDITIONS, rng.randint(1, 2)),
                              medications=["metformin"] if rng.random() < 0.5 else ["amlodipine"])
            db.add(patient)
            db.flush()
            assign(db, user, patient.id)
            goal = Goal(patient_id=patient.id, description="walk most days", measure="steps",
                        target=6000, unit="steps", period="day", start_date=date.today() - timedelta(days=30))
            db.add(goal)
            db.flush()
            db.execute(insert(CheckIn), [
                {"goal_id": goal.id, "day": date.today() - timedelta(days=d),
                 "value": float(rng.randint(2500, 9000)), "note": "", "created_at": now}
                for d in range(0, 28, 3)])
            sys_base = rng.randint(118, 150)
            last_days = rng.choice((1, 2, 3, 5, 9, 12, 20))
            for s in range(sessions_each):
                back = last_days + (sessions_each - 1 - s) * 4
                started = now - timedelta(days=back, hours=rng.randint(0, 8))
                session = CoachSession(patient_id=patient.id, started_at=started,
                                       ended_at=started + timedelta(minutes=12), summary="seeded")
                db.add(session)
                db.flush()
                created_sessions.append(session.id)
                rows = []
                for i in range(turns_each):
                    role = "patient" if i % 2 == 0 else "coach"
                    triage = ""
                    if role == "patient":
                        line = rng.choice(PATIENT_LINES).format(
                            sys=sys_base + s * rng.randint(0, 6), dia=rng.randint(72, 96),
                            steps=f"{rng.randint(20, 95) * 100:,}", glu=round(rng.uniform(5.2, 11.5), 1),
                            kg=rng.randint(60, 110), day=rng.choice(("Monday", "Thursday", "Saturday")))
                        if i == 0 and rng.random() < 0.03:
                            line, triage = ((CRISIS_LINE, "crisis") if rng.random() < 0.5
                                            else (EMERGENCY_LINE, "emergency"))
                    else:
                        line = rng.choice(COACH_LINES)
                    rows.append({"session_id": session.id, "idx": i, "role": role, "text": line,
                                 "created_at": started + timedelta(seconds=30 * i), "source":
                                 "model:seed" if role == "coach" else "", "status": "complete",
                                 "triage": triage, "meta": {}})
                db.execute(insert(Turn), rows)
                turn_total += len(rows)
                for row in rows:
                    if row["triage"]:
                        turn_id = db.scalar(select(Turn.id).where(Turn.session_id == session.id,
                                                                  Turn.idx == row["idx"]))
                        db.add(Flag(patient_id=patient.id, session_id=session.id, turn_id=turn_id,
                                    category=row["triage"], reason="seeded statement", created_at=started))
            bar.advance(task)
        db.flush()
        noted = set(rng.sample(created_sessions, min(notes, len(created_sessions))))
        task = bar.add_task("notes and readings", total=len(created_sessions))
        for sid in created_sessions:
            if sid in noted:
                make_note(db, sid, None)
            else:
                owner = db.scalar(select(CoachSession.patient_id).where(CoachSession.id == sid))
                for turn in db.scalars(select(Turn).where(Turn.session_id == sid, Turn.role == "patient")):
                    for r in extract_readings(turn.text):
                        db.add(Reading(patient_id=owner, session_id=sid, turn_id=turn.id,
                                       kind=r.kind, value=r.value, value2=r.value2, unit=r.unit,
                                       quote=r.quote, taken_at=turn.created_at, extra={}))
            bar.advance(task)
    return {"patients": patients, "sessions": len(created_sessions), "turns": turn_total,
            "notes": len(noted), "clinician": clinician, "password": generated}


def _timed(client: Any, path: str) -> float:
    response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")
    header = response.headers.get("server-timing", "")
    return float(header.split("dur=")[1]) if "dur=" in header else float("nan")


def run_web_bench(store: Store, runs: int = 30) -> dict[str, Any]:
    """Sign in as a temporary admin and time the pages (the admin is removed afterwards)."""
    from fastapi.testclient import TestClient
    from sqlalchemy import delete

    from coach.store.clinical import WebSession
    from coach.web.app import create_app

    name, password = f"bench-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    with store.session() as db:
        patients = db.scalar(select(func.count()).select_from(Patient)) or 0
        turns = db.scalar(select(func.count()).select_from(Turn)) or 0
        note = db.scalar(select(Note).order_by(Note.id.desc()).limit(1))
        if patients == 0 or note is None:
            raise RuntimeError("the store has no patients or notes; run `coach seed` first")
        user = add_user(db, name, password, "admin", "Benchmark")
        note_id, session_id, patient_id = note.id, note.session_id, note.patient_id
    try:
        client = TestClient(create_app(store))
        form = client.get("/login")
        token = form.cookies.get("coach_login_csrf") or client.cookies.get("coach_login_csrf")
        client.post("/login", data={"username": name, "password": password, "csrf": token, "next": "/"},
                    follow_redirects=False)
        pages = {"dashboard": "/", "patient": f"/patients/{patient_id}", "note": f"/notes/{note_id}",
                 "transcript": f"/sessions/{session_id}/transcript"}
        report: dict[str, Any] = {"patients": patients, "turns": turns, "pages": {}}
        for label, path in pages.items():
            _timed(client, path)  # warm caches and the connection pool
            times = sorted(_timed(client, path) for _ in range(runs))
            report["pages"][label] = {"median_ms": round(statistics.median(times), 1),
                                      "p90_ms": round(times[int(0.9 * (len(times) - 1))], 1),
                                      "runs": runs}
        return report
    finally:
        with store.session() as db:
            db.execute(delete(WebSession).where(WebSession.user_id == user.id))
            db.execute(delete(Assignment).where(Assignment.user_id == user.id))
            db.execute(delete(User).where(User.id == user.id))
