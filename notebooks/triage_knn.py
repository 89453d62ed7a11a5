# Does a nearest-neighbour vote catch what the regression misses? Dev split only.
# Run: .venv/bin/python notebooks/triage_knn.py
import numpy as np

from coach.cli.context import open_triage
from coach.config import load_settings
from coach.safety import Category
from coach.safety.classifier import decide
from coach.safety.dataset import DEV, load_examples
from coach.safety.rules import match_rules

triage = open_triage(load_settings())
clf = triage.classifier
dev = load_examples(DEV)
vecs = clf.embedder.embed([e.text for e in dev])
sims = vecs @ clf.train_vecs.T
preds = clf.predict([e.text for e in dev])
labels = np.array([clf.examples[i].category.value for i in range(len(clf.examples))])
urgent = {Category.CRISIS, Category.EMERGENCY}
for t_em in (0.2, 0.15, 0.1):
    for knn in (1.1, 0.8, 0.75, 0.7, 0.65):
        for k in (1, 3):
            out = []
            for e, p, sim in zip(dev, preds, sims):
                rule = match_rules(e.text)
                th = {Category.CRISIS: 0.2, Category.EMERGENCY: t_em, Category.OUT_OF_SCOPE: 0.45}
                cat = decide(p.scores, th)
                if rule and rule.category.urgency <= cat.urgency:
                    cat = rule.category
                top = np.argsort(-sim)[:k]
                votes = [Category(labels[j]) for j in top if sim[j] >= knn]
                hot = [c for c in votes if c in urgent]
                if cat not in urgent and len(hot) == k:
                    cat = max(hot, key=lambda c: -c.urgency)
                out.append(cat)
            gold = [e.category for e in dev]
            rc = np.mean([p == g for g, p in zip(gold, out) if g is Category.CRISIS])
            re_ = np.mean([p == g for g, p in zip(gold, out) if g is Category.EMERGENCY])
            fpr = np.mean([p is not Category.NONE for g, p in zip(gold, out) if g is Category.NONE])
            print(f"t_em={t_em} knn>={knn} k={k}: crisis {rc:.3f} emergency {re_:.3f} benign_fpr {fpr:.3f}")
