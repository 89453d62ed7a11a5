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


_COLON = re.compile(r"(?<!\d)\s*:\s*(?!\d)")
_LEAD_IN = re.compile(
    r"(?:,?\s*(?:with|has|have|follow|try|use|are|is|include|includes)?\s*"
    r"(?:these|the\s+following|this|some|a\s+few|three|four|two|five)\s+(?:\w+\s+){0,2}"
    r"(?:steps|features|tips|ways|things|signs|ideas|points|rules|options|checks|questions)"
    r"|,?\s*(?:as\s+follows|like\s+this|here'?s\s+how|here\s+is\s+how|for\s+example|such\s+as))\s*$",
    re.IGNORECASE,
)
_JOINING = re.compile(r"\b(?:is|are|was|were|means|include|includes|including|like|be|not|avoid|to)\s*$",
                      re.IGNORECASE)


_DANGLING = re.compile(r"\b(?:if|when|that|because|and|or|but|the|a|an|your|these|following|"
                       r"as|for|with|of|than)\s*$", re.IGNORECASE)


def speakable(sentence: str) -> str:
    """A sentence without the colons of a written list, which a voice cannot say.

    Small models copy a passage's list lead-ins ("Follow these steps: Get a good home monitor
    with these features: The cuff fits your arm."); read aloud, those are fragments. A lead-in
    is dropped, a colon after "is" or "include" becomes a space, any other one ends a clause.
    Clock times ("7:30") keep theirs.
    """
    out = sentence
    for _ in range(4):
        match = _COLON.search(out)
        if match is None:
            break
        before, after = out[:match.start()].rstrip(), out[match.end():].lstrip()
        lead_in = _LEAD_IN.search(before)
        if lead_in is not None:
            before = before[:lead_in.start()].rstrip(" ,")
            # "use a good home monitor that [has these features]": the clause's own tail goes too
            while (tail := _DANGLING.search(before)) is not None:
                before = before[:tail.start()].rstrip(" ,")
            if len(before.split()) < 3:
                before = ""
        if not before:
            out = after[:1].upper() + after[1:]
        elif not after:
            # A list's lead-in cut from its list ("call your care team if:") says nothing.
            out = "" if _JOINING.search(before) or _DANGLING.search(before) else before + "."
        elif _JOINING.search(before):
            out = f"{before} {after}"
        elif after[:1].isupper():
            out = f"{before.rstrip(' ,.;')}. {after}"
        else:
            out = f"{before}, {after}"
    return out
