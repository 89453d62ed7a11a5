"""Retrieval quality on questions written in patients' words.

`questions_tune.jsonl` is what retrieval settings were tuned on; `questions_test.jsonl`
(20 %) is never tuned on and gives the figures to quote. `unanswerable_*.jsonl` hold
questions the articles do not answer: the relevance threshold must refuse them
while letting the answerable ones through.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.retriever import HybridRetriever

QUESTIONS = Path(__file__).parent / "questions"
SPLITS = {"test": "questions_test.jsonl", "tune": "questions_tune.jsonl"}
UNANSWERABLE = {"test": "unanswerable_test.jsonl", "tune": "unanswerable_tune.jsonl"}


class QuestionFileError(Exception):
    pass


@dataclass(frozen=True)
class Question:
    text: str
    articles: tuple[str, ...]
    kind: str = ""


def load_questions(path: Path) -> list[Question]:
    questions = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(Question(row["q"], tuple(row.get("articles", ())), row.get("kind", "")))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise QuestionFileError(f"{path.name} line {n}: {exc}") from None
    return questions


def _median_ms(values: list[float]) -> float:
    return round(1000 * statistics.median(values), 2) if values else 0.0


def _p95_ms(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2)


def evaluate(retriever: HybridRetriever, split: str = "test", folder: Path = QUESTIONS,
             warmup: int = 5) -> dict[str, Any]:
    """recall@1, recall@5, MRR (over article ids), refusal rates and per-query latency."""
    questions = load_questions(folder / SPLITS[split])
    off_topic = folder / UNANSWERABLE[split]
    unanswerable = load_questions(off_topic) if off_topic.exists() else []
    known = {p.article_id for p in retriever.index.passages}
    missing = sorted({a for q in questions for a in q.articles} - known)
    if missing:
        raise QuestionFileError(f"questions name articles that are not indexed: {', '.join(missing)}")
    for q in questions[:warmup]:
        retriever.search(q.text)
    hits1 = hits5 = 0
    reciprocal = 0.0
    latencies: list[float] = []
    refused_answerable = 0
    misses: list[dict[str, object]] = []
    for q in questions:
        started = time.perf_counter()
        result = retriever.search(q.text, k=10)
        latencies.append(time.perf_counter() - started)
        ranked = result.articles()
        rank = next((i for i, a in enumerate(ranked) if a in q.articles), None)
        if rank is not None:
            hits1 += rank == 0
            hits5 += rank < 5
            reciprocal += 1.0 / (rank + 1)
        if rank is None or rank >= 5:
            misses.append({"q": q.text, "want": list(q.articles), "got": ranked[:5]})
        refused_answerable += not result.relevant
    refused_unanswerable = sum(not retriever.search(q.text).relevant for q in unanswerable)
    n = len(questions) or 1
    return {
        "split": split,
        "questions": len(questions),
        "recall@1": round(hits1 / n, 3),
        "recall@5": round(hits5 / n, 3),
        "mrr": round(reciprocal / n, 3),
        "median_ms": _median_ms(latencies),
        "p95_ms": _p95_ms(latencies),
        "threshold": retriever.threshold,
        "answerable_refused": round(refused_answerable / n, 3),
        "unanswerable": len(unanswerable),
        "unanswerable_refused": round(refused_unanswerable / (len(unanswerable) or 1), 3),
        "misses": misses,
    }
