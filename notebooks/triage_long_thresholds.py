# Sweep the per-sentence thresholds on the long-message DEV split (never the sealed one).
# Run: .venv/bin/python notebooks/triage_long_thresholds.py
import numpy as np

from coach.cli.context import open_triage
from coach.config import load_settings
from coach.safety import Category
from coach.safety import classifier as clf_mod
from coach.safety.dataset import DATA, load_examples

triage = open_triage(load_settings())
dev = load_examples(DATA / "triage_dev_long.jsonl")
gold = [e.category for e in dev]
for t in (0.2, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.01):
    for cat in (Category.CRISIS, Category.EMERGENCY, Category.OUT_OF_SCOPE):
        clf_mod.SENTENCE_THRESHOLDS[cat] = t
    pred = [r.category for r in triage.many([e.text for e in dev])]
    line = " ".join(f"{c.value}={np.mean([p is c for g, p in zip(gold, pred) if g is c]):.2f}"
                    for c in Category)
    fpr = np.mean([p is not Category.NONE for g, p in zip(gold, pred) if g is Category.NONE])
    acc = np.mean([p is g for g, p in zip(gold, pred)])
    print(f"sentence threshold {t:.2f}: recall {line}; benign_fpr {fpr:.3f}; accuracy {acc:.3f}")
