"""Does every sentence of the document come from the patient? Measured, not assumed.

Each content sentence is aligned, token by token, to the best-matching stretch of
the transcript turns its paragraph names (approximate substring matching: any
stretch may be chosen, and the cost is that of turning it into the sentence).
Costs encode what an editor may do:
- taking out a filler the editor knows about costs nothing;
- taking out any other spoken word is cheap (repeats, false starts)...
- ...except a negation (not, never, no...): dropping one reverses a meaning;
- every word in the sentence that was not said, or said differently, costs a full point.
The cost divided by the sentence's length must stay under `MATCH_THRESHOLD`.

Separately, every name, place and date in the document (capitalised words that do
not open a sentence, numbers, month names) must occur in the transcript.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from coach.legacy.editing import NEGATIONS, words

MATCH_THRESHOLD = 0.2
DROP_COST = 0.25
FILLERS = frozenset({"um", "umm", "uh", "uhh", "uhm", "erm", "er", "hmm", "ah", "you", "know", "mean",
                     "like", "well", "so", "oh", "anyway", "okay", "ok", "see"})
"""Words the editor may take out as fillers. Dropping `you`/`know` etc. is only free as a
filler; their content uses are protected because the sentence must still align as a whole."""
_MONTHS = frozenset({"january", "february", "march", "april", "may", "june", "july", "august",
                     "september", "october", "november", "december"})
_ENTITY = re.compile(r"\b(?:[A-Z][\w'’-]*|\d[\d,.:/]*(?:st|nd|rd|th|s)?)\b")
_I_FORMS = frozenset({"I", "I'm", "I've", "I'd", "I'll", "I’m", "I’ve", "I’d", "I’ll"})


def _drop_cost(token: str) -> float:
    if token in NEGATIONS:
        return 1.0
    if token in FILLERS:
        return 0.0
    return DROP_COST


def span_cost(sentence: Sequence[str], transcript: Sequence[str]) -> tuple[float, int, int]:
    """Cheapest alignment of `sentence` to any stretch of `transcript`: (cost, start, end)."""
    n = len(transcript)
    if not sentence:
        return 0.0, 0, 0
    # prev[j]: cost of aligning sentence[:i] to a stretch ending at transcript[j-1]; start[j]: its start
    prev = [0.0] * (n + 1)
    start = list(range(n + 1))
    for i, word in enumerate(sentence, 1):
        cur = [float(i)] + [0.0] * n
        cur_start = [0] * (n + 1)
        for j in range(1, n + 1):
            t = transcript[j - 1]
            options = (
                (prev[j - 1] + (0.0 if t == word else 1.0), start[j - 1]),  # match / substitute
                (prev[j] + 1.0, start[j]),                                    # word not said
                (cur[j - 1] + _drop_cost(t), cur_start[j - 1]),               # spoken word left out
            )
            cur[j], cur_start[j] = min(options, key=lambda o: o[0])
        prev, start = cur, cur_start
    best = min(range(n + 1), key=lambda j: prev[j])
    return prev[best], start[best], best


@dataclass(frozen=True)
class SentenceCheck:
    sentence: str
    cost: float
    """Alignment cost per sentence word (0 = said exactly so)."""
    turn_id: int | None
    """The source turn it matched best."""
    span: str
    """The transcript stretch it was matched to."""

    @property
    def matches(self) -> bool:
        return self.cost <= MATCH_THRESHOLD


def check_sentence(sentence: str, turns: dict[int, str]) -> SentenceCheck:
    tokens = words(sentence)
    best = SentenceCheck(sentence, float("inf"), None, "")
    for turn_id, text in turns.items():
        said = words(text)
        cost, a, b = span_cost(tokens, said)
        per_word = cost / max(len(tokens), 1)
        if per_word < best.cost:
            best = SentenceCheck(sentence, round(per_word, 4), turn_id, " ".join(said[a:b]))
    return best


def entities(text: str) -> list[str]:
    """Names, places and dates: capitalised words that do not open a sentence, numbers, months."""
    found: list[str] = []
    for sentence in re.split(r"(?<=[.!?…])\s+|\n+", text):
        sentence = sentence.strip(" \"'“”‘’(")
        for match in _ENTITY.finditer(sentence):
            token = match.group(0).rstrip(".,:")
            if not token or token in _I_FORMS:
                continue
            at_start = match.start() == 0
            if at_start and not token[0].isdigit() and token.lower() not in _MONTHS:
                continue
            if token not in found:
                found.append(token)
    return found


def invented(text: str, transcript: Iterable[str]) -> list[str]:
    """Entities of `text` that the transcript never mentions (case-insensitively, as tokens)."""
    said: set[str] = set()
    for turn in transcript:
        said.update(words(turn))
        said.update(re.findall(r"\d[\d,.:/]*", turn))
    missing = []
    for entity in entities(text):
        key = entity.lower().replace("’", "'")
        parts = words(key) if not key[0].isdigit() else [key]
        if not all(p in said for p in parts):
            missing.append(entity)
    return missing


@dataclass
class DocumentCheck:
    """The traceability figures of one document (or of a whole benchmark)."""

    sentences: int = 0
    matched: int = 0
    rejected: list[dict[str, object]] = field(default_factory=list)
    invented: list[str] = field(default_factory=list)

    @property
    def match_rate(self) -> float:
        return self.matched / self.sentences if self.sentences else 1.0

    def as_json(self) -> dict[str, object]:
        return {"sentences": self.sentences, "matched": self.matched,
                "match_rate": round(self.match_rate, 4), "rejected": self.rejected,
                "invented": self.invented}
