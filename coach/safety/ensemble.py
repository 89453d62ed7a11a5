"""Two triage classifiers that fail differently, averaged.

The fine-tuned transformer reads a message with its question but, trained on a few
thousand examples, can be sure of a crisis on one word it has only seen in crises; the
linear model over frozen embeddings is smoother but reads the message nearly alone. On
the dev splits their mistakes overlapped little, and the mean of their probabilities had
fewer false alarms at the same recall than either (notebooks/triage_finetuned.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from coach.safety.prediction import Prediction
from coach.safety.setting import Setting


class Scorer(Protocol):
    def predict(self, texts: Sequence[str], settings: Sequence[Setting]) -> list[Prediction]: ...


class MeanScorer:
    """The mean of the scorers' probabilities; the first scorer's nearest example as evidence."""

    def __init__(self, *scorers: Scorer) -> None:
        self.scorers = scorers

    def predict(self, texts: Sequence[str], settings: Sequence[Setting]) -> list[Prediction]:
        each = [s.predict(texts, settings) for s in self.scorers]
        out = []
        for preds in zip(*each, strict=True):
            first = preds[0]
            scores = {c: sum(p.scores[c] for p in preds) / len(preds) for c in first.scores}
            lowest = {c: min(p.scores[c] for p in preds) for c in first.scores}
            out.append(Prediction(scores, first.nearest, first.nearest_category, first.similarity,
                                  lowest))
        return out
