"""Consent for a memory session: asked first, stored with its date, withdrawable at any time.

Withdrawing is the patient's choice between two outcomes, both final for what the
coach shows: `delete` erases every word and recording of the memory sessions;
`lock` keeps them encrypted but no command shows or exports them until the patient
consents again. Safety flags raised during a session stay for the care team (with
their quoted text redacted on delete): a flag is a clinical record of a risk, not
part of the keepsake.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach.store.legacy import (
    LegacyAnswer,
    LegacyConsent,
    LegacyDocument,
    LegacyInterview,
)
from coach.store.schema import CoachSession, Flag, Patient, Turn, utcnow

CONSENT_ID = "legacy-consent-v1"
CONSENT_TEXT = (
    "Before we begin, here is what this is and what happens to what you say.\n"
    "- I will ask you up to nine questions about your life, one at a time. Everything you say "
    "(typed, or your voice if you record it) is saved on this machine, encrypted.\n"
    "- From your own words I will put together a document for the people you choose. I only "
    "tidy your words (taking out 'um's and repeats); I do not add anything of my own.\n"
    "- Nobody else reads it unless you say so. You, or someone you name, read it first, can "
    "change or remove anything, and decide whether to approve it. Nothing leaves here before that.\n"
    "- Your care team sees only that a memory session is under way, not what you said, unless "
    "you allow it. If something you say worries me for your safety, I will let them know.\n"
    "- You can skip any question, pause, or stop at any time. You can also take back this "
    "consent later and choose whether what you said is deleted or locked away."
)


class ConsentError(Exception):
    """Consent is missing, withdrawn, or cannot be changed as asked; the message says what to do."""


@dataclass(frozen=True)
class Withdrawal:
    choice: str
    turns: int
    """Patient and coach turns erased (delete) or locked."""
    documents: int
    message: str


def current_consent(db: Session, patient_id: int) -> LegacyConsent | None:
    """The latest consent still in force, if any."""
    return db.scalar(
        select(LegacyConsent).where(LegacyConsent.patient_id == patient_id,
                                    LegacyConsent.withdrawn_at.is_(None))
        .order_by(LegacyConsent.id.desc())
    )


def latest_consent(db: Session, patient_id: int) -> LegacyConsent | None:
    return db.scalar(select(LegacyConsent).where(LegacyConsent.patient_id == patient_id)
                     .order_by(LegacyConsent.id.desc()))


def require_consent(db: Session, patient_id: int) -> LegacyConsent:
    consent = current_consent(db, patient_id)
    if consent is not None:
        return consent
    latest = latest_consent(db, patient_id)
    if latest is not None and latest.withdrawal_choice == "delete":
        raise ConsentError(
            f"patient {patient_id} withdrew consent on {latest.withdrawn_at:%Y-%m-%d} and their "
            f"memory session was deleted; start again with `coach memory start --patient {patient_id}`"
        )
    if latest is not None:
        raise ConsentError(
            f"patient {patient_id} withdrew consent on {latest.withdrawn_at:%Y-%m-%d}; their words "
            "are locked. To unlock them the patient must consent again: "
            f"`coach memory start --patient {patient_id}`"
        )
    raise ConsentError(
        f"patient {patient_id} has not consented to a memory session; run "
        f"`coach memory start --patient {patient_id}` to read them what it involves and ask"
    )


def give_consent(db: Session, patient_id: int, proxy_name: str = "",
                 share_with_clinician: bool = False) -> LegacyConsent:
    """Record consent, dated now. A locked interview becomes readable again under it."""
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise ConsentError(f"no patient with id {patient_id}; see `coach patients list`")
    existing = current_consent(db, patient_id)
    if existing is not None:
        return existing
    consent = LegacyConsent(patient_id=patient_id, explained=CONSENT_TEXT, explained_id=CONSENT_ID,
                            proxy_name=proxy_name.strip(), share_with_clinician=share_with_clinician)
    db.add(consent)
    db.flush()
    for interview in db.scalars(select(LegacyInterview).where(
            LegacyInterview.patient_id == patient_id, LegacyInterview.status == "locked")):
        interview.status = "paused"
        interview.consent_id = consent.id
        interview.updated_at = utcnow()
    return consent


def _memory_sessions(db: Session, patient_id: int) -> list[CoachSession]:
    return list(db.scalars(select(CoachSession).where(CoachSession.patient_id == patient_id,
                                                      CoachSession.kind == "memory")))


def withdraw_consent(db: Session, patient_id: int, choice: str) -> Withdrawal:
    """Take consent back; `choice` is `delete` or `lock` (the patient's, asked explicitly)."""
    if choice not in ("delete", "lock"):
        raise ConsentError("say what should happen to what was said: --delete or --lock")
    consent = current_consent(db, patient_id)
    latest = latest_consent(db, patient_id)
    if consent is None and not (latest is not None and latest.withdrawal_choice == "lock"
                                and choice == "delete"):
        raise ConsentError(f"patient {patient_id} has no consent in force to withdraw")
    now = utcnow()
    target = consent or latest
    assert target is not None
    if consent is not None:
        consent.withdrawn_at = now
    target.withdrawal_choice = choice
    sessions = _memory_sessions(db, patient_id)
    session_ids = [s.id for s in sessions]
    turns = list(db.scalars(select(Turn).where(Turn.session_id.in_(session_ids)))) if session_ids else []
    interviews = list(db.scalars(select(LegacyInterview).where(LegacyInterview.patient_id == patient_id)))
    documents = list(db.scalars(select(LegacyDocument).where(LegacyDocument.patient_id == patient_id)))
    if choice == "lock":
        for interview in interviews:
            if interview.status != "deleted":
                interview.status = "locked"
                interview.updated_at = now
        return Withdrawal("lock", len(turns), len(documents),
                          f"Consent withdrawn. {len(turns)} turns and {len(documents)} document "
                          "version(s) are locked: kept encrypted, shown and exported to no one. "
                          "Consenting again unlocks them; withdrawing with --delete erases them.")
    for flag in db.scalars(select(Flag).where(Flag.session_id.in_(session_ids))) if session_ids else []:
        flag.turn_id = None
        flag.session_id = None
        flag.reason = "from a memory session whose content the patient deleted"
    for document in documents:
        for paragraph in list(document.paragraphs):
            db.delete(paragraph)
        db.delete(document)
    db.flush()
    for interview in interviews:
        for answer in db.scalars(select(LegacyAnswer).where(LegacyAnswer.interview_id == interview.id)):
            db.delete(answer)
        interview.status = "deleted"
        interview.updated_at = now
    db.flush()
    for turn in turns:
        db.delete(turn)
    db.flush()
    for session in sessions:
        db.delete(session)
    return Withdrawal("delete", len(turns), len(documents),
                      f"Consent withdrawn. {len(turns)} turns, their recordings and "
                      f"{len(documents)} document version(s) are deleted for good. Safety flags "
                      "raised for the care team are kept, without the words.")
