"""The check every drafted note statement must pass: which turns say this?

Evidence for a statement is a turn sentence that is close in meaning (MiniLM
cosine similarity) or shares its content words, and that contains every number
the statement gives. A statement with no such turn is unsupported and is never
shown as fact. Statements that diagnose or give medicine instructions are removed
whatever their support: a note must not say what the coach may not say.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from coach.notes.draft import DraftStatement, TranscriptTurn
from coach.notes.readings import normalise_numbers, split_sentences
from coach.safety import check_output
from coach.safety.output_check import MEDICINE
from knowledge.embeddings import Embedder

SUPPORT_THRESHOLD = 0.55
"""Combined score a statement needs; tuned on the bundled dialogues (`coach bench notes`)."""
LINK_MARGIN = 0.08
"""Other turns within this margin of the best also count as support and are linked."""
MAX_LINKS = 3

_STOP = frozenset((
    "a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with", "from", "by",
    "about", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that",
    "these", "those", "i", "me", "my", "mine", "we", "our", "you", "your", "he", "she", "they", "them",
    "their", "his", "her", "have", "has", "had", "do", "does", "did", "so", "very", "just", "really",
    "quite", "also", "too", "then", "than", "not", "no", "yes", "ok", "okay", "said", "says", "say",
    "asked", "patient", "coach", "reported", "reports", "mentioned", "told", "tells", "tell", "there",
    "here", "what", "when", "how", "which", "who", "will", "would", "can", "could", "should", "some",
    "any", "much", "many", "more", "most", "bit", "lot",
))

_NEGATION = re.compile(r"\b(?:not|no|never|didn't|don't|doesn't|haven't|hasn't|won't|can't|couldn't|"
                       r"wasn't|isn't|without|none)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_DIAGNOSIS_WORDS = re.compile(r"\b(?:diagnos\w*|indicative of|consistent with|suggests? (?:a|an)\b|"
                              r"likely (?:has|have)|suffers? from|uncontrolled|non-?compliant)\b",
                              re.IGNORECASE)
_MEDICINE_INSTRUCTION = re.compile(
    r"\b(?:take|taking|skip|skipping|stop|stopping|double|doubling|increase|decrease|reduce|lower|raise|"
    rf"change|switch|start|starting|cut|halve)\b[^.;]*\b(?:extra|double|mg|units?|{MEDICINE})\b",
    re.IGNORECASE)
"""A drafted statement about taking, skipping or changing a medicine. The model writer has
turned a patient's question ("Should I take an extra metformin?") into a plan ("will stay
hydrated and take an extra metformin"), so no paraphrase of medicine-taking is trusted: the
patient's own words about it reach the note quoted instead, and a missed dose is found
deterministically (`missed_medication`)."""

_COMMITMENT = re.compile(r"\b(?:agree[sd]?|agreeing|will|plans? to|planning to|intends? to|committed|"
                         r"commits? to|promised|going to|decided)\b|\w'll\b", re.IGNORECASE)
"""A drafted statement that the patient agreed, decided or will do something. Only the
patient's own turns can support that: the coach's suggestion ("no more than one drink a day")
let the model writer's "Agree to aim for no more than one drink a day" through in `make demo`,
though the patient had said nothing of it."""


_UNITS = {w: n for n, w in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")) if n >= 2}
"""From two: "one" is as often a pronoun ("the new one") as a figure."""
_DIGITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_NUMBER_WORD = re.compile(
    rf"\b(?:({'|'.join(_TENS)})(?:[\s-]({'|'.join(_DIGITS)}))?|({'|'.join(_UNITS)}))\b", re.IGNORECASE)


def _words_to_digits(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(3):
            return str(_UNITS[m.group(3).lower()])
        return str(_TENS[m.group(1).lower()] + (_DIGITS.index(m.group(2).lower()) + 1 if m.group(2) else 0))

    return _NUMBER_WORD.sub(one, text)


def numbers(text: str) -> set[str]:
    """Figures in a text, digits or words: "fifteen minutes" and "15 minutes" give the same."""
    return {n.rstrip("0").rstrip(".") if "." in n else n
            for n in _NUMBER.findall(_words_to_digits(normalise_numbers(text)))}


def content_words(text: str) -> set[str]:
    words = re.findall(r"[a-z]+", text.lower())
    return {_stem(w) for w in words if w not in _STOP and len(w) > 2}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


_CHANGE_WORDS = re.compile(r"\b(?:lost|los(?:e|es|ing)|gain(?:ed|ing|s)?|put on|dropp?(?:ed|ing)|down by|"
                           r"up by|increas\w*|decreas\w*|reduc\w*|more|less|fewer|extra)\b", re.IGNORECASE)
_TARGET_WORDS = re.compile(r"\b(?:goal|target|aim\w*|under|below|want\w*|plan\w*|hop\w*|try\w*|should|"
                           r"would like|going to|will|next)\b", re.IGNORECASE)
_FIGURE = re.compile(r"\d+(?:\.\d+)?")


def figure_frames(text: str) -> dict[str, set[frozenset[str]]]:
    """For each figure, how the words just before it frame it: a change, a target, or plain
    (one frame per time the figure is said)."""
    plain = _words_to_digits(normalise_numbers(text))
    frames: dict[str, set[frozenset[str]]] = {}
    for m in _FIGURE.finditer(plain):
        figure = m.group(0).rstrip("0").rstrip(".") if "." in m.group(0) else m.group(0)
        before = " ".join(plain[:m.start()].split()[-5:])
        kinds = {k for k, pattern in (("change", _CHANGE_WORDS), ("target", _TARGET_WORDS))
                 if pattern.search(before)}
        frames.setdefault(figure, set()).add(frozenset(kinds))
    return frames


def _same_frames(statement: dict[str, set[frozenset[str]]], turn: dict[str, set[frozenset[str]]]) -> bool:
    """Each figure of the statement is framed as the turn frames it at least once."""
    return all(kinds <= turn.get(figure, set()) for figure, kinds in statement.items())


@dataclass
class CheckedStatement:
    section: str
    text: str
    turn_ids: list[int]
    support: float
    verified: bool
    reason: str = ""
    """Why an unverified statement failed: `no support`, `numbers`, `diagnosis`, `dose`."""


@dataclass
class Evidence:
    """The session's turns, split into sentences and embedded once per note."""

    turns: Sequence[TranscriptTurn]
    embedder: Embedder | None
    _owners: list[int] = field(default_factory=list)
    _sentences: list[str] = field(default_factory=list)
    _vectors: np.ndarray | None = None

    def __post_init__(self) -> None:
        for i, turn in enumerate(self.turns):
            for sentence in split_sentences(turn.text) or [turn.text]:
                self._owners.append(i)
                self._sentences.append(sentence)
        if self.embedder is not None and self._sentences:
            self._vectors = self.embedder.embed(self._sentences)
        self._words = [content_words(s) for s in self._sentences]
        self._numbers = [numbers(s) for s in self._sentences]
        self._negated = [bool(_NEGATION.search(s)) for s in self._sentences]

    def check(self, drafts: Sequence[DraftStatement]) -> list[CheckedStatement]:
        if not drafts:
            return []
        texts = [_unquote(d.text) for d in drafts]
        sims = (self.embedder.embed(texts) @ self._vectors.T
                if self.embedder is not None and self._vectors is not None
                else np.zeros((len(drafts), len(self._sentences)), dtype=np.float32))
        return [self._one(d, t, sims[k]) for k, (d, t) in enumerate(zip(drafts, texts, strict=True))]

    def _one(self, draft: DraftStatement, text: str, sims: np.ndarray) -> CheckedStatement:
        quoted = text != draft.text  # the patient's own words, quoted: not advice or a diagnosis
        verdict = check_output(text)
        if not quoted and (not verdict.ok or _DIAGNOSIS_WORDS.search(text)):
            return CheckedStatement(draft.section, draft.text, [], 0.0, False,
                                    verdict.reason or "diagnosis")
        if not quoted and _MEDICINE_INSTRUCTION.search(text):
            return CheckedStatement(draft.section, draft.text, [], 0.0, False, "medicine instruction")
        words, nums, negated = content_words(text), numbers(text), bool(_NEGATION.search(text))
        commitment = not quoted and _COMMITMENT.search(text) is not None
        patient_only = draft.section in ("subjective", "readings") or commitment
        per_turn: dict[int, float] = {}
        for j, owner in enumerate(self._owners):
            turn = self.turns[owner]
            if patient_only and turn.role != "patient":
                continue
            if commitment and self._sentences[j].rstrip().endswith("?"):
                continue  # "How do I check my blood pressure?" is no promise to check it
            overlap = len(words & self._words[j]) / len(words) if words else 0.0
            cosine = float(sims[j]) if self.embedder is not None else overlap
            score = 0.6 * cosine + 0.4 * overlap
            if negated != self._negated[j]:
                score -= 0.25  # "did not walk" is not supported by "I walked"
            per_turn[owner] = max(per_turn.get(owner, -1.0), score)
        if not per_turn:
            return CheckedStatement(draft.section, draft.text, [], 0.0, False, "no support")
        ranked = sorted(per_turn.items(), key=lambda kv: -kv[1])
        best = ranked[0][1]
        links = [i for i, s in ranked if s >= max(SUPPORT_THRESHOLD, best - LINK_MARGIN)][:MAX_LINKS]
        if nums:
            # A turn supports a statement with figures only if it has every one of them itself:
            # "120/72" is not supported by a turn that said 120/74, however alike they read.
            # It must also say the same kind of thing about each figure: "lost 84.5 kg" is not
            # supported by "I weighed 84.5 kg", nor "walks 6,000 steps" by "my goal is 6,000 steps".
            frames = figure_frames(text)
            with_all = [(i, sc) for i, sc in ranked if nums <= numbers(self.turns[i].text)
                        and _same_frames(frames, figure_frames(self.turns[i].text))]
            if not with_all or with_all[0][1] < SUPPORT_THRESHOLD:
                return CheckedStatement(draft.section, draft.text, [], round(best, 3), False, "numbers")
            best = with_all[0][1]
            links = [i for i, sc in with_all if sc >= max(SUPPORT_THRESHOLD, best - LINK_MARGIN)][:MAX_LINKS]
        if best < SUPPORT_THRESHOLD:
            return CheckedStatement(draft.section, draft.text, [], round(best, 3), False, "no support")
        return CheckedStatement(draft.section, draft.text, [self.turns[i].id for i in links],
                                round(best, 3), True)


def _unquote(text: str) -> str:
    """The words a statement claims, without the `Said: "..."` frame."""
    m = re.match(r'^[A-Z][\w\' ]{0,24}:\s*"(.*)"$', text.strip())
    return m.group(1) if m else text
