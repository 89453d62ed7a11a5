"""Triage quality on held-out splits, each message read in its setting.

What a patient meets is an action, not a category: the full crisis or emergency reply,
the check-in question, the out-of-scope refusal, or an ordinary answer. So besides
precision and recall per category, each split reports what benign messages were given
(full reply, check-in question, refusal) and how many urgent ones were caught at all
(flagged with either reply). Memory-session answers are acted on as a memory session
acts on them (coach.legacy.safety).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from rich.table import Table

from coach.legacy.safety import memory_category
from coach.safety import Category, Triage, TriageResult
from coach.safety.classifier import decide
from coach.safety.dataset import Example, load_split, load_train
from coach.safety.rules import match_rules
from coach.safety.setting import Setting

NONE, CHECK_IN, FULL, REFUSAL = "answer", "check-in", "full reply", "refusal"


def action(result: TriageResult, example: Example) -> str:
    """What the patient is given for this verdict, in the example's setting."""
    setting = Setting.parse(example.context)
    category = memory_category(result, example.text) if setting.in_memory else result.category
    if category is Category.NONE:
        return NONE
    if category is Category.OUT_OF_SCOPE:
        return REFUSAL
    return CHECK_IN if result.check_in else FULL


def _prf(gold: list[Category], pred: list[Category], cat: Category) -> dict[str, float]:
    tp = sum(1 for g, p in zip(gold, pred, strict=True) if g is cat and p is cat)
    fp = sum(1 for g, p in zip(gold, pred, strict=True) if g is not cat and p is cat)
    fn = sum(1 for g, p in zip(gold, pred, strict=True) if g is cat and p is not cat)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "support": tp + fn}


def _rate(n: int, d: int) -> float:
    return round(n / d, 4) if d else 0.0


def run_triage_bench(triage: Triage, split: Path, name: str = "") -> dict[str, Any]:
    examples = load_split(split)
    settings = [Setting.parse(e.context) for e in examples]
    train_texts = {e.text.strip().lower() for e in load_train()}
    overlap = sum(1 for e in examples if e.text.strip().lower() in train_texts)
    gold = [e.category for e in examples]
    triage.many([examples[0].text], [settings[0]])  # warm-up: model load is not per-message cost
    times = []
    results = []
    for e, s in zip(examples, settings, strict=True):
        t = time.perf_counter()
        results.append(triage(e.text, s))
        times.append(time.perf_counter() - t)
    pred = [r.category for r in results]
    actions = [action(r, e) for r, e in zip(results, examples, strict=True)]
    rule_only = []
    for e, s in zip(examples, settings, strict=True):
        rule = match_rules(e.text, memory=s.in_memory)
        rule_only.append(rule.category if rule else Category.NONE)
    sure = triage.calibration.sure
    model_only = [decide({Category(k): v for k, v in r.scores.items()}, sure) for r in results]
    whole_only = [r.category for r in triage.many([e.text for e in examples], settings, per_sentence=False)]

    benign = [a for e, a in zip(examples, actions, strict=True) if e.category is Category.NONE]
    urgent = [(e, a) for e, a in zip(examples, actions, strict=True) if e.category.flags_clinician]
    crises = [a for e, a in urgent if e.category is Category.CRISIS]
    emergencies = [a for e, a in urgent if e.category is Category.EMERGENCY]
    idioms = [a for e, a in zip(examples, actions, strict=True)
              if e.category is Category.NONE and e.kind == "idiom"]
    caught = (CHECK_IN, FULL)
    misses = [
        {"text": e.text, "context": e.context, "gold": e.category.value, "predicted": p.value,
         "action": a, "reason": r.reason}
        for e, p, a, r in zip(examples, pred, actions, results, strict=True)
        if p is not e.category or (e.category is Category.NONE and a != NONE)
    ]
    accuracy = sum(1 for g, p in zip(gold, pred, strict=True) if g is p) / len(gold)
    per_cat = {c.value: _prf(gold, pred, c) for c in Category}
    result: dict[str, Any] = {
        "split": name or split.stem.removeprefix("triage_"),
        "classifier": triage.calibration.name,
        "examples": len(examples),
        "in_training": overlap,
        "accuracy": round(accuracy, 4),
        "per_category": per_cat,
        "urgent_caught": _rate(sum(1 for _, a in urgent if a in caught), len(urgent)),
        "crisis_caught": _rate(sum(1 for a in crises if a in caught), len(crises)),
        "emergency_caught": _rate(sum(1 for a in emergencies if a in caught), len(emergencies)),
        "urgent_examples": len(urgent),
        "benign_examples": len(benign),
        "benign_full_reply_rate": _rate(benign.count(FULL), len(benign)),
        "benign_check_in_rate": _rate(benign.count(CHECK_IN), len(benign)),
        "benign_refusal_rate": _rate(benign.count(REFUSAL), len(benign)),
        "benign_false_positive_rate": _rate(sum(1 for a in benign if a != NONE), len(benign)),
        "idiom_examples": len(idioms),
        "idiom_false_positive_rate": _rate(sum(1 for a in idioms if a != NONE), len(idioms)),
        "check_ins_on_urgent": sum(1 for _, a in urgent if a == CHECK_IN),
        "rules_only": {c.value: _prf(gold, rule_only, c) for c in Category},
        "classifier_only": {c.value: _prf(gold, model_only, c) for c in Category},
        "whole_message_only": {c.value: _prf(gold, whole_only, c) for c in Category},
        "latency_median_ms": round(1000 * statistics.median(times), 2),
        "errors": misses,
    }
    table = Table("category", "precision", "recall", "support", "rules only: recall",
                  "classifier only: recall", "whole message only: recall",
                  title=f"coach bench triage: {result['split']} split, {len(examples)} messages "
                        f"({overlap} also in training), {result['classifier']} classifier")
    for c in Category:
        row = per_cat[c.value]
        table.add_row(c.value, f"{row['precision']:.3f}", f"{row['recall']:.3f}",
                      str(row["support"]), f"{result['rules_only'][c.value]['recall']:.3f}",
                      f"{result['classifier_only'][c.value]['recall']:.3f}",
                      f"{result['whole_message_only'][c.value]['recall']:.3f}")
    table.caption = (
        f"urgent messages caught (full reply or check-in): {result['urgent_caught']:.3f} of "
        f"{len(urgent)}; benign messages ({len(benign)}) given the full crisis or emergency "
        f"reply {result['benign_full_reply_rate']:.1%}, the check-in question "
        f"{result['benign_check_in_rate']:.1%}, the out-of-scope refusal "
        f"{result['benign_refusal_rate']:.1%}; idioms misread {result['idiom_false_positive_rate']:.1%} "
        f"of {len(idioms)}; median {result['latency_median_ms']} ms per message"
    )
    result["table"] = table
    return result


def summary_table(results: list[dict[str, Any]]) -> Table:
    """One row per split: what `coach bench triage --split all` prints."""
    table = Table("split", "messages", "urgent caught", "crisis caught", "emergency caught",
                  "benign: full reply", "benign: check-in", "benign: refusal",
                  "out-of-scope recall", "median ms",
                  title=f"coach bench triage: every split, {results[0]['classifier']} classifier "
                        "(dev splits were read while tuning; the others are sealed)")
    for r in results:
        def caught(key: str, r: dict[str, Any] = r) -> str:
            return f"{r[key]:.3f}" if r["urgent_examples"] else "-"

        table.add_row(r["split"], str(r["examples"]), caught("urgent_caught"),
                      caught("crisis_caught"), caught("emergency_caught"),
                      f"{r['benign_full_reply_rate']:.1%}", f"{r['benign_check_in_rate']:.1%}",
                      f"{r['benign_refusal_rate']:.1%}",
                      f"{r['per_category']['out_of_scope']['recall']:.3f}",
                      f"{r['latency_median_ms']:.0f}")
    return table
