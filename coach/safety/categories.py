"""The four triage outcomes and what triage reports about a message."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    """Ordered by urgency: when a message fits several, the most urgent wins."""

    CRISIS = "crisis"
    EMERGENCY = "emergency"
    OUT_OF_SCOPE = "out_of_scope"
    NONE = "none"

    @property
    def urgency(self) -> int:
        return list(Category).index(self)

    @property
    def flags_clinician(self) -> bool:
        return self in (Category.CRISIS, Category.EMERGENCY)


@dataclass(frozen=True)
class TriageResult:
    category: Category
    reason: str
    """Plain words a clinician can read to see why (the rule, or the classifier's evidence)."""
    source: str
    """`rule`, `classifier` or `empty`."""
    scores: dict[str, float]
    """Classifier probabilities per category (empty when a rule decided alone)."""
    subtype: str = ""
    """For rules: `suicide`, `self_harm`, `abuse`, `chest_pain`, `stroke`, ... when known."""
    check_in: bool = False
    """The evidence is weaker than for a sure crisis or emergency, but too strong to let
    pass: the coach asks a direct, reviewed question (and still flags) instead."""

    def as_json(self) -> dict[str, object]:
        return {
            "category": self.category.value,
            "reason": self.reason,
            "source": self.source,
            "subtype": self.subtype,
            "check_in": self.check_in,
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
        }
