"""Retrieval ablation and relevance-threshold calibration on the *tune* questions only.

Run: .venv/bin/python notebooks/kb_retrieval.py   (after `coach kb build`)
"""

import numpy as np

from coach.config import load_settings
from coach.grounding import open_knowledge
from knowledge.evaluation import QUESTIONS, evaluate, load_questions

retriever = open_knowledge(load_settings()).retriever
for name, lexical, dense in (("hybrid", True, True), ("bm25", True, False), ("dense", False, True)):
    retriever.use_lexical, retriever.use_dense = lexical, dense
    result = evaluate(retriever, "tune")
    print(name, {k: v for k, v in result.items() if k != "misses"})
retriever.use_lexical = retriever.use_dense = True

answerable = [retriever.search(q.text).best_similarity
              for q in load_questions(QUESTIONS / "questions_tune.jsonl")]
unanswerable = [retriever.search(q.text).best_similarity
                for q in load_questions(QUESTIONS / "unanswerable_tune.jsonl")]
for t in (0.25, 0.30, 0.33, 0.35, 0.38, 0.40, 0.45):
    print(f"threshold {t:.2f}: answerable refused {np.mean([a < t for a in answerable]):.3f}, "
          f"unanswerable refused {np.mean([u < t for u in unanswerable]):.3f}")
