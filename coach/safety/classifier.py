"""A small classifier for what rules cannot list.

"I've sorted out who gets my tools" and "I won't be around to see the garden"
share no keyword with "I want to die", but they sit near it in embedding space,
so the main features are the bundled MiniLM sentence embeddings. Patients type
on phones and speech recognition garbles words ("tablits", "hurtin myself"),
which shifts embeddings a lot, so character n-grams are added: a misspelt word
still shares most of its n-grams with the right one. A logistic regression over
both was the best of the options compared on the dev split (see
notebooks/triage_features.py). Fitting takes seconds; the fitted model is cached
by the hash of the training files and refitted when they change.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.safety.categories import Category
from coach.safety.dataset import Example, load_train, train_files
from coach.safety.prediction import Prediction
from coach.safety.setting import Setting
from knowledge.embeddings import Embedder

LABELS: tuple[Category, ...] = tuple(Category)
MODEL_VERSION = "3"

# Decision thresholds. Crisis and emergency are deliberately low: a missed crisis
# costs far more than a caring reply to someone who was fine. Chosen on the dev
# split (never on the sealed test split).
THRESHOLDS: dict[Category, float] = {
    Category.CRISIS: 0.20,
    Category.EMERGENCY: 0.20,
    Category.OUT_OF_SCOPE: 0.45,
}


# Below the decision thresholds but above these, a crisis or emergency is too likely to
# let pass and too uncertain to assert: the coach asks a direct check-in question and
# flags the turn (see replies.fixed_reply). Chosen on out-of-fold training predictions
# and the dev splits only (notebooks/triage_grey_zone.py).
CHECK_IN_THRESHOLDS: dict[Category, float] = {
    Category.CRISIS: 0.10,
    Category.EMERGENCY: 0.10,
}
"""At 0.10 out-of-fold urgent recall rises from 0.988 to 0.992 and dev false alarms from
4.4 % to 10 % (all of the added ones questions, not crisis replies); lower bands buy little
recall for many more questions (0.05: 0.994 recall, 15.6 % of benign dev messages asked)."""


# A sentence read on its own has lost its context ("It was a long day." after a
# cheerful paragraph), so it must carry stronger evidence to escalate a message.
# Chosen on the long-message dev split (notebooks/triage_long_thresholds.py): at 0.2,
# like whole messages, 80% of long benign messages were flagged.
SENTENCE_THRESHOLDS: dict[Category, float] = {
    Category.CRISIS: 0.99,
    Category.EMERGENCY: 0.99,
    Category.OUT_OF_SCOPE: 0.95,
}


def _features(vecs: NDArray[np.float32], texts: list[str], ngrams: Any,
              memory: NDArray[np.float32] | None = None) -> Any:
    """Embedding, character n-grams, and the embedding again for memory-session answers only:
    that copy lets the model weigh a goodbye differently when a legacy question asked for it."""
    from scipy.sparse import csr_matrix, hstack

    flag = np.zeros(len(texts), dtype=np.float32) if memory is None else memory
    return hstack([csr_matrix(vecs), ngrams.transform([t.lower() for t in texts]),
                   csr_matrix(vecs * flag[:, None]), csr_matrix(flag[:, None])]).tocsr()


def _memory(settings: Sequence[Setting]) -> NDArray[np.float32]:
    return np.array([1.0 if s.in_memory else 0.0 for s in settings], dtype=np.float32)


def fit(vecs: NDArray[np.float32], texts: list[str], labels: NDArray[np.int64],
        memory: NDArray[np.float32] | None = None) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    ngrams = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)
    ngrams.fit([t.lower() for t in texts])
    clf = LogisticRegression(C=32.0, max_iter=5000, class_weight="balanced")
    clf.fit(_features(vecs, texts, ngrams, memory), labels)
    return ngrams, clf


def cache_file(cache_dir: Path) -> Path:
    """Where the classifier fitted on the current training files is (or will be) cached."""
    digest = hashlib.sha256(
        MODEL_VERSION.encode() + b"".join(p.read_bytes() for p in train_files())
    ).hexdigest()[:16]
    return cache_dir / f"triage-{digest}.pkl"


class TriageClassifier:
    def __init__(self, embedder: Embedder, cache_dir: Path) -> None:
        self.embedder = embedder
        self.examples: list[Example] = load_train()
        cache = cache_file(cache_dir)
        texts = [e.text for e in self.examples]
        if cache.is_file():
            # Written by this class below, in the user's own cache: trusted input.
            with cache.open("rb") as fh:
                self.train_vecs, self.ngrams, self.clf = pickle.load(fh)
        else:
            self.train_vecs = embedder.embed(texts)
            labels = np.array([LABELS.index(e.category) for e in self.examples])
            memory = _memory([Setting.parse(e.context) for e in self.examples])
            self.ngrams, self.clf = fit(self.train_vecs, texts, labels, memory)
            cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp")
            with tmp.open("wb") as fh:
                pickle.dump((self.train_vecs, self.ngrams, self.clf), fh)
            tmp.replace(cache)

    def predict(self, texts: Sequence[str], settings: Sequence[Setting] | None = None) -> list[Prediction]:
        """Of the setting, this classifier reads only whether it is a memory session."""
        texts = list(texts)
        vecs = self.embedder.embed(texts)
        memory = _memory(settings if settings is not None else [Setting()] * len(texts))
        raw = self.clf.predict_proba(_features(vecs, texts, self.ngrams, memory))
        probs = np.zeros((len(texts), len(LABELS)))
        probs[:, self.clf.classes_] = raw
        sims = vecs @ self.train_vecs.T
        out = []
        for row, sim in zip(probs, sims, strict=True):
            j = int(np.argmax(sim))
            out.append(Prediction(
                {c: float(p) for c, p in zip(LABELS, row, strict=True)},
                self.examples[j].text, self.examples[j].category, float(sim[j]),
            ))
        return out


def decide(scores: dict[Category, float],
           thresholds: dict[Category, float] = THRESHOLDS) -> Category:
    """The most urgent category whose probability clears its threshold."""
    for category in (Category.CRISIS, Category.EMERGENCY, Category.OUT_OF_SCOPE):
        if scores[category] >= thresholds[category]:
            return category
    return Category.NONE
