"""From spoken answers to written sentences: only take away, never add.

The editor removes fillers (um, uh, "you know" and "I mean" set off as asides,
"like" as a filler), stutters and repeated phrases, false starts marked by a dash,
and sentences said twice; it repairs only capitals, spacing and the final stop.
Anything else would be our words in the patient's mouth, which the checker
(`coach.legacy.checker`) is there to catch.
"""

from __future__ import annotations

import re

from coach.sentences import split_sentences

_HESITATION = re.compile(r",?\s*\b(?:u+m+|u+h+|uhm|e+rm+|er|hmm+|ah+)\b[,.…]*", re.IGNORECASE)
_ASIDE = re.compile(r",\s*(?:you know|i mean|like|you see|well)\s*,\s*", re.IGNORECASE)
_ASIDE_END = re.compile(r",\s*(?:you know|i mean|you see)\s*(?=[.!?…]|$)", re.IGNORECASE)
_OPENER = re.compile(r"^(?:(?:you know|i mean|like|well|so|oh|and|anyway|okay|ok)\s*,\s*|oh\s+)+",
                     re.IGNORECASE)
_FALSE_START = re.compile(r"^[^.!?]{0,40}?\s*(?:—|--|–|\.\.\.|…)\s+", re.UNICODE)
_MID_FALSE_START = re.compile(r"\b(\w+(?:\s+\w+){0,3})\s*(?:—|--|–)\s+")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[\w']+")
NON_CONTENT = frozenset({
    "that's all", "that is all", "that's it", "i don't know", "i dont know", "let me think",
    "nothing else", "nothing more", "no", "yes", "not really", "i'm not sure", "i suppose",
    "i'd rather not say", "i would rather not say", "i'd rather not", "no thank you", "maybe",
})
_KEEP_DOUBLE = frozenset({"had", "very", "really", "so", "far", "long", "more", "many", "bye"})
MIN_WORDS = 3
NEGATIONS = frozenset({"not", "no", "never", "nothing", "nobody", "none", "nor", "neither", "nowhere",
                       "don't", "didn't", "wasn't", "weren't", "isn't", "aren't", "won't", "can't",
                       "couldn't", "wouldn't", "shouldn't", "haven't", "hasn't", "hadn't", "cannot"})
"""Words whose loss reverses a meaning: the editor and the checker both guard them."""


def words(text: str) -> list[str]:
    """Lower-case word tokens: the unit both the editor and the checker compare."""
    return [w.lower().strip("'") for w in _WORD.findall(text.replace("’", "'")) if w.strip("'")]


def _drop_repeats(text: str) -> str:
    """'I was, I was born' -> 'I was born'; 'the the' -> 'the' (longest repeat first, up to six words)."""
    tokens = text.split()
    keys = [t.lower().strip(".,;:!?…—-\"'") for t in tokens]
    changed = True
    while changed:
        changed = False
        for n in (6, 5, 4, 3, 2, 1):
            i = 0
            while i + 2 * n <= len(tokens):
                a, b = keys[i:i + n], keys[i + n:i + 2 * n]
                if a == b and all(a) and not (n == 1 and a[0] in _KEEP_DOUBLE):
                    # keep the second copy: its punctuation ends the phrase as finally said
                    del tokens[i:i + n]
                    del keys[i:i + n]
                    changed = True
                else:
                    i += 1
    return " ".join(tokens)


_PRONOUNS = frozenset({"i", "he", "she", "it", "they", "we", "you"})


def _drop_restarts(text: str) -> str:
    """'My father was a, he was a tram driver' -> 'My father was a tram driver'.

    A restart repeats the words just before a comma, perhaps after a pronoun; the
    first telling is cut short, so the repeated words (and the pronoun) go.
    """
    parts = text.split(", ")
    i = 0
    while i < len(parts) - 1:
        before = parts[i].split()
        after = parts[i + 1].split()
        joined = None
        for k in (3, 2, 1):
            if len(before) < k + 1:
                continue
            tail = [w.lower() for w in before[-k:]]
            for skip in (1, 0):
                head = [w.lower().strip(".,;") for w in after[skip:skip + k]]
                if len(after) > skip + k and head == tail and (skip == 0 or after[0].lower() in _PRONOUNS):
                    joined = " ".join(before + after[skip + k:])
                    break
            if joined:
                break
        if joined:
            parts[i:i + 2] = [joined]
        else:
            i += 1
    return ", ".join(parts)


def _repair(sentence: str) -> str:
    s = _SPACES.sub(" ", sentence).strip(" ,;")
    s = re.sub(r"\s+([,.;:!?])", r"\1", s)
    s = re.sub(r",{2,}", ",", s)
    s = re.sub(r"[,;:]+([.!?])", r"\1", s)
    s = re.sub(r"\bi\b", "I", s)
    s = re.sub(r"\bi'(m|ve|d|ll)\b", lambda m: "I'" + m.group(1), s)
    if not s:
        return s
    s = s[0].upper() + s[1:]
    if s[-1] not in ".!?…\"'":
        s += "."
    return s


def clean_sentence(sentence: str) -> str:
    """One sentence as it would be written down, or '' when nothing of content is left."""
    s = _OPENER.sub("", sentence.strip())
    s = _HESITATION.sub(" ", " " + s).strip()
    s = _ASIDE.sub(" ", s)
    s = _ASIDE_END.sub("", s)
    s = _OPENER.sub("", s.strip(" ,"))
    s = _FALSE_START.sub("", s) if len(s.split()) > 6 else s
    s = _MID_FALSE_START.sub(lambda m: "" if len(m.group(1).split()) <= 4 else m.group(0), s)
    s = _OPENER.sub("", s.strip(" ,"))
    s = _drop_restarts(s)
    s = _drop_repeats(s)
    s = _repair(s)
    tokens = words(s)
    if len(tokens) < MIN_WORDS or " ".join(tokens) in NON_CONTENT:
        return ""
    return s


def sentences(text: str) -> list[str]:
    """Split a spoken answer into sentences (long run-ons stay whole: we do not re-punctuate)."""
    return [s.strip() for s in split_sentences([text], min_chars=1) if s.strip()]


def edit_distance(a: list[str], b: list[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def near_duplicate(a: str, b: str, threshold: float = 0.3) -> bool:
    """Said twice (perhaps with small changes): the later telling adds nothing new."""
    x, y = words(a), words(b)
    if not x or not y or (set(x) & NEGATIONS) != (set(y) & NEGATIONS):
        return False
    return edit_distance(x, y) / max(len(x), len(y)) <= threshold
