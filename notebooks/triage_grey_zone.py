# Where to put the "check-in" band below the crisis/emergency thresholds.
#
# Uses only what developers may read: out-of-fold predictions on the training files
# (5 folds, the classifier refitted on the other four) and the dev splits. The sealed
# splits (test, long, blind, blind2) are never loaded here.
# Run: .venv/bin/python notebooks/triage_grey_zone.py
import numpy as np
from sklearn.model_selection import StratifiedKFold

from coach.cli.context import open_triage
from coach.config import load_settings
from coach.safety import Category
from coach.safety.classifier import LABELS, _features, fit
from coach.safety.dataset import DEV, DEV_LONG, load_examples
from coach.safety.rules import match_rules
from coach.safety.triage import pieces

triage = open_triage(load_settings())
clf = triage.classifier
texts = [e.text for e in clf.examples]
labels = np.array([LABELS.index(e.category) for e in clf.examples])
C, E, O, N = (LABELS.index(c) for c in (Category.CRISIS, Category.EMERGENCY, Category.OUT_OF_SCOPE,
                                       Category.NONE))

oof = np.zeros((len(texts), len(LABELS)))
for train_idx, test_idx in StratifiedKFold(5, shuffle=True, random_state=0).split(texts, labels):
    ngrams, model = fit(clf.train_vecs[train_idx], [texts[i] for i in train_idx], labels[train_idx])
    raw = model.predict_proba(_features(clf.train_vecs[test_idx], [texts[i] for i in test_idx], ngrams))
    oof[np.ix_(test_idx, model.classes_)] = raw
rules_train = [match_rules(t) for t in texts]


def report(name, gold, whole, parts, rule_cats, g_c, g_e, s_c, s_e):
    """Urgent recall and benign false alarms when the grey band starts at g_* (s_* per sentence)."""
    urgent_hit, urgent_n, fa, benign_n = 0, 0, 0, 0
    for y, w, ps, rc in zip(gold, whole, parts, rule_cats, strict=True):
        alarm = rc in (Category.CRISIS, Category.EMERGENCY)
        alarm |= w[C] >= g_c or w[E] >= g_e
        alarm |= any(p[C] >= s_c or p[E] >= s_e for p in ps)
        if y in (C, E):
            urgent_n += 1
            urgent_hit += alarm
        elif y == N:
            benign_n += 1
            fa += alarm
    print(f"{name:9s} band crisis>={g_c:.2f} emerg>={g_e:.2f} sentence>={s_c:.2f}/{s_e:.2f}: "
          f"urgent recall {urgent_hit}/{urgent_n} = {urgent_hit / urgent_n:.3f}; "
          f"benign alarms {fa}/{benign_n} = {fa / benign_n:.3f}")


def split_scores(path):
    examples = load_examples(path)
    groups = [pieces(e.text) for e in examples]
    flat = [p for g in groups for p in g]
    preds = iter(clf.predict(flat))
    whole, parts = [], []
    for g in groups:
        rows = [np.array([pred.scores[c] for c in LABELS]) for pred in (next(preds) for _ in g)]
        whole.append(rows[0])
        parts.append(rows[1:])
    gold = [LABELS.index(e.category) for e in examples]
    rule_cats = [r.category if (r := match_rules(e.text)) else Category.NONE for e in examples]
    return gold, whole, parts, rule_cats


dev = split_scores(DEV)
dev_long = split_scores(DEV_LONG)
train_rules = [r.category if r else Category.NONE for r in rules_train]
for g in (0.20, 0.10, 0.07, 0.05, 0.03, 0.02):
    for s in (0.99, 0.9, 0.7, 0.5):
        report("train-oof", list(labels), list(oof), [[] for _ in texts], train_rules, g, g, s, s)
        report("dev", *dev, g, g, s, s)
        report("dev-long", *dev_long, g, g, s, s)
    print()

# Which out-of-fold urgent messages does the current 0.20 band miss, and how low do they score?
miss = [(max(oof[i, C], oof[i, E]), texts[i], LABELS[labels[i]].value) for i in range(len(texts))
        if labels[i] in (C, E) and oof[i, C] < 0.2 and oof[i, E] < 0.2
        and train_rules[i] not in (Category.CRISIS, Category.EMERGENCY)]
for score, text, cat in sorted(miss):
    print(f"{score:.3f} {cat:9s} {text}")
