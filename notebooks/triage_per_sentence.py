# Whole-message vs whole-message-plus-each-sentence triage, on the dev split only.
# Run: .venv/bin/python notebooks/triage_per_sentence.py
import re

import numpy as np

from coach.cli.context import open_triage
from coach.config import load_settings
from coach.safety import Category
from coach.safety.dataset import DEV, load_examples

triage = open_triage(load_settings())
dev = load_examples(DEV)


def parts(text: str) -> list[str]:
    pieces = [p.strip() for p in re.split(r"(?<=[.!?;])\s+|,\s+(?:and|but|so|then)\s+|\s+but\s+", text)]
    return [p for p in pieces if len(p.split()) >= 3]


for mode in ("whole", "whole+parts"):
    out = []
    for e in dev:
        texts = [e.text] + (parts(e.text) if mode != "whole" else [])
        results = triage.many(texts)
        out.append(min((r.category for r in results), key=lambda c: c.urgency))
    gold = [e.category for e in dev]
    for c in Category:
        rec = np.mean([p is c for g, p in zip(gold, out) if g is c])
        print(f"{mode:12s} {c.value:13s} recall {rec:.3f}")
    fpr = np.mean([p is not Category.NONE for g, p in zip(gold, out) if g is Category.NONE])
    print(f"{mode:12s} benign_fpr {fpr:.3f}; multi-part messages: {sum(len(parts(e.text)) > 1 for e in dev)}")
