"""Triage in a memory session: crisis and emergency exactly as in coaching; the rest in context.

Every answer goes through triage, read with the legacy question it answers
(safety.setting.Setting), before anything else happens. A crisis or emergency verdict
gets the same fixed reply and clinician flag as in coaching, and the answer is held back
from the draft document (the patient, as its author, may put it back; see
`coach memory document --include-turn`). Goodbyes, bequests and acceptance of death are
what the questions ask for: rules about farewells do not decide here (rules.Rule.in_memory),
and the classifier learned from palliative examples that they are benign, while a wish to
hasten death, stockpiled medicines or a carer who hurts the patient are crises.
`coach bench triage --split memory` and `coach bench memory` measure both.

Out-of-scope is different: its fixed reply exists to stop advice on doses, and a
memory session gives no advice at all. The reply is given when the answer asks
something (a question to the coach), not when the patient remembers their medicines.
"""

from __future__ import annotations

import re

from coach.safety import Category, TriageResult

_QUESTION = re.compile(r"\?|^\s*(?:should|can|could|may|must|do|does|is|will|would|how|what)\s+i\b",
                       re.IGNORECASE)


def memory_category(result: TriageResult, text: str) -> Category:
    """What a memory session acts on, given what triage said (stored with the turn either way)."""
    if result.category is Category.OUT_OF_SCOPE and not _QUESTION.search(text):
        return Category.NONE
    return result.category


def asks_first(result: TriageResult, category: Category) -> bool:
    """Whether to answer with the check-in question rather than the full reply.

    Only for the uncertain band, as in coaching. The classifier reads each answer with the
    legacy question it answers, so a sure crisis verdict there is no longer a goodbye
    misread: it gets the full reply. (Before it read context, every classifier-only crisis
    in a memory session was asked about instead, because most were goodbyes.)
    """
    return category.flags_clinician and result.check_in
