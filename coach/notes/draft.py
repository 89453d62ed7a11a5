"""Drafting a session note: the language model's version and a deterministic extractive one.

A draft is only a proposal. Every drafted statement goes through `coach.notes.check`
before a clinician sees it; the readings section is never drafted at all but taken
from `coach.notes.readings`, because a number the model misremembers is the
costliest mistake a note can make.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from coach.llm.base import GenerationOptions, LanguageModel, Message
from coach.notes.readings import split_sentences

SECTIONS = ("subjective", "readings", "observations", "plan")
SECTION_TITLES = {
    "subjective": "What the patient reported",
    "readings": "Readings they mentioned",
    "observations": "Coach observations",
    "plan": "Goals and plan",
}


@dataclass(frozen=True)
class TranscriptTurn:
    """One turn as the note writer and checker see it."""

    id: int
    """The stored turn id: what a statement links to and the transcript anchors on."""
    idx: int
    role: str
    """`patient` or `coach`."""
    text: str
    triage: str = ""
    source: str = ""


@dataclass(frozen=True)
class DraftStatement:
    section: str
    text: str
    cited: tuple[int, ...] = ()
    """Turn ids the writer says it took this from (checked, never trusted)."""


_SMALL_TALK = re.compile(
    r"^(?:hi|hello|hey|thanks?|thank you|ok(?:ay)?|yes|yeah|no|sure|great|good(?: morning| afternoon)?|"
    r"bye|goodbye|see you|cheers|that's all|nothing else)\b[\s\w,!.']{0,25}$", re.IGNORECASE)

_PLAN = re.compile(
    r"\b(?:i will|i'll|i'm going to|i am going to|going to|i plan|plan to|my plan|i want to|i'd like to|"
    r"i'm aiming|i aim|try to|i'll try|next week|tomorrow|from now on|starting|goal|target|"
    r"each day|every day|every morning|every evening)\b", re.IGNORECASE)

_COACH_PLAN = re.compile(
    r"\b(?:let's|how about|you could|you might|try|plan|goal|next week|tomorrow|each day|every day|"
    r"check in|set a)\b", re.IGNORECASE)

_GREETING_START = re.compile(r"^(?:hi|hello|hey)\s+\w+[,.!]?\s*", re.IGNORECASE)


def _clean(sentence: str) -> str:
    sentence = _GREETING_START.sub("", sentence.strip())
    return sentence[:1].upper() + sentence[1:] if sentence else sentence


def _content(sentence: str) -> bool:
    return len(sentence.split()) >= 2 and not _SMALL_TALK.match(sentence)


MAX_SUBJECTIVE = 10


def extractive_draft(turns: Sequence[TranscriptTurn]) -> list[DraftStatement]:
    """The patient's own sentences, quoted, sorted into sections; nothing invented.

    It is the fallback when no model is available and the writer the tests and the
    seeding command use: fast, deterministic, and a lower bound on what the model
    version should reach.
    """
    subjective: list[DraftStatement] = []
    plan: list[DraftStatement] = []
    observations: list[DraftStatement] = []
    for turn in turns:
        if turn.role == "patient":
            if turn.triage in ("crisis", "emergency"):
                observations.append(DraftStatement(
                    "observations", f"Safety triage flagged a {turn.triage} statement; the fixed "
                    f"{turn.triage} reply was given and the care team was alerted.", (turn.id,)))
            for raw in split_sentences(turn.text):
                sentence = _clean(raw)
                if not _content(sentence):
                    continue
                quoted = f'"{sentence}"'
                if _PLAN.search(sentence) and not sentence.endswith("?"):
                    plan.append(DraftStatement("plan", f"Patient's plan: {quoted}", (turn.id,)))
                elif sentence.endswith("?"):
                    subjective.append(DraftStatement("subjective", f"Asked: {quoted}", (turn.id,)))
                else:
                    subjective.append(DraftStatement("subjective", f"Said: {quoted}", (turn.id,)))
        elif turn.source.startswith("model") and turn.role == "coach":
            for raw in split_sentences(turn.text):
                sentence = _clean(raw)
                if _COACH_PLAN.search(sentence) and _content(sentence) and not sentence.endswith("?"):
                    plan.append(DraftStatement("plan", f'Coach suggested: "{sentence}"', (turn.id,)))
    if len(subjective) > MAX_SUBJECTIVE:
        # Keep the statements that say the most, in the order they were said.
        keep = sorted(sorted(range(len(subjective)), key=lambda i: -len(subjective[i].text))[:MAX_SUBJECTIVE])
        subjective = [subjective[i] for i in keep]
    return [*subjective, *observations, *plan[:6]]


NOTE_PROMPT = """You write a short note for a clinician about a coaching conversation.
Use only what the transcript says. Never diagnose, never suggest medicine changes.
Write four sections, each with short bullet lines, and end every line with the turn
numbers it comes from in square brackets, like [T3] or [T2, T5].

SUBJECTIVE: what the patient reported (symptoms, activity, feelings, medication taking).
OBSERVATIONS: what the coach noticed, plainly (no diagnosis).
PLAN: goals and next steps that were agreed.

Layout:
SUBJECTIVE:
- <one thing the patient said> [T1]
OBSERVATIONS:
- <one thing the coach noticed> [T3]
PLAN:
- <one agreed next step> [T5]
"""

_HEADER = re.compile(r"^\s*(?:\*\*|#+\s*)?(subjective|observations?|plan|goals? and plan|readings?)\b"
                     r"[^:\n]*:?\**\s*(.*)$", re.IGNORECASE)
_CITES = re.compile(r"\[\s*(T?\d+(?:\s*[,;]\s*T?\d+)*)\s*\]", re.IGNORECASE)


def format_transcript(turns: Sequence[TranscriptTurn]) -> str:
    lines = []
    for n, turn in enumerate(turns, 1):
        who = "Patient" if turn.role == "patient" else "Coach"
        lines.append(f"T{n} {who}: {' '.join(turn.text.split())}")
    return "\n".join(lines)


def parse_model_note(text: str, turns: Sequence[TranscriptTurn]) -> list[DraftStatement]:
    """Bullet lines under the section headers; `[T3]` becomes turn 3's stored id."""
    section = "subjective"
    out: list[DraftStatement] = []
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            word = header.group(1).lower()
            section = ("plan" if word.startswith(("plan", "goal")) else
                       "observations" if word.startswith("observ") else
                       "readings" if word.startswith("reading") else "subjective")
            line = header.group(2)
        body = line.strip().lstrip("-*•0123456789. ").strip()
        if not body or section == "readings":
            continue
        cited: list[int] = []
        for group in _CITES.findall(body):
            for ref in re.split(r"[,;]", group):
                n = int(ref.strip().lstrip("Tt"))
                if 1 <= n <= len(turns):
                    cited.append(turns[n - 1].id)
        body = _CITES.sub("", body).strip().rstrip(",;").strip()
        if len(body.split()) >= 3:
            out.append(DraftStatement(section, body, tuple(cited)))
    return out


def model_draft(model: LanguageModel, turns: Sequence[TranscriptTurn],
                max_tokens: int = 320) -> list[DraftStatement]:
    messages = [Message("system", NOTE_PROMPT),
                Message("user", "Transcript:\n" + format_transcript(turns) + "\n\nWrite the note.")]
    text = "".join(model.stream(messages, GenerationOptions(max_tokens=max_tokens, temperature=0.1,
                                                            seed=7)))
    return parse_model_note(text, turns)
