"""One coaching session: triage each message, answer it, store every turn as it happens.

The order inside a turn is the safety design:
1. the patient's words are committed (nothing said is ever lost);
2. triage runs before any model; crisis and emergency get a fixed reply and a flag;
3. reviewed passages are retrieved for the message; a request for health information
   with nothing relevant behind it gets a fixed "no reviewed information" reply;
4. only then is the model asked, and each sentence it writes passes the output safety
   check and the citation check (see `coach.grounding`) before it is shown;
5. the reply is committed, with the passages it cited; if the process dies or the
   patient interrupts, what was said so far is stored as `interrupted`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select

from coach import goals as goals_mod
from coach import moves
from coach.grounding import (
    NO_INFO_REPLY,
    NO_INFO_REPLY_ID,
    Grounding,
    Knowledge,
    asks_for_information,
    figures,
    only_proposes,
    repeats,
    strip_citations,
)
from coach.llm.base import GenerationOptions, LanguageModel, LLMError, Message
from coach.memory import close_session, memory_lines
from coach.persona import system_prompt
from coach.safety import Category, Triage, TriageResult, check_output, fixed_reply
from coach.safety.check_in import Answer, read_answer
from coach.safety.normalise import mend, normalise
from coach.safety.output_check import SAFE_REPLACEMENT
from coach.safety.replies import CHECK_IN_REPLY_IDS, SAFETY_REPLY_IDS
from coach.safety.setting import Setting, last_question
from coach.safety.triage import TriageInputError
from coach.sentences import plain, speakable, split_sentences, unnarrated
from coach.store.db import Store
from coach.store.schema import CoachSession, Flag, Goal, Patient, Turn
from knowledge.retriever import QueryError

HISTORY_MIN, HISTORY_STEP = 6, 6
"""Earlier turns of this session sent with each request: from 6 to 11 of them (older ones
live in the summary). The window's start moves 6 turns at a time, not one turn at a time:
consecutive prompts then share their beginning, which the model has cached (the last
reply is read into it while the patient listens), where a sliding window would make every
turn of a longer session re-read its whole history."""

MAX_SENTENCES = 4
"""A reply is spoken aloud: past four sentences a listener loses the thread, and the
small models do not keep to a length they are asked for, so the coach stops them."""
MAX_WORDS = 60
"""About 20 seconds of speech; a sentence that would go past it is left out."""
QUESTION_ROOM = 12
"""Words kept free for the question a reply ends with: a statement that would leave less
room is left out, so a long reflection does not crowd out the open question."""
LEAD_FACTS = 3
"""After the reviewed answer, the model may add a reviewed fact only while the reply has
fewer sentences than this; its question back is always kept (within MAX_WORDS)."""
FOLLOW_UP_WORDS = 16
"""A question this short may lean on the turn before it (see Conversation._ground)."""

FAILED_REPLY = (
    "I'm sorry, I'm having trouble answering right now. What you said is saved. "
    "If anything feels urgent, please contact your care team."
)


UNSUPPORTED_REPLY = (
    "I only want to share what I have reviewed information for, and I don't have a good "
    "answer to that. Could you tell me a little more, or ask your care team?"
)


class ConversationError(Exception):
    pass


def _count(shown: list[str]) -> int:
    """Sentences said so far: one shown piece (a reviewed answer) may hold two."""
    return sum(len(list(split_sentences([piece], min_chars=1))) for piece in shown)


def _length(shown: list[str]) -> int:
    return sum(len(strip_citations(piece).split()) for piece in shown)


def _until(stream: Iterator[str], cancel: threading.Event) -> Iterator[str]:
    """The model's tokens until `cancel` is set (checked per token, so within tens of ms)."""
    for piece in stream:
        if cancel.is_set():
            return
        yield piece


@dataclass
class TurnOutcome:
    """What happened in the last turn, for the CLI, benchmarks and tests."""

    triage: TriageResult
    text: str = ""
    source: str = ""
    status: str = "complete"
    blocked: list[str] = field(default_factory=list)
    patient_turn_id: int = 0
    coach_turn_id: int = 0
    flag_id: int | None = None
    sources: list[dict[str, object]] = field(default_factory=list)
    """The passages the reply cites, numbered as in its text ([1], [2])."""
    dropped: list[str] = field(default_factory=list)
    """Sentences removed because no reviewed passage supported them."""
    move: str = ""
    """What the turn was for (coach.moves): answer, reflect, ambivalence or plan."""


class Conversation:
    """A patient's sitting with the coach. Use `reply(text)` and iterate the sentences."""

    def __init__(self, store: Store, patient_id: int, triage: Triage,
                 model: Callable[[], LanguageModel], options: GenerationOptions,
                 locale: str = "US", warm: bool = False, knowledge: Knowledge | None = None) -> None:
        self.store = store
        self.triage = triage
        self.knowledge = knowledge
        self.warm = warm
        self._model_factory = model
        self._model: LanguageModel | None = None
        self.options = options
        self.locale = locale
        with store.session() as db:
            patient = db.get(Patient, patient_id)
            if patient is None:
                raise ConversationError(
                    f"no patient with id {patient_id}; see `coach patients list`"
                )
            self.patient_name = patient.address_as
            self.conditions = list(patient.conditions)
            self.medications = list(patient.medications)
            self.language = patient.language or "en"
            """What the patient speaks (their profile): speech recognition need not guess it."""
            session = CoachSession(patient_id=patient_id)
            db.add(session)
            db.flush()
            self.session_id = session.id
            self.patient_id = patient_id
            active = db.scalars(select(Goal).where(Goal.patient_id == patient_id,
                                                   Goal.status == "active")).all()
            progress = [(g, goals_mod.progress(db, g)) for g in active]
            goal_lines = [goals_mod.describe(g, p) for g, p in progress]
            self.goal_met = any(p.latest_met for _, p in progress)
            """Whether a goal's latest period reached its target: praise for reaching one must
            rest on it (`make demo`: met once, then 12 of 20 minutes, and the model said "you've
            already reached the target ... every day")."""
            memories = memory_lines(db, patient_id, exclude_session=session.id)
            self.system = system_prompt(patient, goal_lines, memories)
        self.last: TurnOutcome | None = None
        self._warm_error: BaseException | None = None
        self._warmer: threading.Thread | None = None
        if warm:
            # Load the model and read the system prompt while the patient types or speaks,
            # so the first reply does not pay for it. Triage never waits for this.
            self._warmer = threading.Thread(target=self._warm, name="coach-warm", daemon=True)
            self._warmer.start()

    def _warm(self) -> None:
        try:
            model = self._model if self._model is not None else self._model_factory()
            model.prefill([Message("system", self.system), *self._history()])
            self._model = model
        except BaseException as exc:  # surfaced when the model is first needed
            self._warm_error = exc

    def _prefill_while_listening(self) -> None:
        """After a reply, read it into the model's cache while the patient listens and
        answers, so the next turn pays only for the new passages and words."""
        if self._warmer is not None or self._model is None:
            return
        self._warmer = threading.Thread(target=self._warm, name="coach-listen", daemon=True)
        self._warmer.start()

    def wait_ready(self) -> float:
        """Wait for background prefill (benchmarks time turns from here); returns seconds waited."""
        started = time.perf_counter()
        if self._warmer is not None:
            self._warmer.join()
        return time.perf_counter() - started

    @property
    def model(self) -> LanguageModel:
        """Loaded on first need: a session that only ever gets fixed replies need not load one."""
        if self._warmer is not None:
            self._warmer.join()
            self._warmer = None
            if self._warm_error is not None:
                error, self._warm_error = self._warm_error, None
                raise error
        if self._model is None:
            self._model = self._model_factory()
        return self._model

    def _add_turn(self, role: str, text: str, **kw: object) -> int:
        with self.store.session() as db:
            last = db.scalar(select(func.coalesce(func.max(Turn.idx), -1))
                             .where(Turn.session_id == self.session_id))
            idx = (last if last is not None else -1) + 1
            turn = Turn(session_id=self.session_id, idx=idx, role=role, text=text, **kw)
            db.add(turn)
            db.flush()
            return turn.id

    def _history(self) -> list[Message]:
        with self.store.session() as db:
            total = db.scalar(select(func.count()).select_from(Turn)
                              .where(Turn.session_id == self.session_id)) or 0
            start = max(0, (total - HISTORY_MIN) // HISTORY_STEP * HISTORY_STEP)
            turns = db.scalars(select(Turn).where(Turn.session_id == self.session_id)
                               .order_by(Turn.idx).offset(start)).all()
        return [Message("user" if t.role == "patient" else "assistant", t.text) for t in turns]

    def reply(self, text: str, cancel: threading.Event | None = None) -> Iterator[str]:
        """Yield the coach's reply sentence by sentence; `self.last` says what happened.

        Setting `cancel` (barge-in) stops generation at the next token; the reply so far
        is stored as interrupted.
        """
        # The patient's own words are stored, but a lone surrogate (invalid UTF-8 read with
        # surrogateescape) is replaced: neither the store nor the tokenizer can encode it.
        text = mend(text).strip()
        if not text:
            raise ConversationError("the message is empty")
        asked_source, asked_text = self._last_coach_turn()
        # What the patient answers is read with the coach's question, but never with a fixed
        # safety reply's: the classifier has not seen those questions, and read with "are
        # you having thoughts of ending your life?" a plain "I'll keep gum in my handbag"
        # scored as a crisis, so one false alarm led to the next (coach bench coaching, dev).
        # A yes or no to a check-in is read by _against_check_in.
        question = "" if asked_source in SAFETY_REPLY_IDS else last_question(asked_text)
        try:
            result = self.triage(text, Setting(question=question))
        except TriageInputError as exc:
            raise ConversationError(str(exc)) from exc
        result = self._against_check_in(text, result, asked_source)
        outcome = TurnOutcome(result)
        self.last = outcome
        outcome.patient_turn_id = self._add_turn("patient", text, triage=result.category.value,
                                                 meta={"triage_reason": result.reason})
        if result.category is not Category.NONE:
            yield from self._fixed(outcome)
            return
        yield from self._generate(outcome, cancel or threading.Event())

    def _last_coach_turn(self) -> tuple[str, str]:
        """The source and text of what the coach said last in this session ("", "" if nothing)."""
        with self.store.reading() as db:
            row = db.execute(select(Turn.source, Turn.text)
                             .where(Turn.session_id == self.session_id, Turn.role == "coach")
                             .order_by(Turn.idx.desc()).limit(1)).first()
        return (row[0] or "", row[1] or "") if row is not None else ("", "")

    def _against_check_in(self, text: str, result: TriageResult, asked: str) -> TriageResult:
        """Read the message as an answer when the coach has just asked a check-in question."""
        if result.category.flags_clinician and not result.check_in:
            return result
        if asked not in CHECK_IN_REPLY_IDS:
            return result
        answer = read_answer(normalise(text))
        if answer is Answer.YES:
            category = Category.EMERGENCY if asked == "emergency-checkin-v1" else Category.CRISIS
            return TriageResult(category, f"answered the check-in question ({asked}) with yes",
                                "check_in", result.scores)
        if answer is Answer.NO and result.check_in:
            # Reassured once; asking again at once would only repeat the question.
            return TriageResult(Category.NONE, f"answered the check-in question ({asked}) with no; "
                                f"{result.reason}", result.source, result.scores)
        return result

    def _fixed(self, outcome: TurnOutcome) -> Iterator[str]:
        result = outcome.triage
        reply = fixed_reply(result.category, self.locale, result.subtype, result.check_in)
        outcome.text, outcome.source = reply.text, reply.reply_id
        outcome.coach_turn_id = self._add_turn("coach", reply.text, source=reply.reply_id)
        if result.category.flags_clinician:
            with self.store.session() as db:
                flag = Flag(patient_id=self.patient_id, session_id=self.session_id,
                            turn_id=outcome.patient_turn_id, category=result.category.value,
                            reason=result.reason)
                db.add(flag)
                db.flush()
                outcome.flag_id = flag.id
        # Sentence by sentence like a model's reply, so the voice starts on the first one
        # instead of synthesising the whole reply first: in a crisis, seconds count.
        yield from split_sentences([reply.text], min_chars=1)

    def _ground(self, text: str, asking: bool, before: str = "") -> Grounding | None:
        """Passages for a request; an empty grounding (every sentence still checked) otherwise.

        A follow-up leans on the turn before it ("What counts as one drink?" then "And how
        many's a bloke meant to stick to in a day?"): when the question alone finds nothing,
        it is searched again with the patient's previous words.
        """
        if self.knowledge is None:
            return None
        if not asking:
            return Grounding(None)
        try:
            grounding = self.knowledge.ground(text, self.conditions)
            if not grounding.passages and before and len(text.split()) <= FOLLOW_UP_WORDS:
                grounding = self.knowledge.ground(f"{before} {text}", self.conditions)
            return grounding
        except QueryError:
            return Grounding(None)

    def _no_information(self, outcome: TurnOutcome) -> Iterator[str]:
        outcome.text, outcome.source = NO_INFO_REPLY, NO_INFO_REPLY_ID
        outcome.coach_turn_id = self._add_turn("coach", NO_INFO_REPLY, source=NO_INFO_REPLY_ID)
        yield from split_sentences([NO_INFO_REPLY], min_chars=1)

    def _generate(self, outcome: TurnOutcome, cancel: threading.Event) -> Iterator[str]:
        history = self._history()
        asking = bool(history) and asks_for_information(history[-1].content)
        before = next((m.content for m in reversed(history[:-1]) if m.role == "user"), "")
        grounding = self._ground(history[-1].content, asking, before) if history else None
        if (asking and grounding is not None and not grounding.passages
                and not only_proposes(history[-1].content)):
            yield from self._no_information(outcome)
            return
        if grounding is not None:
            grounding.known_figures = figures(" ".join([self.system, *(m.content for m in history)]))
        messages = [Message("system", self.system), *history]
        passages = grounding is not None and bool(grounding.passages)
        move = moves.decide(history[-1].content, asking, passages) if history else moves.Move.REFLECT
        outcome.move = move.value
        turn_note = moves.GUIDANCE[move]
        lead = (self.knowledge.lead(grounding, history[-1].content)
                if move is moves.Move.ANSWER and self.knowledge is not None and grounding is not None
                else None)
        if lead is not None and not check_output(lead.text).ok:
            lead = None
        if lead is not None:
            turn_note = moves.after_lead(strip_citations(lead.text))
        if grounding is not None and grounding.passages:
            turn_note = f"{grounding.prompt_message()}\n{turn_note}"
        # Just before the patient's words, so the system prompt's KV cache still applies.
        messages.insert(len(messages) - 1, Message("system", turn_note))
        shown: list[str] = []
        cited: set[int] = set()
        outcome.source = f"model:{self.model.name}"
        outcome.status = "interrupted"
        if lead is not None:
            # The reviewed sentence that answers the question, said before the model has
            # written a word; the model adds a question back (see Knowledge.lead).
            shown.extend(lead.sentences)
            cited.add(lead.passage)
            yield from lead.sentences
        stream = self.model.stream(messages, self.options)
        try:
            for raw in split_sentences(_until(stream, cancel)):
                if cancel.is_set():
                    break
                spoken = speakable(plain(raw))
                sentence = unnarrated(spoken)
                if not sentence:
                    if spoken:
                        outcome.dropped.append(f"narrates the instructions: {spoken}")
                    continue
                verdict = check_output(sentence)
                if not verdict.ok:
                    outcome.blocked.append(f"{verdict.reason}: {sentence}")
                    # One unsafe sentence taints what follows it: stop and point to the team.
                    shown.append(SAFE_REPLACEMENT)
                    yield SAFE_REPLACEMENT
                    break
                if (goals_mod.claims_goal_met(sentence) and not self.goal_met
                        and not goals_mod.says_goal_met(history[-1].content)):
                    outcome.dropped.append(f"a goal reached that no check-in shows: {sentence}")
                    continue
                if lead is not None and repeats(sentence, lead.text):
                    outcome.dropped.append(f"repeats the reviewed answer: {sentence}")
                    continue
                if self.knowledge is not None and grounding is not None:
                    citation = self.knowledge.check(sentence, grounding)
                    if not citation.keep:
                        outcome.dropped.append(f"{citation.reason}: {sentence}")
                        continue
                    sentence = citation.sentence
                    if lead is not None and not citation.cited and not sentence.endswith("?"):
                        # After the reviewed answer, the model adds a question or another
                        # reviewed fact; its own claims once contradicted the answer ("Yes, one
                        # slip means you're back to square one").
                        outcome.dropped.append(f"an uncited claim after the reviewed answer: {sentence}")
                        continue
                    cited.update(citation.cited)
                asks = sentence.rstrip().endswith("?")
                room = MAX_WORDS if asks or not shown else MAX_WORDS - QUESTION_ROOM
                if _length(shown) + len(sentence.split()) > room or (
                        lead is not None and not asks and _count(shown) >= LEAD_FACTS):
                    # Spoken, a long reply loses the listener; a question back still fits.
                    outcome.dropped.append(f"past the reply's length: {sentence}")
                    continue
                shown.append(sentence)
                yield sentence
                if _count(shown) >= MAX_SENTENCES or (lead is not None and asks):
                    break
            if not shown and not cancel.is_set():
                # Every sentence was unsupported: say so rather than go silent; on a report,
                # a feeling or a plan, reflect and ask instead.
                fallback = moves.FALLBACK.get(move, UNSUPPORTED_REPLY)
                shown.append(fallback)
                yield fallback
            if not cancel.is_set():
                outcome.status = "complete"
        except LLMError:
            outcome.status = "failed"
            shown.append(FAILED_REPLY)
            yield FAILED_REPLY
        finally:
            stream.close()  # stops generation now when the reply ends early (cap, block, barge-in)
            outcome.text = " ".join(shown)
            if grounding is not None:
                outcome.sources = [s for s in grounding.sources() if s["n"] in cited]
            meta: dict[str, object] = {"blocked": outcome.blocked} if outcome.blocked else {}
            if outcome.sources:
                meta["citations"] = outcome.sources
            if outcome.dropped:
                meta["dropped"] = outcome.dropped
            if outcome.move:
                meta["move"] = outcome.move
            stats = getattr(self.model, "last_stats", None)
            if stats is not None:
                meta.update(prompt_tokens=stats.prompt_tokens, reused_tokens=stats.reused_tokens)
            outcome.coach_turn_id = self._add_turn("coach", outcome.text or "", source=outcome.source,
                                                   status=outcome.status, meta=meta)
            if outcome.status == "complete" and self.warm:
                self._prefill_while_listening()

    def end(self) -> None:
        with self.store.session() as db:
            session = db.get(CoachSession, self.session_id)
            if session is not None:
                close_session(db, session)

    def close(self) -> None:
        self.end()
        if self._warmer is not None:
            self._warmer.join()
            self._warmer = None
        if self._model is not None:
            self._model.close()
            self._model = None
