"""Safety triage before any model runs, and a check on everything a model says.

No language model we ship is safe on its own (STACK.md: the 1.5B model missed a
crisis statement; smaller ones advised doubling a dose), so triage is rules plus
a small classifier that answer before generation, with fixed, reviewed replies.
"""

from coach.safety.categories import Category, TriageResult
from coach.safety.output_check import OutputVerdict, check_output
from coach.safety.replies import FixedReply, fixed_reply
from coach.safety.triage import Triage

__all__ = [
    "Category",
    "FixedReply",
    "OutputVerdict",
    "Triage",
    "TriageResult",
    "check_output",
    "fixed_reply",
]
