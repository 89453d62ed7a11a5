"""The triage examples we wrote, in three kinds of split.

- train (`triage_train*.jsonl`): what the classifier is fitted on.
- dev (`triage_dev.jsonl`): never trained on, but its errors were read while
  choosing features and thresholds, so its figures are optimistic.
- test (`triage_test.jsonl`): written separately and sealed: never trained on,
  never tuned on, its items not read by developers. The figure to quote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from coach.safety.categories import Category

DATA = Path(__file__).parent / "data"
DEV = DATA / "triage_dev.jsonl"
DEV_LONG = DATA / "triage_dev_long.jsonl"
DEV_CONV = DATA / "triage_dev_conv.jsonl"
"""Dev, by a fifth author who saw no project data: turns said mid-conversation and at its
end (half of the benign ones short closings and answers), beside indirect crises."""
TEST = DATA / "triage_test.jsonl"
TEST_LONG = DATA / "triage_test_long.jsonl"
"""Sealed like TEST: long, spoken-style messages, often with one decisive sentence."""
BLIND = DATA / "triage_blind.jsonl"
"""Sealed, and written by a different author who never saw the other splits: the
nearest thing we have to the unknown messages real patients will send."""
BLIND2 = DATA / "triage_blind2.jsonl"
"""Sealed, by a third author who saw neither the training data nor the other splits;
written after the check-in band was designed and first scored with it."""
BLIND_SHORT = DATA / "triage_blind_short.jsonl"
"""Sealed, by a fourth author who saw no project data: short messages (1-12 words) as said
mid-conversation or at its end (closings, short answers, idioms) beside short crises and
emergencies, written when short closings were found to raise crisis alarms."""


def train_files() -> list[Path]:
    return sorted(DATA.glob("triage_train*.jsonl"))


@dataclass(frozen=True)
class Example:
    text: str
    category: Category
    kind: str


def load_examples(path: Path) -> list[Example]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(Example(row["text"], Category(row["category"]), row.get("kind", "")))
        except (json.JSONDecodeError, KeyError, ValueError) as exc:
            raise ValueError(f"{path.name} line {n}: {exc}") from exc
    return out


def load_train() -> list[Example]:
    return [e for path in train_files() for e in load_examples(path)]
