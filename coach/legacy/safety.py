"""Triage in a memory session: crisis and emergency exactly as in coaching; the rest in context.

Every answer goes through the coaching triage before anything else happens. A crisis
or emergency verdict gets the same fixed reply and clinician flag as in coaching,
and the answer is held back from the draft document (the patient, as its author,
may put it back; see `coach memory document --include-turn`).

This has a measured cost that we accept rather than weaken: the coaching classifier
learned, rightly, that giving possessions away and saying goodbye are warning signs,
and a Dignity Therapy session asks for exactly those things. `coach bench memory`
reports how many scripted legacy answers were read as crises. A memory-specific
gate (act on a classifier-only crisis only when a lexicon of present despair also
matches) was tried and dropped: on the triage dev splits it let through a large
share of the indirect crisis statements the classifier caught ("I stand at the top
of the stairs wondering if the fall would do it").

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
    """Whether to answer a crisis with the check-in question rather than the full crisis reply.

    A rule match ("I want to end my life") gets the full reply, as in coaching. A crisis
    seen only by the classifier is, in a legacy session, often a goodbye the protocol asked
    for; the reviewed check-in question still gives the numbers and flags the care team,
    but lets a patient who was only answering the question say so and go on.
    """
    return category is Category.CRISIS and (result.check_in or result.source == "classifier")
