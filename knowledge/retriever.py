"""Hybrid retrieval: BM25 and dense embeddings, fused by reciprocal rank.

Why both: patients say "sugar low" and "puffer", which BM25 over our topic words
finds; they also say "I feel wobbly and sweaty", which only embeddings connect to
hypoglycaemia. Reciprocal-rank fusion needs no score calibration between the two.
Misspelt and mis-transcribed words are mapped to the nearest indexed word before
BM25 sees them. Passages from articles about the patient's own conditions get a
small boost, never a filter: a patient with diabetes can still ask about sleep.

Optional re-ranking: a larger embedder (the bundled mpnet) re-orders the top 20, fused
again by rank. On the tune questions it lifts recall@1 from 0.82 to 0.87 and MRR from
0.89 to 0.92, at the cost of one mpnet query embedding (well past 50 ms on two cores),
so it is off by default and turned on with the `kb_reranker` setting.
"""

from __future__ import annotations

import difflib
import functools
import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import bm25s
import numpy as np
import snowballstemmer
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from numpy.typing import NDArray
from pydantic import ConfigDict

from knowledge.colloquial import expand
from knowledge.embeddings import Embedder
from knowledge.index import KnowledgeIndexError, OpenIndex
from knowledge.passages import Passage

RRF_K = 60
"""The constant from Cormack et al. (2009); ranks past ~60 barely count."""
CANDIDATES = 40
RERANK_CANDIDATES = 20
MAX_QUERY_CHARS = 2000
CONDITION_BOOST = 0.25
"""Added to a matching passage's fused score, as a fraction of a first-place vote."""
RELEVANCE_THRESHOLD = 0.38
"""Best dense cosine below which nothing retrieved is about the question; calibrated
on answerable versus unanswerable questions (`coach kb eval` prints both)."""


class QueryError(ValueError):
    """The query cannot be searched; the message tells the user why."""


@functools.cache
def _stemmer() -> Any:
    return snowballstemmer.stemmer("english")


_TOKEN = re.compile(r"[a-z0-9]+")
_STOPWORD_TEXT = (
    "a an and are as at be been but by can could did do does doing for from had has have he her "
    "him his how i if in into is it its just me my of on or our she should so than that the their "
    "them then there these they this to too up us was we were what when where which who why will "
    "with would you your im ive id dont get got am"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_STOPWORD_LIST = sorted(w for w in STOPWORDS if len(w) >= 4)


def tokens(text: str) -> list[str]:
    words = [w for w in _TOKEN.findall(text.lower()) if w not in STOPWORDS]
    return list(_stemmer().stemWords(words))


def query_tokens(text: str) -> list[str]:
    """Like `tokens`, also dropping misspelt stopwords ("shoud", "abot") before they are
    "corrected" into some unrelated indexed word."""
    words = [w for w in _TOKEN.findall(text.lower()) if w not in STOPWORDS
             and not (len(w) >= 4 and difflib.get_close_matches(w, _STOPWORD_LIST, n=1, cutoff=0.85))]
    return list(_stemmer().stemWords(words))


def check_query(query: object) -> str:
    if not isinstance(query, str):
        raise QueryError("the question must be text")
    text = unicodedata.normalize("NFKC", query).strip()
    if not text:
        raise QueryError("the question is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the question is {len(text)} characters; keep it under {MAX_QUERY_CHARS}")
    printable = sum(ch.isprintable() or ch.isspace() for ch in text)
    if printable < 0.9 * len(text) or not re.search(r"[^\W\d_]", text):
        raise QueryError("the question does not look like text; type or say it in words")
    return text


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    similarity: float
    lexical_rank: int | None
    dense_rank: int | None


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    best_similarity: float
    threshold: float
    seconds: float
    corrections: dict[str, str] = field(default_factory=dict)
    query_vector: NDArray[np.float32] | None = None
    """The question's embedding, for callers that compare it with passage sentences."""

    @property
    def relevant(self) -> bool:
        """Whether anything reviewed speaks to the question; below it the coach says so."""
        return bool(self.hits) and self.best_similarity >= self.threshold

    def articles(self) -> list[str]:
        """Article ids in rank order, each once."""
        seen: list[str] = []
        for hit in self.hits:
            if hit.passage.article_id not in seen:
                seen.append(hit.passage.article_id)
        return seen


class HybridRetriever(BaseRetriever):
    """langchain retriever over an `OpenIndex`; `search` gives scores and reasons too."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: OpenIndex
    k: int = 5
    conditions: tuple[str, ...] = ()
    threshold: float = RELEVANCE_THRESHOLD
    use_lexical: bool = True
    use_dense: bool = True
    use_colloquial: bool = True
    """Search with the article words of a question's everyday phrases added (`colloquial`)."""
    reranker: Embedder | None = None
    """Optional second, larger embedder (mpnet) that re-orders the fused candidates."""

    def model_post_init(self, context: Any, /) -> None:
        self._passages = self.index.passages
        self._by_id = {p.id: i for i, p in enumerate(self._passages)}
        corpus = [tokens(p.lexical_text) for p in self._passages]
        self._vocab = sorted({t for doc in corpus for t in doc})
        self._vocab_set = frozenset(self._vocab)
        # Candidates for spelling correction by first letter: comparing against the whole
        # vocabulary costs tens of milliseconds per unknown word.
        self._by_initial: dict[str, list[str]] = {}
        for word in self._vocab:
            self._by_initial.setdefault(word[0], []).append(word)
        self._bm25 = bm25s.BM25()
        self._bm25.index(corpus, show_progress=False)
        self._rerank: NDArray[np.float32] | None = None
        if self.reranker is not None:
            stored = self.index.rerank_vectors()
            if len(stored) != len(self._passages):
                raise KnowledgeIndexError("the index has no re-ranking vectors for every passage; "
                                          "run `coach kb build` with kb_reranker set")
            self._rerank = np.stack([stored[p.id] for p in self._passages])

    def _correct(self, words: list[str]) -> tuple[list[str], dict[str, str]]:
        """Map unknown words to the closest indexed word ("diabeties" -> "diabet")."""
        fixed, changes = [], {}
        for word in words:
            if word in self._vocab_set or len(word) < 4 or word.isdigit():
                fixed.append(word)
                continue
            pool = [w for w in self._by_initial.get(word[0], ()) if abs(len(w) - len(word)) <= 2]
            close = difflib.get_close_matches(word, pool, n=1, cutoff=0.8)
            if close:
                changes[word] = close[0]
                fixed.append(close[0])
        return fixed, changes

    def _lexical(self, query: str) -> tuple[list[int], dict[str, str]]:
        words, changes = self._correct(query_tokens(query))
        if not words:
            return [], changes
        n = min(CANDIDATES, len(self._passages))
        docs, scores = self._bm25.retrieve([words], k=n, show_progress=False, n_threads=1)
        return [int(d) for d, s in zip(docs[0], scores[0], strict=True) if s > 0], changes

    def _dense(self, vector: list[float]) -> list[tuple[int, float]]:
        pairs = self.index.store.similarity_search_with_score_by_vector(
            vector, k=min(CANDIDATES, len(self._passages)))
        return [(self._by_id[doc.id or ""], score) for doc, score in pairs if doc.id in self._by_id]

    def search(self, query: object, k: int | None = None,
               conditions: tuple[str, ...] | None = None) -> SearchResult:
        text = check_query(query)
        started = time.perf_counter()
        k = k or self.k
        conditions = self.conditions if conditions is None else conditions
        searched = expand(text) if self.use_colloquial else text
        lexical, changes = self._lexical(searched) if self.use_lexical else ([], {})
        vector = self.index.store.embeddings.embed_query(searched) if self.use_dense else None
        dense = self._dense(vector) if vector is not None else []
        fused: dict[int, float] = {}
        lex_rank = {d: r for r, d in enumerate(lexical)}
        dense_rank = {d: r for r, (d, _) in enumerate(dense)}
        similarity = dict(dense)
        for rank_map in (lex_rank, dense_rank):
            for doc, rank in rank_map.items():
                fused[doc] = fused.get(doc, 0.0) + 1.0 / (RRF_K + rank + 1)
        if conditions:
            wanted = set(conditions)
            for doc in fused:
                if wanted.intersection(self._passages[doc].conditions):
                    fused[doc] += CONDITION_BOOST / (RRF_K + 1)
        order = sorted(fused, key=lambda d: -fused[d])
        if self.reranker is not None and self._rerank is not None:
            order = self._rerank_order(searched, order[:RERANK_CANDIDATES])
        order = order[:k]
        hits = [Hit(self._passages[d], fused[d], float(similarity.get(d, np.nan)),
                    lex_rank.get(d), dense_rank.get(d)) for d in order]
        best = max((s for _, s in dense), default=0.0)
        return SearchResult(text, hits, best, self.threshold, time.perf_counter() - started, changes,
                            None if vector is None else np.asarray(vector, dtype=np.float32))

    def _rerank_order(self, text: str, candidates: list[int]) -> list[int]:
        """Fuse the hybrid order with the re-ranker's order of the same candidates."""
        assert self.reranker is not None and self._rerank is not None
        sims = self._rerank[candidates] @ self.reranker.embed([text])[0]
        by_model = [candidates[i] for i in np.argsort(-sims)]
        score = {d: 1.0 / (RRF_K + r + 1) for r, d in enumerate(candidates)}
        for r, d in enumerate(by_model):
            score[d] += 1.0 / (RRF_K + r + 1)
        return sorted(candidates, key=lambda d: -score[d])

    def _get_relevant_documents(self, query: str, *,
                                run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        result = self.search(query)
        docs = []
        for hit in result.hits:
            doc = hit.passage.to_document()
            doc.metadata.update(score=hit.score, similarity=hit.similarity)
            docs.append(doc)
        return docs
