"""Triage quality on the held-out split, which no training or tuning ever sees."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from rich.table import Table

from coach.safety import Category, Triage
from coach.safety.classifier import decide
from coach.safety.dataset import TEST, load_examples, load_train
from coach.safety.rules import match_rules


def _prf(gold: list[Category], pred: list[Category], cat: Category) -> dict[str, float]:
    tp = sum(1 for g, p in zip(gold, pred, strict=True) if g is cat and p is cat)
    fp = sum(1 for g, p in zip(gold, pred, strict=True) if g is not cat and p is cat)
    fn = sum(1 for g, p in zip(gold, pred, strict=True) if g is cat and p is not cat)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "support": tp + fn}


def run_triage_bench(triage: Triage, split: Path = TEST) -> dict[str, Any]:
    examples = load_examples(split)
    train_texts = {e.text.strip().lower() for e in load_train()}
    overlap = sum(1 for e in examples if e.text.strip().lower() in train_texts)
    gold = [e.category for e in examples]
    triage.many([examples[0].text])  # warm-up: model load is not per-message cost
    times = []
    results = []
    for e in examples:
        t = time.perf_counter()
        results.append(triage(e.text))
        times.append(time.perf_counter() - t)
    pred = [r.category for r in results]
    rule_only = []
    for e in examples:
        rule = match_rules(e.text)
        rule_only.append(rule.category if rule else Category.NONE)
    model_only = [decide({Category(k): v for k, v in r.scores.items()}) for r in results]
    whole_only = [r.category for r in triage.many([e.text for e in examples], per_sentence=False)]

    per_cat = {c.value: _prf(gold, pred, c) for c in Category}
    benign = [(e, p) for e, p in zip(examples, pred, strict=True) if e.category is Category.NONE]
    idioms = [(e, p) for e, p in benign if e.kind == "idiom"]
    fpr = sum(1 for _, p in benign if p is not Category.NONE) / max(len(benign), 1)
    checked = [(e, r) for e, r in zip(examples, results, strict=True) if r.check_in]
    benign_checked = sum(1 for e, _ in checked if e.category is Category.NONE)
    idiom_fpr = sum(1 for _, p in idioms if p is not Category.NONE) / max(len(idioms), 1)
    misses = [
        {"text": e.text, "gold": e.category.value, "predicted": p.value, "reason": r.reason}
        for e, p, r in zip(examples, pred, results, strict=True) if p is not e.category
    ]
    accuracy = sum(1 for g, p in zip(gold, pred, strict=True) if g is p) / len(gold)
    result: dict[str, Any] = {
        "split": split.stem.removeprefix("triage_"),
        "examples": len(examples),
        "in_training": overlap,
        "accuracy": round(accuracy, 4),
        "per_category": per_cat,
        "benign_false_positive_rate": round(fpr, 4),
        "benign_examples": len(benign),
        "idiom_false_positive_rate": round(idiom_fpr, 4),
        "check_ins": len(checked),
        "check_ins_on_urgent": sum(1 for e, r in checked if e.category is r.category),
        "benign_check_in_rate": round(benign_checked / max(len(benign), 1), 4),
        "idiom_examples": len(idioms),
        "rules_only": {c.value: _prf(gold, rule_only, c) for c in Category},
        "classifier_only": {c.value: _prf(gold, model_only, c) for c in Category},
        "whole_message_only": {c.value: _prf(gold, whole_only, c) for c in Category},
        "latency_median_ms": round(1000 * statistics.median(times), 2),
        "errors": misses,
    }
    table = Table("category", "precision", "recall", "support", "rules only: recall",
                  "classifier only: recall", "whole message only: recall",
                  title=f"coach bench triage: {result['split']} split, {len(examples)} messages "
                        f"({overlap} also in training)")
    for c in Category:
        row = per_cat[c.value]
        table.add_row(c.value, f"{row['precision']:.3f}", f"{row['recall']:.3f}",
                      str(row["support"]), f"{result['rules_only'][c.value]['recall']:.3f}",
                      f"{result['classifier_only'][c.value]['recall']:.3f}",
                      f"{result['whole_message_only'][c.value]['recall']:.3f}")
    table.caption = (
        f"accuracy {accuracy:.3f}; false positives on benign messages {fpr:.1%} of {len(benign)}, "
        f"on idioms {idiom_fpr:.1%} of {len(idioms)} (check-in questions, not alarms: "
        f"{result['benign_check_in_rate']:.1%} of benign); {result['check_ins_on_urgent']} crises or "
        f"emergencies caught by a check-in question; median {result['latency_median_ms']} ms "
        f"per message; {len(misses)} errors"
    )
    result["table"] = table
    return result
