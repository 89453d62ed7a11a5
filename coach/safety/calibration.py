"""Where a classifier's scores become triage decisions."""

from __future__ import annotations

from dataclasses import dataclass

from coach.safety.categories import Category


@dataclass(frozen=True)
class Calibration:
    """Where a classifier's scores become decisions; each classifier has its own, chosen on
    the dev splits only (never on a sealed one)."""

    name: str
    sure: dict[Category, float]
    check_in: dict[Category, float]
    sentence: dict[Category, float]
    memory_sure: dict[Category, float] | None = None
    """Crisis and emergency thresholds for answers in a memory session, where a legacy
    question invites what sounds like farewell: there, benign answers score higher, and the
    crises are in plainer words. None: as in coaching."""
    memory_check_in: dict[Category, float] | None = None
    agree: float | None = None
    """For an ensemble: a crisis or emergency the classifiers are sure of on average needs every
    one of them at this score or above for the full reply; when one alone carries it, the patient
    is asked the check-in question instead (the care team is flagged either way). None: off."""

    def sure_for(self, memory: bool) -> dict[Category, float]:
        return {**self.sure, **self.memory_sure} if memory and self.memory_sure else self.sure

    def check_in_for(self, memory: bool) -> dict[Category, float]:
        return self.memory_check_in if memory and self.memory_check_in else self.check_in
