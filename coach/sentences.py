"""Turn a stream of model text pieces into a stream of whole sentences.

Sentences are the unit everything downstream works in: the output safety check
judges whole sentences, speech is synthesised per sentence, and the patient
sees (or hears) a sentence only once it has passed the check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

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


_ITEM_JOINS = re.compile(
    r"\b(?:if|when|you|have|has|had|include|includes|including|for|to|about|with|on|are|is|not|"
    r"someone|cause|causes|notice|name|say|during|than|like|such\s+as|more|less|eating|of|try)\s*$",
    re.IGNORECASE)
"""A lead-in that runs straight on into its items ("Call your care team if you have: ...")."""
_VERBISH = re.compile(
    r"\b(?:is|are|was|be|has|have|had|can|may|might|should|will|do|does|use|uses|gives?|means?|"
    r"watch|keep|look|ask|follow|try|call|stop|add|eat|take|make|check|write|tell|bring|start)\b",
    re.IGNORECASE)


def _lower_first(text: str) -> str:
    first = text.split(" ", 1)[0]
    if (len(first) > 1 and (first[1:2].isupper() or any(c.isdigit() for c in first))) or first == "I":
        return text  # an acronym, a name like "A1C", or "I"
    return text[:1].lower() + text[1:]


def _series(items: Sequence[str], conjunction: str) -> str:
    if len(items) == 1:
        return items[0]
    if any("," in item for item in items):  # "bread, pizza, and burgers; deli meat, ..."
        return f"{'; '.join(items[:-1])}; {conjunction} {items[-1]}"
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def list_item_sentence(lead_in: str, items: Sequence[str]) -> str:
    """One or more items of a written list said as one sentence, with what introduces them.

    "Common high-sodium foods:" and "- Chips, crisps, and salted nuts" read aloud as two
    fragments; said as "Common high-sodium foods include chips, crisps, and salted nuts." they
    answer "which foods are salty?". Items under "Try these:" already say what they mean.
    """
    bodies = [plain(item).rstrip(" .;,") for item in items if plain(item).strip(" .;,")]
    if not bodies:
        return ""
    lead = plain(lead_in).rstrip(" :")
    whole = all(plain(item).rstrip().endswith((".", "!", "?")) for item in items)
    conjunction = "or" if re.search(r"\bif\b", lead, re.IGNORECASE) else "and"
    listed = _series([_lower_first(b) for b in bodies], conjunction)
    if re.fullmatch(r"for\s+example", lead, re.IGNORECASE):
        sentence = f"For example, {listed}"
    elif lead and _ITEM_JOINS.search(lead):
        sentence = f"{lead} {listed}"
    elif not lead or whole:
        # Items that are sentences of their own ("Try these:" then "- Taste food before you
        # add salt.") say what they mean without the lead-in.
        return " ".join(speakable(b[:1].upper() + b[1:]) + "." for b in bodies)
    elif not _VERBISH.search(lead):
        sentence = f"{lead} include {listed}"  # a bare noun phrase: "Common high-sodium foods"
    else:
        sentence = f"{lead}, for example {listed}"
    return speakable(sentence) + "."


_NARRATION = re.compile(
    r"^\s*(?:reflecting(?:\s+back)?(?:\s+on\s+what\s+you(?:'ve|\s+have)?\s+(?:told|said\s+to)\s+me"
    r"(?:\s+so\s+far)?)?|to\s+reflect\s+back|in\s+reflection)\s*,\s*", re.IGNORECASE)
_STAGE_DIRECTION = re.compile(
    r"\b(?:their|they|the\s+patient(?:'s)?)\s+(?:goals?|told|said|progress|feelings?)\b|"
    r"\byou\s+(?:might|could|can)\s+say\s+(?:something\s+)?like\b|\bthe\s+patient\b|"
    r"\b(?:open|follow-up)\s+question\s*:|\breflect(?:ing)?\s+on\s+their\b", re.IGNORECASE)


def unnarrated(sentence: str) -> str:
    """A model sentence without its narration of the instructions; "" when it is all narration.

    Told "reflect back what they told you", the 1.5B model sometimes says so ("Reflecting back,
    you've been testing every morning") or writes the instruction out ("Reflecting on their
    goals, you might say something like ..."); a patient should hear the reflection only.
    """
    if _STAGE_DIRECTION.search(sentence):
        return ""
    match = _NARRATION.match(sentence)
    if match is None:
        return sentence
    rest = sentence[match.end():]
    return rest[:1].upper() + rest[1:]
