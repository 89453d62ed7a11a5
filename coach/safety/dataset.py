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


MEMORY = DATA / "triage_memory.jsonl"
"""Sealed, by a sixth author who saw only LABELLING.md: answers to the nine memory-session
questions (bequests, funeral wishes, goodbyes, acceptance) beside crises in palliative words."""
EVERYDAY = DATA / "triage_everyday.jsonl"
"""Sealed, by a seventh author who saw only LABELLING.md: everyday coaching messages full of
idioms, weather, tiredness, quitting habits and giving things away, beside urgent ones."""
DEV_CONTEXT = DATA / "triage_dev_context.jsonl"
DEV_URGENT = DATA / "triage_dev_urgent.jsonl"
"""Hard-to-spot crises and emergencies (and alarming-sounding benign messages) in both
settings, written after the coaching-conversation data to check it cost no recall."""
"""Dev, by an eighth author who saw only LABELLING.md: both settings, each message with the
question it answers; used to choose the fine-tuned classifier's thresholds."""

COACHING_TEST = Path(__file__).parents[1] / "bench" / "data" / "coaching_test.jsonl"
COACHING_DEV = Path(__file__).parents[1] / "bench" / "data" / "coaching_dev.jsonl"
"""The scripted conversations of `coach bench coaching` (written from their own guide, not
LABELLING.md), every turn benign: what a coaching conversation sounds like. Read by
`coach bench triage` as all-benign splits."""

SPLITS: dict[str, Path] = {
    "test": TEST, "long": TEST_LONG, "blind": BLIND, "blind2": BLIND2, "short": BLIND_SHORT,
    "memory": MEMORY, "everyday": EVERYDAY, "coaching": COACHING_TEST,
    "dev": DEV, "dev-long": DEV_LONG, "dev-conv": DEV_CONV, "dev-context": DEV_CONTEXT,
    "dev-coaching": COACHING_DEV, "dev-urgent": DEV_URGENT,
}
"""Every evaluation split by its bench name. Names starting with `dev` were read while
tuning; the others are sealed: their items are never read, only their figures."""


def is_sealed(name: str) -> bool:
    return not name.startswith("dev")


def train_files() -> list[Path]:
    return sorted(DATA.glob("triage_train*.jsonl"))


@dataclass(frozen=True)
class Example:
    text: str
    category: Category
    kind: str
    context: str = ""
    """What the message answers: "memory:N" (the memory-session question N) or the coach's
    previous question, word for word; empty when not known."""


def load_examples(path: Path) -> list[Example]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(Example(row["text"], Category(row["category"]), row.get("kind", ""),
                               str(row.get("context") or "")))
        except (json.JSONDecodeError, KeyError, ValueError) as exc:
            raise ValueError(f"{path.name} line {n}: {exc}") from exc
    return out


def load_split(path: Path) -> list[Example]:
    """An evaluation split: triage examples, or a file of scripted coaching conversations
    whose every patient turn is a benign example."""
    if not path.name.startswith("coaching_"):
        return load_examples(path)
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                turns = json.loads(line)["turns"]
                out += [Example(t["say"], Category.NONE, f"coaching_{t['move']}") for t in turns]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path.name} line {n}: {exc}") from exc
    return out


def load_train() -> list[Example]:
    return [e for path in train_files() for e in load_examples(path)]
