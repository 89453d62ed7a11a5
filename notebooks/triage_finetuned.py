# Where the fine-tuned classifier's scores become decisions (finetuned.CALIBRATION).
#
# Uses only what developers may read: the dev splits (dev, dev-long, dev-conv,
# dev-context). The sealed splits are never loaded here. The classifier's predictions
# are computed once and memoised; each calibration is then only rules and thresholds.
# Run: .venv/bin/python notebooks/triage_finetuned.py [ensemble|finetuned|linear] [sure check-in]
import sys
from dataclasses import replace

from coach.bench.triage import CHECK_IN, FULL, NONE, REFUSAL, action
from coach.cli.context import open_triage
from coach.config import load_settings
from coach.safety import Category
from coach.safety.dataset import SPLITS, is_sealed, load_split
from coach.safety.setting import Setting

kind = sys.argv[1] if len(sys.argv) > 1 else "ensemble"
triage = open_triage(load_settings(), kind)
scorer = triage.classifier
memo = {}


class Memo:
    def predict(self, texts, settings):
        todo = [(t, s) for t, s in zip(texts, settings, strict=True) if (t, s) not in memo]
        if todo:
            for key, p in zip(todo, scorer.predict([t for t, _ in todo], [s for _, s in todo]), strict=True):
                memo[key] = p
        return [memo[(t, s)] for t, s in zip(texts, settings, strict=True)]


triage.classifier = Memo()
dev = {name: load_split(path) for name, path in SPLITS.items() if not is_sealed(name)}
context = dev.pop("dev-context")
dev["dev-ctx-memory"] = [e for e in context if e.context.startswith("memory:")]
dev["dev-ctx-coach"] = [e for e in context if not e.context.startswith("memory:")]
base = triage.calibration


def score(cal):
    triage.calibration = cal
    rows = []
    for name, examples in dev.items():
        settings = [Setting.parse(e.context) for e in examples]
        acts = [action(r, e) for r, e in
                zip(triage.many([e.text for e in examples], settings), examples, strict=True)]
        benign = [a for e, a in zip(examples, acts, strict=True) if e.category is Category.NONE]
        urgent = [a for e, a in zip(examples, acts, strict=True) if e.category.flags_clinician]
        oos = [a for e, a in zip(examples, acts, strict=True) if e.category is Category.OUT_OF_SCOPE]
        rows.append((name, sum(a in (CHECK_IN, FULL) for a in urgent) / max(len(urgent), 1),
                     benign.count(FULL) / len(benign), benign.count(CHECK_IN) / len(benign),
                     benign.count(REFUSAL) / len(benign),
                     sum(a == REFUSAL for a in oos) / max(len(oos), 1)))
    return rows


def show(label, cal):
    print(label)
    for name, caught, full, ask, refuse, oos in score(cal):
        print(f"  {name:<12} urgent caught {caught:.3f}  benign full {full:.1%}  "
              f"check-in {ask:.1%}  refusal {refuse:.1%}  oos recall {oos:.3f}")


show("as shipped", base)
for sure in (0.2, 0.25, 0.3, 0.4):
    for ask in (0.05, 0.1, 0.2):
        if ask >= sure:
            continue
        cal = replace(base, sure={**base.sure, Category.CRISIS: sure, Category.EMERGENCY: sure},
                      check_in={Category.CRISIS: ask, Category.EMERGENCY: ask})
        show(f"coaching: sure {sure}, check-in {ask}", cal)
# In a memory session only (the dev-ctx-memory row is the one that moves).
for sure in (0.4, 0.5, 0.6, 0.7, 0.8):
    for ask in (0.2, 0.3, 0.4, 0.5):
        if ask >= sure:
            continue
        cal = replace(base, memory_sure={Category.CRISIS: sure, Category.EMERGENCY: sure},
                      memory_check_in={Category.CRISIS: ask, Category.EMERGENCY: ask})
        show(f"memory: sure {sure}, check-in {ask}", cal)
# The full reply only when every classifier of the ensemble is at `agree` or above; below,
# the check-in question (Calibration.agree). Urgent caught cannot change; full replies move.
for agree in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3):
    show(f"agree {agree}", replace(base, agree=agree))
for sentence in (0.8, 0.9, 0.95):
    show(f"sentence {sentence}", replace(base, sentence={c: sentence for c in base.sentence}))


if len(sys.argv) > 2:
    # Show the dev mistakes at one calibration: sure, check-in thresholds.
    s, c = float(sys.argv[2]), float(sys.argv[3])
    triage.calibration = replace(base, sure={**base.sure, Category.CRISIS: s, Category.EMERGENCY: s},
                                 check_in={Category.CRISIS: c, Category.EMERGENCY: c})
    for name in ("dev-ctx-memory", "dev-ctx-coach", "dev-long"):
        examples = dev[name]
        results = triage.many([e.text for e in examples], [Setting.parse(e.context) for e in examples])
        for e, r in zip(examples, results, strict=True):
            a = action(r, e)
            if (e.category is Category.NONE) != (a == NONE):
                print(f"{name}: {e.category.value} -> {a} [{e.context[:10]}] {e.text[:100]}",
                      f"| {r.reason[:120]}")
