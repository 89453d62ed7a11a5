"""Bring a patient's message to one plain form before triage reads it.

Rules are written for plain English letters and the classifier learned from plain
text, so "Ｉ ｗａｎｔ ｔｏ ｋｉｌｌ ｍｙｓｅｌｆ" (fullwidth), "kill\u200bmyself" (a
zero-width space) and "c h e s t  p a i n" (letter-spaced) all slipped past both,
while a terminal escape sequence at the start of a benign message looked alarming
to the classifier. Phones and copied text produce these without anyone meaning
harm, and a determined patient may type them on purpose; either way the meaning is
the plain text's. Only triage sees the normalised text: the store keeps the
patient's own words (see `mend`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from itertools import pairwise

REPLACEMENT = "\ufffd"
_HIDDEN = "\x00"
"""Stands in for removed invisible characters until the words around them are rejoined."""
_SPLIT_BY_HIDDEN = re.compile(r"[^\W_]*(?:\x00+[^\W_]*)+")

# ECMA-48: CSI (ESC [ or the 8-bit 0x9b) with parameter, intermediate and final bytes;
# string commands (OSC ESC ], DCS ESC P, SOS ESC X, PM ESC ^, APC ESC _) ended by BEL or
# ST; and two-byte ESC sequences (ESC, intermediates, one final byte). An unterminated
# string command loses only its introducer, never the rest of the message: what follows
# may be the one sentence that matters.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*(?P<final>[@-~])"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])(?P<payload>[^\x07\x1b\x9c]*)(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*(?P<final2>[0-~])"
)

# Marks that look like ASCII punctuation the rules match on ("can'?t", "self[-\s]?harm")
# but that NFKC keeps: typographic apostrophes and quotes (phone keyboards put them in
# by default) and hyphens.
_LOOKALIKES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u02bc": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-",
})

_LETTER = r"[^\W\d_]"
_ALONE = rf"{_LETTER}(?![\w'])"
# Single letters joined by one space, dot or dash spell a word ("k.i.l.l"); two or more
# spaces between such letters mark where one spelt word ends and the next begins.
_SPELT = re.compile(rf"(?<![\w']){_ALONE}(?:(?:[.\-]| +){_ALONE})*")
_WORD_GAP = re.compile(r" {2,}")
_IN_WORD = re.compile(r"[ .\-]")
MIN_SPELT = 3
"""Fewer single letters in a row are ordinary English ("I a..." / "a I...") far more
often than a word spelt out."""
MIN_SEGMENT = 6
"""Shorter runs are more often acronyms ("U.S.A.", "h b a") than words run together."""
MAX_SEGMENT = 200

_ONE_LETTER_WORDS = frozenset({"a", "i"})


def mend(text: str) -> str:
    """The text with lone surrogates replaced by U+FFFD.

    A Python str can hold a lone surrogate (invalid UTF-8 read with surrogateescape, as
    command-line arguments and a POSIX-locale stdin are; a broken JSON escape), but no
    UTF-8 encoder takes one: the tokenizer and the store both failed on it and the
    patient's message was lost. A valid pair split in two code points is joined back.
    """
    if text.isascii():
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def normalise(text: str) -> str:
    """The plain form of a message that rules and classifier judge."""
    text = _ESCAPES.sub(_HIDDEN, mend(text))
    text = unicodedata.normalize("NFKC", text).translate(_LOOKALIKES)
    text = "".join(_plain_char(ch) for ch in text.replace("\r\n", "\n"))
    text = _SPLIT_BY_HIDDEN.sub(_rejoin, text).replace(_HIDDEN, "")
    text = _SPELT.sub(_respell, text)
    return re.sub(r"[ ]{2,}", " ", text).strip()


def readings(text: str) -> list[str]:
    """The plain form, then, where terminal escapes were removed, the text they hid.

    A sequence's final byte is often a letter ("\x1b[H", "\x1b[k"), so removing the
    sequence can take the first letter of the next word with it: "\x1b[kill myself"
    shows on a terminal as "ill myself", while a language model reading the stored
    message still sees "kill". Both readings are triaged and the more urgent one wins.
    """
    plain = normalise(text)
    if not _ESCAPES.search(text):
        return [plain]
    loose = normalise(_ESCAPES.sub(_as_text, text))
    return [plain] if loose == plain else [plain, loose]


def _as_text(match: re.Match[str]) -> str:
    if match.group("payload") is not None:
        return f" {match.group('payload')} "
    final = match.group("final") or match.group("final2")
    return f" {final}" if final.isalpha() else " "


def _plain_char(ch: str) -> str:
    if ch.isascii() and (ch.isprintable() or ch == "\n"):
        return ch
    if ch in "\r\u2028\u2029\x85":
        return "\n"
    category = unicodedata.category(ch)
    if category == "Zs" or ch in "\t\v\f":
        return " "
    if category[0] == "C" or ch == REPLACEMENT:
        # Controls draw nothing and format characters (zero-width space and joiner, soft
        # hyphen, bidi overrides, BOM) are invisible: neither is part of what was said.
        # Private-use and unassigned code points carry nothing the rules or model know,
        # and U+FFFD stands for bytes that were never text.
        return _HIDDEN
    return ch


def _rejoin(match: re.Match[str]) -> str:
    """A word with invisible characters inside, read as it looks on screen.

    "ki\u200bll" shows as "kill"; "kill\u200bmyself" shows as "killmyself", which a
    reader takes for two words, so it is split into known words when it is long enough.
    """
    joined = match.group(0).replace(_HIDDEN, "")
    return segment(joined) if joined.isalpha() else joined


def _respell(match: re.Match[str]) -> str:
    spelt = match.group(0)
    words = _WORD_GAP.split(spelt)
    if max(len(_IN_WORD.split(w)) for w in words) < MIN_SPELT:
        return spelt
    return " ".join(segment(_IN_WORD.sub("", w)) for w in words)


def segment(letters: str) -> str:
    """Letters spelt out with no gap between words ("chestpain"), split into known words.

    The rules match words ("chest pain", "kill myself"), so a spelt message written all
    with single spaces would otherwise slip through as one long word. Fewest words wins,
    then the most common ones; letters that are no sequence of known words stay joined.
    """
    vocab = _vocabulary()
    lower = letters.lower()
    n = len(lower)
    if not MIN_SEGMENT <= n <= MAX_SEGMENT or lower in vocab:
        return letters
    longest = max(map(len, vocab), default=1)
    # best[i]: (number of words, minus the log-frequencies, split points) for lower[:i]
    best: list[tuple[int, float, tuple[int, ...]] | None] = [None] * (n + 1)
    best[0] = (0, 0.0, ())
    for end in range(1, n + 1):
        for start in range(max(0, end - longest), end):
            prev = best[start]
            word = lower[start:end]
            if prev is None or word not in vocab:
                continue
            candidate = (prev[0] + 1, prev[1] - math.log(vocab[word]), (*prev[2], end))
            current = best[end]
            if current is None or candidate[:2] < current[:2]:
                best[end] = candidate
    found = best[n]
    if found is None:
        return letters
    cuts = (0, *found[2])
    return " ".join(letters[a:b] for a, b in pairwise(cuts))


@lru_cache(maxsize=1)
def _vocabulary() -> Counter[str]:
    """Words of the triage training examples, with how often each occurs.

    The words patients use about their health, crises and emergencies are what a spelt
    message must be split back into; a general dictionary would add splits nobody means.
    """
    from coach.safety.dataset import load_train

    counts: Counter[str] = Counter()
    for example in load_train():
        counts.update(w for w in re.findall(r"[a-z]+", example.text.lower())
                      if len(w) > 1 or w in _ONE_LETTER_WORDS)
    return counts
