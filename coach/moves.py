"""What this turn of the conversation calls for, decided before the model writes.

A 1.5B model told once, in a long system prompt, to "ask before you advise" answers a
patient's report of two walks with tips, and their mixed feelings with "you should". Told
just before the patient's words what this one turn is for, it keeps to it far more often
(measured with `coach bench coaching`). The move is chosen from the message itself and
whether reviewed passages answer it; each move is a short, fixed instruction.
"""

from __future__ import annotations

import re
from enum import Enum


class Move(Enum):
    ANSWER = "answer"
    """They asked, and reviewed passages answer it."""
    AMBIVALENCE = "ambivalence"
    """Mixed feelings about a change: reflect both sides, never push."""
    PLAN = "plan"
    """They propose or ask help with a plan of their own."""
    REFLECT = "reflect"
    """They report, or say how they feel: reflect, affirm, ask; no unasked advice."""


_AMBIVALENT = re.compile(
    r"\b(?:i\s+know\s+i\s+(?:should|ought|need)|part\s+of\s+me|in\s+two\s+minds|can'?t\s+be\s+bothered|"
    r"not\s+sure\s+(?:if|whether|i\s+(?:want|can))|i\s+(?:want|would\s+like|'d\s+like)\s+to\b[^.?!]*\bbut\b|"
    r"i\s+should\b[^.?!]*\bbut\b|\bbut\s+(?:honestly|to\s+be\s+honest|then\s+again|i\s+(?:don'?t|can'?t)"
    r"\s+(?:fancy|face|see))|what'?s\s+the\s+point|easier\s+said\s+than\s+done)\b",
    re.IGNORECASE,
)
_PLAN = re.compile(
    r"\b(?:i'?ll\s+(?:try|start|give)|i\s+(?:will|might|could)\s+(?:try|start|give)|i'?m\s+going\s+to\s+"
    r"(?:try|start)|maybe\s+i|i\s+want\s+to\s+(?:start|try|stop|quit|cut|get)|(?:help|work)\s+(?:me\s+)?"
    r"(?:out|make|plan|work\s+out)|a\s+plan\b|where\s+do\s+i\s+(?:even\s+)?start)\b"
    r"|(?:^|[.!?]\s+)(?:might|may)\s+(?:try|give|start)\b",
    re.IGNORECASE,
)

GUIDANCE: dict[Move, str] = {
    Move.ANSWER: "This turn: answer exactly what they asked, from the reviewed information, in "
                 "one or two short sentences with its number; then one short question back.",
    Move.AMBIVALENCE: "This turn: they have mixed feelings. Reflect both sides in your own words "
                      "and ask what matters most to them. No advice, no 'you should'.",
    Move.PLAN: "This turn: affirm their idea and ask one question that makes it specific "
               "(when, where, how often). No tips unless they asked for them.",
    Move.REFLECT: "This turn: reflect back what they told you, praise any effort, and ask one "
                  "open question. No advice unless they asked for it.",
}


def after_lead(lead: str) -> str:
    """The turn's guidance once the coach has said the reviewed answer itself."""
    return (f'This turn: you have already said "{lead}" Do not say it again. In one short '
            "sentence, add something from the reviewed information only if they asked for it, "
            "then ask one short question back.")


FALLBACK: dict[Move, str] = {
    Move.AMBIVALENCE: "It sounds like part of you wants this and part of you isn't sure. "
                      "What matters most to you about it?",
    Move.PLAN: "That sounds like a plan worth trying. When would you like to start?",
    Move.REFLECT: "Thank you for telling me. How are you feeling about it?",
}
"""What the coach says when every sentence the model wrote was dropped (advice nobody asked
for, or with no reviewed source): on a report, a feeling or a plan, a reflection and a
question, not "I don't have a good answer to that"."""


def decide(text: str, asking: bool, has_passages: bool) -> Move:
    """The move for a patient's message; `asking`: it asks for information."""
    if asking and has_passages:
        return Move.ANSWER
    if _AMBIVALENT.search(text):
        return Move.AMBIVALENCE
    if _PLAN.search(text):
        return Move.PLAN
    return Move.REFLECT
