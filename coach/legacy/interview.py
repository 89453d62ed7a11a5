"""A memory session: the nine prompts one at a time, every answer committed as it comes.

Each answer is one transaction: the patient's turn, which prompt it answered, its
recording (if spoken), the coach's next words and the interview's new position are
written together. A process killed mid-answer therefore loses only that answer, and
the next sitting resumes at the open question.

Triage runs on every answer before anything else is decided. Crisis and emergency
statements get the same fixed reply and clinician flag as in coaching, the question
stays open, and the statement never goes into the document.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coach.legacy.consent import ConsentError, require_consent
from coach.legacy.protocol import (
    CLOSING,
    FIXED_CONTINUE,
    GENTLE_RETURN,
    PAUSED,
    PROMPTS,
    RESUME,
    SKIPPED,
    WELCOME,
    follow_up,
)
from coach.legacy.safety import asks_first, memory_category
from coach.safety import Category, TriageResult, fixed_reply
from coach.safety.normalise import mend
from coach.safety.setting import Setting
from coach.safety.triage import TriageInputError
from coach.store.db import Store
from coach.store.legacy import LegacyAnswer, LegacyInterview
from coach.store.schema import CoachSession, Flag, Patient, Turn, utcnow

Triager = Callable[[str, Setting], TriageResult]
SKIP_WORDS = frozenset({"/skip", "skip", "pass", "next", "next question", "skip this one"})
PAUSE_WORDS = frozenset({"/pause", "pause", "/stop", "stop", "/quit", "quit", "/exit", "exit"})


class InterviewError(Exception):
    """The session cannot go on as asked; the message says what to do."""


@dataclass(frozen=True)
class Step:
    """One thing the coach says, and why it says it."""

    kind: str
    """`welcome`, `prompt`, `followup`, `skipped`, `fixed`, `paused` or `closing`."""
    text: str
    question: int = 0
    """The prompt (1-9) this belongs to; 0 when none."""
    triage: str = "none"
    flag_id: int | None = None


def open_interview(db: Session, patient_id: int) -> LegacyInterview | None:
    """The patient's interview that is not deleted (at most one is ever open)."""
    return db.scalar(select(LegacyInterview).where(LegacyInterview.patient_id == patient_id,
                                                   LegacyInterview.status != "deleted")
                     .order_by(LegacyInterview.id.desc()))


class Interview:
    """One sitting of a patient's memory session; `opening()`, then `answer()` per reply."""

    def __init__(self, store: Store, patient_id: int, triage: Triager, locale: str = "US",
                 resume_only: bool = False) -> None:
        self.store = store
        self.triage = triage
        self.locale = locale
        self.patient_id = patient_id
        with store.session() as db:
            patient = db.get(Patient, patient_id)
            if patient is None:
                raise InterviewError(f"no patient with id {patient_id}; see `coach patients list`")
            self.patient_name = patient.address_as
            consent = require_consent(db, patient_id)
            interview = open_interview(db, patient_id)
            if interview is None and resume_only:
                raise InterviewError(f"patient {patient_id} has no memory session to resume; start "
                                     f"one with `coach memory start --patient {patient_id}`")
            self.resumed = interview is not None and interview.sittings > 0
            if interview is None:
                interview = LegacyInterview(patient_id=patient_id, consent_id=consent.id, skipped=[],
                                            sittings=0, question_index=0, stage="prompt")
                db.add(interview)
            if interview.status == "locked":
                raise ConsentError(f"patient {patient_id}'s memory session is locked; the patient "
                                   "must consent again to open it")
            if interview.status == "finished":
                raise InterviewError(
                    "all nine questions have been asked in this memory session; read the document "
                    f"with `coach memory document --patient {patient_id} --review`")
            interview.status = "active"
            interview.sittings += 1
            interview.updated_at = utcnow()
            session = CoachSession(patient_id=patient_id, kind="memory")
            db.add(session)
            db.flush()
            self.interview_id = interview.id
            self.session_id = session.id
        self.finished = False
        self.paused = False

    # --- state -----------------------------------------------------------------------------

    def _interview(self, db: Session) -> LegacyInterview:
        interview = db.get(LegacyInterview, self.interview_id)
        if interview is None or interview.status in ("deleted", "locked"):
            raise ConsentError("consent for this memory session was withdrawn; nothing more is recorded")
        return interview

    def _add_turn(self, db: Session, role: str, text: str, **kw: object) -> Turn:
        last = db.scalar(select(func.coalesce(func.max(Turn.idx), -1))
                         .where(Turn.session_id == self.session_id))
        turn = Turn(session_id=self.session_id, idx=(last if last is not None else -1) + 1,
                    role=role, text=text, **kw)
        db.add(turn)
        db.flush()
        return turn

    def _say(self, db: Session, step: Step) -> Step:
        source = f"legacy-{step.kind}" + (f"-q{step.question}" if step.question else "")
        self._add_turn(db, "coach", step.text, source=source[:30])
        return step

    def _open_question(self, db: Session, interview: LegacyInterview,
                       last_answer: str = "") -> Step:
        """The question now open (asked anew), or the closing words when all are done."""
        if interview.question_index >= len(PROMPTS):
            interview.status = "finished"
            self.finished = True
            session = db.get(CoachSession, self.session_id)
            if session is not None and session.ended_at is None:
                session.ended_at = utcnow()
                session.summary = "memory session: all questions asked"
            return self._say(db, Step("closing", CLOSING))
        prompt = PROMPTS[interview.question_index]
        if interview.stage == "followup":
            earlier = last_answer or self._last_answer(db, prompt.number)
            text = follow_up(prompt, earlier) if earlier else GENTLE_RETURN
            return self._say(db, Step("followup", text, prompt.number))
        return self._say(db, Step("prompt", prompt.text, prompt.number))

    def _last_answer(self, db: Session, question: int) -> str:
        turn = db.scalar(select(Turn).join(LegacyAnswer, LegacyAnswer.turn_id == Turn.id)
                         .where(LegacyAnswer.interview_id == self.interview_id,
                                LegacyAnswer.question == question, LegacyAnswer.held_back.is_(False))
                         .order_by(LegacyAnswer.id.desc()))
        return turn.text if turn is not None else ""

    def _advance(self, interview: LegacyInterview) -> None:
        if interview.stage == "prompt":
            interview.stage = "followup"
        else:
            interview.stage = "prompt"
            interview.question_index += 1
        interview.updated_at = utcnow()

    # --- what the patient does -------------------------------------------------------------

    def opening(self) -> list[Step]:
        """Welcome (or welcome back) and the open question."""
        with self.store.session() as db:
            interview = self._interview(db)
            first = Step("welcome", RESUME if self.resumed else WELCOME)
            return [self._say(db, first), self._open_question(db, interview)]

    @property
    def question(self) -> int:
        """The prompt number (1-9) open now, or 0 when all are done."""
        with self.store.session() as db:
            index = self._interview(db).question_index
        return PROMPTS[index].number if index < len(PROMPTS) else 0

    def answer(self, text: str, recording: bytes | None = None, recording_name: str = "") -> list[Step]:
        """Store one answer (and its recording), triage it, and say what comes next."""
        # A lone surrogate (pasted, or from a broken terminal) cannot be stored; it becomes U+FFFD.
        text = mend(text).strip()
        if not text:
            raise InterviewError("the answer is empty; type something, /skip or /pause")
        if self.finished:
            raise InterviewError("this memory session is complete; nothing more is asked")
        try:
            # Read as the answer to the question open now: a goodbye is what question 5 asks for.
            result = self.triage(text, Setting(memory=self.question or len(PROMPTS)))
        except TriageInputError as exc:
            raise InterviewError(str(exc)) from exc
        category = memory_category(result, text)
        flagged = category.flags_clinician
        with self.store.session() as db:
            interview = self._interview(db)
            prompt = PROMPTS[interview.question_index]
            meta: dict[str, object] = {"triage_reason": result.reason, "question": prompt.number,
                                       "stage": interview.stage}
            if category is not result.category:
                meta["triage_read_as"] = result.category.value
            turn = self._add_turn(db, "patient", text, triage=category.value, meta=meta)
            db.add(LegacyAnswer(interview_id=interview.id, turn_id=turn.id, question=prompt.number,
                                stage=interview.stage, recording=recording,
                                recording_name=recording_name[:200], held_back=flagged))
            steps: list[Step] = []
            if category is not Category.NONE:
                reply = fixed_reply(category, self.locale, result.subtype, asks_first(result, category),
                                    memory=True)
                flag_id = None
                if flagged:
                    flag = Flag(patient_id=self.patient_id, session_id=self.session_id,
                                turn_id=turn.id, category=category.value, reason=result.reason)
                    db.add(flag)
                    db.flush()
                    flag_id = flag.id
                self._add_turn(db, "coach", reply.text, source=reply.reply_id)
                steps.append(Step("fixed", reply.text, prompt.number, category.value, flag_id))
            if flagged:
                steps.append(self._say(db, Step("fixed", FIXED_CONTINUE, prompt.number)))
                if interview.stage == "prompt":
                    # No follow-up on a statement like that: the patient's next words, whatever
                    # they are, stand as the rest of this answer, and then we go on.
                    interview.stage = "followup"
                    interview.updated_at = utcnow()
                    return steps
            self._advance(interview)
            steps.append(self._open_question(db, interview, text))
            return steps

    def skip(self) -> list[Step]:
        """Leave the open question (or its follow-up) unanswered and go on."""
        with self.store.session() as db:
            interview = self._interview(db)
            if interview.question_index >= len(PROMPTS):
                raise InterviewError("there is no open question to skip")
            number = PROMPTS[interview.question_index].number
            if interview.stage == "prompt" and number not in interview.skipped:
                interview.skipped = [*interview.skipped, number]
            interview.stage = "followup"
            self._advance(interview)
            return [self._say(db, Step("skipped", SKIPPED, number)), self._open_question(db, interview)]

    def pause(self) -> Step:
        """Stop for today; the open question is asked again next time."""
        with self.store.session() as db:
            interview = self._interview(db)
            self.paused = True
            if interview.status == "active":
                interview.status = "paused"
            interview.updated_at = utcnow()
            session = db.get(CoachSession, self.session_id)
            if session is not None and session.ended_at is None:
                session.ended_at = utcnow()
                session.summary = "memory session sitting (content not summarised)"
            return self._say(db, Step("paused", PAUSED))

    def close(self) -> None:
        """End the sitting; an unfinished interview is left paused for next time."""
        if self.finished or self.paused:
            return
        with contextlib.suppress(ConsentError):
            self.pause()
