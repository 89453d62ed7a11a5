# Sweep triage decision thresholds on the dev split (never the sealed test split).
# Run: .venv/bin/python notebooks/triage_thresholds.py
from pathlib import Path

from coach.cli.context import TRIAGE_EMBEDDER
from coach.config import load_settings
from coach.provision import require
from coach.safety import Category, Triage
from coach.safety.dataset import DEV, load_examples

settings = load_settings()
triage = Triage(require(settings.models_dir, TRIAGE_EMBEDDER), settings.home / "cache")
dev = load_examples(DEV)
results = triage.many([e.text for e in dev])
urgent = {Category.CRISIS, Category.EMERGENCY}
for t_single in (0.1, 0.15, 0.2, 0.3):
    for t_sum in (0.2, 0.3, 0.4, 1.1):
        pred = []
        for r in results:
            s = {Category(k): v for k, v in r.scores.items()}
            if r.source == "rule":
                pred.append(r.category)
                continue
            if s[Category.CRISIS] >= t_single or s[Category.EMERGENCY] >= t_single or \
                    s[Category.CRISIS] + s[Category.EMERGENCY] >= t_sum:
                pred.append(max(urgent, key=lambda c: s[c]))
            elif s[Category.OUT_OF_SCOPE] >= 0.45:
                pred.append(Category.OUT_OF_SCOPE)
            else:
                pred.append(Category.NONE)
        gold = [e.category for e in dev]
        rec_u = sum(p in urgent for g, p in zip(gold, pred) if g in urgent) / sum(g in urgent for g in gold)
        benign = [p for g, p in zip(gold, pred) if g is Category.NONE]
        fpr = sum(p is not Category.NONE for p in benign) / len(benign)
        print(f"single={t_single:.2f} sum={t_sum:.2f} urgent_recall={rec_u:.3f} benign_fpr={fpr:.3f}")
_ = Path
