"""What the care team may see of a memory session: where it stands, not what was said.

`legacy_status` is what the clinician dashboard calls. It never returns the
patient's words unless their consent allows the care team to read them; safety
flags are counted here and shown by the dashboard's own flag list.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coach.legacy.consent import latest_consent
from coach.legacy.document import latest_document
from coach.legacy.interview import open_interview
from coach.legacy.protocol import PROMPTS
from coach.store.legacy import LegacyAnswer
from coach.store.schema import CoachSession, Flag, Turn


def legacy_status(db: Session, patient_id: int) -> dict[str, Any]:
    """The memory session of one patient, as a clinician may see it.

    Keys: `consent` (`none`, `given`, `withdrawn`), `consent_date`, `proxy`,
    `content_shared`, `status` (`not started`, `active`, `paused`, `finished`, `locked`,
    `deleted`), `questions_total`, `questions_answered`, `questions_skipped`, `sittings`,
    `last_activity`, `document` (`none`, `draft`, `approved`), `document_version`,
    `approved_by`, `approved_at`, `flags` (crisis/emergency flags raised in memory
    sessions), `answers_held_back` (flagged answers left out of the draft), and
    `content` (the document's paragraphs) only when `content_shared`.
    """
    consent = latest_consent(db, patient_id)
    interview = open_interview(db, patient_id)
    withdrawn = consent is not None and consent.withdrawn_at is not None
    status: dict[str, Any] = {
        "patient_id": patient_id,
        "consent": "none" if consent is None else ("withdrawn" if withdrawn else "given"),
        "consent_date": consent.given_at.date().isoformat() if consent is not None else None,
        "withdrawn_date": consent.withdrawn_at.date().isoformat()
        if consent is not None and consent.withdrawn_at is not None else None,
        "proxy": (consent.proxy_name or None) if consent is not None else None,
        "content_shared": bool(consent is not None and not withdrawn and consent.share_with_clinician),
        "status": "not started",
        "questions_total": len(PROMPTS),
        "questions_answered": 0,
        "questions_skipped": 0,
        "sittings": 0,
        "last_activity": None,
        "document": "none",
        "document_version": None,
        "approved_by": None,
        "approved_at": None,
        "flags": 0,
        "answers_held_back": 0,
    }
    if withdrawn and consent is not None and consent.withdrawal_choice == "delete":
        status["status"] = "deleted"
    if interview is None:
        return status
    answered = db.scalar(select(func.count(func.distinct(LegacyAnswer.question)))
                         .join(Turn, LegacyAnswer.turn_id == Turn.id)
                         .where(LegacyAnswer.interview_id == interview.id)) or 0
    flags = db.scalar(select(func.count(Flag.id)).join(CoachSession, Flag.session_id == CoachSession.id)
                      .where(CoachSession.patient_id == patient_id, CoachSession.kind == "memory")) or 0
    held = db.scalar(select(func.count(LegacyAnswer.id)).where(LegacyAnswer.interview_id == interview.id,
                                                               LegacyAnswer.held_back.is_(True))) or 0
    status.update(answers_held_back=int(held), status=interview.status, questions_answered=int(answered),
                  questions_skipped=len(interview.skipped), sittings=interview.sittings,
                  last_activity=interview.updated_at.isoformat(timespec="seconds"), flags=int(flags))
    document = latest_document(db, patient_id)
    if document is not None and interview.status not in ("locked", "deleted"):
        status.update(document=document.status, document_version=document.version,
                      approved_by=document.approved_by,
                      approved_at=document.approved_at.isoformat(timespec="seconds")
                      if document.approved_at else None)
        if status["content_shared"]:
            status["content"] = [{"section": p.section_title, "text": p.text}
                                 for p in document.paragraphs if not p.removed]
    return status
