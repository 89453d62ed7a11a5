"""Turn a stream of model text pieces into a stream of whole sentences.

Sentences are the unit everything downstream works in: the output safety check
judges whole sentences, speech is synthesised per sentence, and the patient
sees (or hears) a sentence only once it has passed the check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

_ABBREVIATIONS = {"dr", "mr", "mrs", "ms", "st", "e.g", "i.e", "etc", "vs", "approx", "no", "mt"}
_END = re.compile(r"([.!?…]+[\"')\]]*)(\s+)")


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    before = text[: match.start(1)]
    word = before.rsplit(None, 1)[-1].lower() if before.split() else ""
    if match.group(1) == "." and word.rstrip(".") in _ABBREVIATIONS:
        return False
    # "1." at the start of a numbered list item is not a sentence.
    return not (match.group(1) == "." and word.isdigit() and len(word) <= 2)


def split_sentences(pieces: Iterable[str], min_chars: int = 12) -> Iterator[str]:
    """Yield each sentence as soon as the text after it begins; the rest at the end."""
    buf = ""
    for piece in pieces:
        buf += piece
        start = 0
        for match in _END.finditer(buf):
            if match.end(1) - start < min_chars or not _is_boundary(buf, match):
                continue
            sentence = buf[start: match.end(1)].strip()
            if sentence:
                yield sentence
            start = match.end()
        buf = buf[start:]
        if "\n" in buf:
            # A line break from a model is structure (a list item, a day of a plan):
            # each line is a unit of its own.
            head, _, buf = buf.rpartition("\n")
            for line in head.split("\n"):
                if line.strip():
                    yield line.strip()
    if buf.strip():
        yield buf.strip()


_MARKDOWN = re.compile(r"\*\*|__|`|^#+\s*|^\s*(?:[-*•]|\d{1,2}[.)])\s+", re.MULTILINE)


def plain(sentence: str) -> str:
    """Drop markdown (bold, headings, list markers): replies are read and spoken, not rendered."""
    return " ".join(_MARKDOWN.sub("", sentence).split())
