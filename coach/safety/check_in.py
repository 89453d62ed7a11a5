"""Reading a patient's answer to a check-in question ("are you having thoughts of ...?").

After a check-in the patient's next message is often just "yes", "a bit" or "no,
I'm fine", which carries no alarm of its own: triage would pass a "yes" as
`none`. So the answer is read against the question. A yes, or anything short of
a clear no ("maybe", "I don't know", "sometimes"), gets the full reviewed reply;
only a clear no lets the conversation go on as before. Anything that is not an
answer at all (the patient talks about something else) is left to ordinary
triage: the turn was already flagged for the care team.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    OTHER = "other"
    """Not an answer to the question: ordinary triage decides."""


_NO = re.compile(
    r"^\s*(?:no+|nope|nah|naw|not\s+at\s+all|of\s+course\s+not|god\s+no|goodness\s+no|"
    r"definitely\s+not|absolutely\s+not|certainly\s+not|no\s+way|not\s+like\s+that|"
    r"i'?m\s+(?:fine|ok(?:ay)?|alright|all\s+right|safe)|i\s+am\s+(?:fine|ok(?:ay)?|alright|safe)|"
    r"(?:it\s+)?(?:was\s+)?(?:just|only)\s+(?:a\s+)?(?:joke|joking|kidding|a\s+figure\s+of\s+speech|"
    r"an?\s+(?:expression|saying))|"
    r"i\s+(?:didn'?t|did\s+not)\s+mean\s+(?:it|that)|you\s+(?:misunderstood|got\s+it\s+wrong)|"
    r"(?:it'?s|it\s+has|it'?s\s+all)\s+(?:passed|gone|settled|better))\b",
    re.IGNORECASE,
)

_YES = re.compile(
    r"^\s*(?:y(?:es|eah|ep|up|a)|aye|i\s+am|i\s+do|i\s+have|i\s+think\s+so|i\s+guess|"
    r"sometimes|some\s+days|a\s+(?:bit|little)|kind\s+of|kinda|sort\s+of|maybe|perhaps|"
    r"possibly|probably|i\s+don'?t\s+know|not\s+sure|i'?m\s+not\s+sure|dunno|"
    r"it\s+is|it'?s\s+(?:happening|still|getting)|right\s+now|still|he\s+(?:is|does)|she\s+(?:is|does)|"
    r"they\s+(?:are|do)|not\s+really)\b",
    re.IGNORECASE,
)
""""Not really" counts as yes: in answer to a question about suicide it is more often a
hesitant yes than a no, and the cost of the full reply to someone who meant no is small."""


def read_answer(text: str) -> Answer:
    """Whether `text` answers a check-in question yes, no, or not at all."""
    # "No, not really" and "not at all" start with a no; "not really" alone is hesitant.
    if re.match(r"^\s*not\s+really\b", text, re.IGNORECASE):
        return Answer.YES
    if _NO.match(text):
        return Answer.NO
    if _YES.match(text):
        return Answer.YES
    return Answer.OTHER
