"""Fine-tuning the triage classifier: same files, same weights; and what it reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.safety import Category
from coach.safety.dataset import Example
from coach.safety.finetuned import FinetunedClassifier, train
from coach.safety.setting import Setting
from tests.conftest import model_path

pytestmark = pytest.mark.slow

TINY = [
    Example("I want to end it all tonight", Category.CRISIS, "direct"),
    Example("my chest is crushing and I can't breathe", Category.EMERGENCY, "chest"),
    Example("can I double my metformin?", Category.OUT_OF_SCOPE, "dose"),
    Example("I walked to the park today", Category.NONE, "walk"),
    Example("my ring goes to Ellie", Category.NONE, "bequest", "memory:8"),
    Example("no, not really", Category.NONE, "answer", "Did it rain?"),
] * 6


def test_training_is_deterministic_and_its_weights_load(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    base = model_path("minilm-l6")
    first = train(base, tmp_path / "a", TINY, epochs=1)
    second = train(base, tmp_path / "b", TINY, epochs=1)
    a, b = load_file(str(first / "model.safetensors")), load_file(str(second / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(bool((a[k] == b[k]).all()) for k in a)
    # Nothing half-written is left beside the weights.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]
    assert (first / "examples.npy").is_file() and (first / "triage.json").is_file()


def test_the_shipped_classifier_reads_the_setting(triage) -> None:  # type: ignore[no-untyped-def]
    """The same words score differently as a legacy answer and out of the blue."""
    tuned = next(s for s in triage.classifier.scorers if isinstance(s, FinetunedClassifier))
    text = "I've written letters for each of the grandchildren to open when I'm gone"
    memory, coaching = tuned.predict([text, text], [Setting(memory=8), Setting()])
    assert memory.scores[Category.CRISIS] < coaching.scores[Category.CRISIS]
    assert sum(memory.scores.values()) == pytest.approx(1.0, abs=1e-4)
    assert memory.nearest and -1.0 <= memory.similarity <= 1.0
