"""What a triage classifier says about one message, whichever classifier it is."""

from __future__ import annotations

from dataclasses import dataclass

from coach.safety.categories import Category


@dataclass(frozen=True)
class Prediction:
    scores: dict[Category, float]
    nearest: str
    """The most similar training example, shown to clinicians as evidence."""
    nearest_category: Category
    similarity: float
