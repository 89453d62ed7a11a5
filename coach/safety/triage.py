"""Triage: rules first, then the embedding classifier, most urgent outcome wins."""

from __future__ import annotations

from pathlib import Path

from coach.safety.categories import Category, TriageResult
from coach.safety.classifier import Prediction, TriageClassifier, decide
from coach.safety.rules import match_rules
from knowledge.embeddings import Embedder

MAX_CHARS = 4000


class Triage:
    """Classifies one patient message before any language model sees it."""

    def __init__(self, embedder_dir: Path, cache_dir: Path) -> None:
        self.classifier = TriageClassifier(Embedder(embedder_dir), cache_dir)

    def __call__(self, text: str) -> TriageResult:
        return self.many([text])[0]

    def many(self, texts: list[str]) -> list[TriageResult]:
        cleaned = [t.strip()[:MAX_CHARS] for t in texts]
        # The classifier learned idioms from its examples and sees the text as written;
        # idiom stripping is only for the rules (see rules.match_rules).
        predictions = self.classifier.predict(cleaned)
        return [self._combine(t, p) for t, p in zip(cleaned, predictions, strict=True)]

    @staticmethod
    def _combine(text: str, pred: Prediction) -> TriageResult:
        scores = {c.value: p for c, p in pred.scores.items()}
        if not text:
            return TriageResult(Category.NONE, "empty message", "empty", {})
        rule = match_rules(text)
        model_cat = decide(pred.scores)
        if rule is not None and rule.category.urgency <= model_cat.urgency:
            return TriageResult(rule.category, f"rule: {rule.reason}", "rule", scores,
                                rule.subtype)
        if model_cat is Category.NONE:
            return TriageResult(
                Category.NONE,
                f"no rule matched; classifier {pred.scores[Category.NONE]:.2f} none",
                "classifier", scores,
            )
        subtype = rule.subtype if rule is not None and rule.category is model_cat else ""
        return TriageResult(
            model_cat,
            f"classifier {pred.scores[model_cat]:.2f} {model_cat.value}; most similar reviewed "
            f"example ({pred.similarity:.2f}, {pred.nearest_category.value}): \"{pred.nearest}\"",
            "classifier", scores, subtype,
        )
