"""Triage: rules first, then a classifier, most urgent outcome wins.

A long message is judged as a whole and sentence by sentence: a sentence
embedding of a cheerful paragraph drowns one alarming sentence at its end
("...I won't be needing my things much longer"), and spoken turns are often
that long. All pieces go through the classifier in one batch.

Every message is read in its setting (setting.Setting): the coach's previous question,
or the memory-session question it answers. The default classifier is the fine-tuned
transformer (finetuned.py), which reads the two together; the linear classifier over
frozen embeddings (classifier.py) stays selectable to reproduce the earlier figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from coach.safety.calibration import Calibration
from coach.safety.categories import Category, TriageResult
from coach.safety.classifier import (
    CHECK_IN_THRESHOLDS,
    SENTENCE_THRESHOLDS,
    THRESHOLDS,
    TriageClassifier,
    decide,
)
from coach.safety.ensemble import MeanScorer, Scorer
from coach.safety.normalise import readings
from coach.safety.prediction import Prediction
from coach.safety.rules import IDIOMS, match_rules
from coach.safety.setting import COACHING, Setting
from coach.sentences import split_sentences
from knowledge.threads import single_blas_thread

MAX_CHARS = 8000
"""About ten minutes of speech. Longer messages are refused, never cut: a cut could
drop the one sentence that matters."""
MIN_SENTENCE_WORDS = 3


LINEAR = Calibration("linear", THRESHOLDS, CHECK_IN_THRESHOLDS, SENTENCE_THRESHOLDS)


class TriageInputError(ValueError):
    """The message cannot be triaged as given; the message says what to do."""


def pieces(text: str) -> list[str]:
    """The message, then each of its sentences when it has more than one."""
    sentences = [s for s in split_sentences([text], min_chars=1)
                 if len(s.split()) >= MIN_SENTENCE_WORDS]
    return [text, *sentences] if len(sentences) > 1 else [text]


def _check_length(text: str) -> None:
    if len(text) > MAX_CHARS:
        raise TriageInputError(
            f"the message is {len(text):,} characters long; the limit is {MAX_CHARS:,}. "
            "Please send it in shorter parts."
        )


class Triage:
    """Classifies one patient message before any language model sees it."""

    def __init__(self, scorer: Scorer, calibration: Calibration) -> None:
        self.classifier = scorer
        self.calibration = calibration

    @classmethod
    def linear(cls, embedder_dir: Path, cache_dir: Path) -> Triage:
        from knowledge.embeddings import Embedder

        return cls(TriageClassifier(Embedder(embedder_dir), cache_dir), LINEAR)

    @classmethod
    def finetuned(cls, weights: Path, base_dir: Path) -> Triage:
        from coach.safety.finetuned import CALIBRATION, FinetunedClassifier

        return cls(FinetunedClassifier(weights, base_dir), CALIBRATION)

    @classmethod
    def ensemble(cls, weights: Path, base_dir: Path, embedder_dir: Path, cache_dir: Path) -> Triage:
        from coach.safety.finetuned import ENSEMBLE_CALIBRATION, FinetunedClassifier
        from knowledge.embeddings import Embedder

        scorer = MeanScorer(FinetunedClassifier(weights, base_dir),
                            TriageClassifier(Embedder(embedder_dir), cache_dir))
        return cls(scorer, ENSEMBLE_CALIBRATION)

    def __call__(self, text: str, setting: Setting = COACHING) -> TriageResult:
        return self.many([text], [setting])[0]

    def many(self, texts: list[str], settings: Sequence[Setting] | None = None,
             per_sentence: bool = True) -> list[TriageResult]:
        settings = list(settings) if settings is not None else [COACHING] * len(texts)
        # Checked before normalising too, so a huge message is refused before work is done on it.
        for text in texts:
            _check_length(text.strip())
        # Rules and classifier both judge the plain form: fullwidth letters, zero-width
        # characters, terminal escapes and spelt-out words hid or invented alarms.
        read = [readings(t) for t in texts]
        for forms in read:
            _check_length(forms[0])
        # A second reading (what escapes hid) is judged like a sentence: rules in full,
        # the classifier only when sure.
        groups = [(pieces(r[0]) if r[0] and per_sentence else [r[0]]) + r[1:] for r in read]
        flat = [p for group in groups for p in group]
        flat_settings = [s for group, s in zip(groups, settings, strict=True) for _ in group]
        # The classifier learned idioms from its examples and sees the (normalised) text;
        # idiom stripping is only for the rules (see rules.match_rules).
        with single_blas_thread():
            predictions = iter(self.classifier.predict(flat, flat_settings))
        cal = self.calibration
        results = []
        for group, setting in zip(groups, settings, strict=True):
            sure = cal.sure_for(setting.in_memory)
            judged = [self._combine(p, next(predictions), setting,
                                    sure if i == 0 else cal.sentence, check_in=i == 0)
                      for i, p in enumerate(group)]
            # min() keeps the first of equals, so the whole message wins ties; a sure
            # outcome beats a check-in of the same category.
            i = min(range(len(judged)),
                    key=lambda k: (judged[k].category.urgency, judged[k].check_in))
            decided = judged[i]
            if i > 0:
                decided = replace(decided, reason=f'in "{group[i]}": {decided.reason}')
            results.append(decided)
        return results

    def _combine(self, text: str, pred: Prediction, setting: Setting,
                 thresholds: dict[Category, float], check_in: bool = True) -> TriageResult:
        if not text:
            return TriageResult(Category.NONE, "empty message", "empty", {})
        sure = self._sure(text, pred, setting, thresholds)
        agree = self.calibration.agree
        if (check_in and agree is not None and sure.source == "classifier"
                and sure.category.flags_clinician and pred.lowest is not None
                and pred.lowest[sure.category] < agree):
            # One classifier alone is sure ("Got the scale in the bathroom now": fine-tuned
            # crisis 0.92, linear 0.02): too unsure for a crisis line, too much to let pass.
            cat = sure.category
            return replace(sure, check_in=True, reason=(
                f"check-in: classifiers disagree on {cat.value} (mean {pred.scores[cat]:.2f}, "
                f"lowest {pred.lowest[cat]:.2f}, {agree:.2f} needed from each to be sure); "
                f"most similar reviewed example ({pred.similarity:.2f}, "
                f"{pred.nearest_category.value}): \"{pred.nearest}\""))
        if check_in and not sure.category.flags_clinician and not IDIOMS.search(text):
            # Only whole messages are checked in on: a sentence read alone has lost its
            # context ("It was a long day.") and is too often alarming out of it. A reviewed
            # idiom ("this workout is killing me") is what the weak score came from: no question.
            band = decide(pred.scores, {**self.calibration.check_in_for(setting.in_memory),
                                        Category.OUT_OF_SCOPE: 2.0})
            # Two weak signals must agree: the classifier's score and the nearest reviewed
            # example. Alone, the score asked "I did some weeding today" about suicide.
            if band is not Category.NONE and pred.nearest_category is band:
                return TriageResult(
                    band,
                    f"check-in: classifier {pred.scores[band]:.2f} {band.value}, under the "
                    f"{thresholds[band]:.2f} needed to be sure; most similar reviewed example "
                    f"({pred.similarity:.2f}, {pred.nearest_category.value}): \"{pred.nearest}\"",
                    "classifier", sure.scores, check_in=True,
                )
        return sure

    @staticmethod
    def _sure(text: str, pred: Prediction, setting: Setting,
              thresholds: dict[Category, float]) -> TriageResult:
        scores = {c.value: p for c, p in pred.scores.items()}
        rule = match_rules(text, memory=setting.in_memory)
        model_cat = decide(pred.scores, thresholds)
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
