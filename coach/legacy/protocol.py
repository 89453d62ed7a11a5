"""The nine prompts of a memory session and the short follow-ups that invite detail.

Source: the Dignity Therapy Question Protocol of H. M. Chochinov and colleagues
(Chochinov HM et al., "Dignity therapy: a novel psychotherapeutic intervention for
patients near the end of life", J Clin Oncol 2005;23(24):5520-5525). Its nine themes
are kept in their order; the wording below is ours, written to be read aloud slowly.

Follow-ups are chosen by plain rules, not written by a model: they only ever reflect
back what was said and invite more (a person, a place, a time, a story). A rule can
be read and reviewed; a small model could slip into advice or into cheering the
patient up, which this protocol asks us never to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Prompt:
    number: int
    """1-9, the protocol's order."""
    theme: str
    """The section of the document this prompt's answers go in (a default title)."""
    text: str
    """What the coach says, in our own gentle wording."""


PROMPTS: tuple[Prompt, ...] = (
    Prompt(1, "My life",
           "I'd like to hear about your life, in whatever order it comes to you. Which parts do "
           "you remember most, or feel matter most? And when did you feel most alive?"),
    Prompt(2, "What I want my family to know",
           "Is there anything about you that you would like your family to know, or anything "
           "you would especially like them to remember?"),
    Prompt(3, "The roles I have had",
           "Think of the roles you have had in your life: in your family, in your work, in your "
           "community. Which mattered most to you, and why? What do you feel you did in them?"),
    Prompt(4, "What I am proud of",
           "What are the things you have done that mean the most to you? What are you proudest of?"),
    Prompt(5, "Things I want to say",
           "Is there something you would like to say to the people you love, or something you "
           "would like to say to them once more?"),
    Prompt(6, "My hopes for you",
           "What do you hope for the people you love? What would you wish for them?"),
    Prompt(7, "What life has taught me",
           "What has life taught you that you would like to pass on? Is there guidance you would "
           "want to give to someone in particular: a child, a partner, a friend?"),
    Prompt(8, "For the days ahead",
           "Are there words, or perhaps practical wishes, you would like to leave your family to "
           "help them in the time ahead?"),
    Prompt(9, "Anything else",
           "This will be a lasting record. Is there anything else you would like it to hold?"),
)

WELCOME = (
    "Thank you for doing this. We'll go one question at a time, at your pace. There are no "
    "right answers, and you can skip any question, pause, or stop whenever you like."
)
RESUME = "Welcome back. We'll carry on from where we stopped, whenever you are ready."
CLOSING = (
    "Thank you for sharing all of this. Everything you said is saved. When you're ready, "
    "you can read the document made from your words, change anything in it, and approve it."
)
PAUSED = "Let's stop here for now. Everything you said is saved; we can carry on another day."
SKIPPED = "Of course. We can leave that one."
FIXED_CONTINUE = ("Take all the time you need. When you feel ready, you can say more, or we can go on, "
                  "or we can stop here for today.")
GENTLE_RETURN = "Would you like to say a little more about this, or shall we go on?"

_CAPITALISED = re.compile(r"\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)*)\b")
_NOT_NAMES = frozenset({
    "I", "I'm", "I've", "I'd", "I'll", "The", "A", "An", "And", "But", "So", "Then", "We", "He",
    "She", "They", "It", "My", "Our", "His", "Her", "Their", "That", "This", "There", "When",
    "What", "Well", "Oh", "Yes", "No", "Mum", "Mom", "Dad", "God", "Christmas",
})
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


def mentioned(text: str) -> list[str]:
    """Names and places as said: capitalised words that do not start a sentence."""
    found: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        for match in _CAPITALISED.finditer(sentence):
            phrase = match.group(1)
            words = phrase.split()
            if match.start() == sentence.find(phrase) and sentence.lstrip().startswith(phrase):
                words = words[1:]  # sentence-initial word: capitalised by grammar, not as a name
            words = [w for w in words if w not in _NOT_NAMES]
            if words and " ".join(words) not in found:
                found.append(" ".join(words))
    return found


def _echo(text: str, limit: int = 12) -> str:
    """A short stretch of the patient's own words to reflect back (first clause, trimmed)."""
    first = re.split(r"(?<=[.!?;])\s+|,\s+(?:and|but|so)\s+", text.strip(), maxsplit=1)[0]
    words = first.strip(" .!?;,").split()
    if not words:
        return ""
    stretch = " ".join(words[:limit])
    if len(words) > limit:
        stretch += "..."
    if stretch[:2] not in ("I ", "I'"):
        stretch = stretch[0].lower() + stretch[1:]
    return stretch


def _second_person(text: str) -> str:
    """Turn 'I was' into 'you were' so the echo reads as heard, not as quoted back."""
    swaps = {"i": "you", "i'm": "you're", "i've": "you've", "i'd": "you'd", "i'll": "you'll",
             "my": "your", "me": "you", "mine": "yours", "myself": "yourself", "am": "are",
             "was": "were", "we": "you", "our": "your", "us": "you",
             "ourselves": "yourselves", "ours": "yours"}
    out = []
    for word in text.split():
        core = word.rstrip(".,!?;…")
        tail = word[len(core):]
        swap = swaps.get(core.lower())
        out.append((swap + tail) if swap else word)
    return " ".join(out)


def follow_up(prompt: Prompt, answer: str) -> str:
    """One short follow-up: reflect back what was heard, then invite a detail.

    Never advice, never reassurance, never a judgement of what was said.
    """
    names = mentioned(answer)
    years = _YEAR.findall(answer)
    words = len(answer.split())
    heard = _second_person(_echo(answer))
    if names:
        who = names[0]
        return (f"You mentioned {who}. Would you like to tell me a little more about {who}: "
                "a moment or a story that comes to mind?")
    if years:
        return (f"You spoke of {years[0]}. What was your life like around then? "
                "Who was with you, and where were you?")
    if words < 12:
        return ("Take all the time you need. Is there a person, a place or a moment that goes "
                "with that?")
    if heard:
        return (f"I heard that {heard}. Is there a particular day or story that shows it, and "
                "who was there?")
    return "Would you like to say a little more about that?"
