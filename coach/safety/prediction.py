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
    lowest: dict[Category, float] | None = None
    """The lowest score any one scorer of an ensemble gave each category; None for a single
    scorer. Two scorers that fail differently rarely both invent the same crisis."""
