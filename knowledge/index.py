"""Building and opening the knowledge index: one SQLite file beside the models.

A build validates every article first and writes nothing if any is broken, then
updates a copy of the index and swaps it in atomically: a bad article, a crash or
a killed build always leaves the previous index usable. Only passages whose text
changed are embedded again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from knowledge.article import Article, load_articles
from knowledge.embeddings import Embedder
from knowledge.passages import Passage, passages_of
from knowledge.readability import measure
from knowledge.vectorstore import BundledEmbeddings, ScoredVectorStore, SqliteVecStore, connect

SCHEMA_VERSION = 1
ARTICLES_DIR = Path(__file__).parent / "articles"


class KnowledgeIndexError(Exception):
    """The index is missing, stale or unreadable; the message says what to run."""


@dataclass
class BuildReport:
    articles: int
    passages: int
    embedded: int
    removed: int
    seconds: float
    index_path: Path
    reranked: int = 0
    """Passages embedded by the optional re-ranking model."""


@dataclass
class ArticleStats:
    id: str
    title: str
    words: int
    grade: float
    passages: int
    conditions: list[str]
    sources: list[str]
    last_reviewed: str


@dataclass
class IndexStats:
    path: Path
    embedder: str
    built_at: str
    articles: list[ArticleStats] = field(default_factory=list)
    passages: int = 0

    @property
    def median_grade(self) -> float:
        grades = sorted(a.grade for a in self.articles)
        if not grades:
            return 0.0
        mid = len(grades) // 2
        return grades[mid] if len(grades) % 2 else (grades[mid - 1] + grades[mid]) / 2


def _meta(conn: Any) -> dict[str, str]:
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    return dict(conn.execute("SELECT key, value FROM meta").fetchall())


def _set_meta(conn: Any, **values: object) -> None:
    for key, value in values.items():
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value)))


def _article_row(article: Article, passages: int) -> tuple[object, ...]:
    reading = measure(article.body)
    return (article.id, article.title, article.digest, article.words, round(reading.grade, 2),
            passages, json.dumps(list(article.conditions)),
            json.dumps([s.cite() for s in article.sources]), article.last_reviewed.isoformat())


def build_index(index_path: Path, embedder: Embedder, embedder_name: str,
                articles_dir: Path = ARTICLES_DIR,
                progress: Callable[[int, int], None] | None = None,
                reranker: Embedder | None = None) -> BuildReport:
    """Validate all articles, then bring the index at `index_path` up to date.

    With a `reranker`, its passage vectors are stored too (only for changed passages),
    so re-ranking at query time embeds just the question.
    """
    started = time.perf_counter()
    articles = load_articles(articles_dir)  # raises before anything is written
    passages = [p for a in articles for p in passages_of(a)]
    wanted = {p.id: p for p in passages}

    index_path.parent.mkdir(parents=True, exist_ok=True)
    work = index_path.with_name(index_path.name + ".building")
    work.unlink(missing_ok=True)
    if index_path.exists():
        shutil.copyfile(index_path, work)
    conn = connect(work)
    try:
        meta = _meta(conn)
        fresh = (meta.get("embedder") != embedder_name
                 or meta.get("schema") != str(SCHEMA_VERSION))
        if fresh:
            conn.close()
            work.unlink()
            conn = connect(work)
            _meta(conn)
        conn.execute("BEGIN")
        store = SqliteVecStore(conn, BundledEmbeddings(embedder), embedder.dim, table="passages")
        have = {i: json.loads(m).get("digest") for i, m in
                conn.execute("SELECT id, metadata FROM passages").fetchall()}
        stale = [i for i in have if i not in wanted or have[i] != wanted[i].digest]
        todo = [p for p in passages if have.get(p.id) != p.digest]
        store.delete(stale)
        batch = 32
        for start in range(0, len(todo), batch):
            chunk = todo[start:start + batch]
            vectors = embedder.embed([p.embed_text for p in chunk])
            store.add_texts([p.text for p in chunk],
                            [{**p.metadata(), "digest": p.digest} for p in chunk],
                            ids=[p.id for p in chunk], vectors=vectors.tolist())
            if progress is not None:
                progress(min(start + batch, len(todo)), len(todo))
        reranked = _update_rerank_vectors(conn, passages, reranker) if reranker is not None else 0
        conn.execute("DROP TABLE IF EXISTS articles")
        conn.execute("CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT, digest TEXT, words INT, "
                     "grade REAL, passages INT, conditions TEXT, sources TEXT, last_reviewed TEXT)")
        counts: dict[str, int] = {}
        for p in passages:
            counts[p.article_id] = counts.get(p.article_id, 0) + 1
        conn.executemany("INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         [_article_row(a, counts.get(a.id, 0)) for a in articles])
        _set_meta(conn, schema=SCHEMA_VERSION, embedder=embedder_name, dim=embedder.dim,
                  built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                  articles_dir=articles_dir.name)
        conn.execute("COMMIT")
    except BaseException:
        conn.close()
        work.unlink(missing_ok=True)
        raise
    conn.close()
    os.replace(work, index_path)
    return BuildReport(len(articles), len(passages), len(todo), len(stale),
                       time.perf_counter() - started, index_path, reranked)


def _update_rerank_vectors(conn: Any, passages: list[Passage], reranker: Embedder) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS rerank_vectors "
                 "(id TEXT PRIMARY KEY, digest TEXT NOT NULL, vector BLOB NOT NULL)")
    have = dict(conn.execute("SELECT id, digest FROM rerank_vectors").fetchall())
    wanted = {p.id for p in passages}
    conn.executemany("DELETE FROM rerank_vectors WHERE id = ?", [(i,) for i in have if i not in wanted])
    todo = [p for p in passages if have.get(p.id) != p.digest]
    for start in range(0, len(todo), 32):
        chunk = todo[start:start + 32]
        vectors = reranker.embed([p.embed_text for p in chunk])
        conn.executemany("INSERT OR REPLACE INTO rerank_vectors VALUES (?, ?, ?)",
                         [(p.id, p.digest, v.astype(np.float32).tobytes())
                          for p, v in zip(chunk, vectors, strict=True)])
    return len(todo)


@dataclass
class OpenIndex:
    """A read-only view of a built index: its vector store and every passage.

    Retrieval uses `store` only through langchain's vector-store API (scored search by
    vector), so a deployment with many patients can hand it `langchain_postgres.PGVector`
    over the same passages.
    """

    conn: Any
    store: ScoredVectorStore
    passages: list[Passage]
    embedder_name: str
    path: Path

    def rerank_vectors(self) -> dict[str, NDArray[np.float32]]:
        """Passage vectors of the re-ranking model, if the index was built with one."""
        try:
            rows = self.conn.execute("SELECT id, vector FROM rerank_vectors").fetchall()
        except Exception:
            return {}
        return {i: np.frombuffer(v, dtype=np.float32) for i, v in rows}

    def stats(self) -> IndexStats:
        meta = _meta(self.conn)
        rows = self.conn.execute("SELECT id, title, words, grade, passages, conditions, sources, "
                                 "last_reviewed FROM articles ORDER BY id").fetchall()
        articles = [ArticleStats(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]), r[7])
                    for r in rows]
        return IndexStats(self.path, meta.get("embedder", "?"), meta.get("built_at", "?"),
                          articles, len(self.passages))

    def close(self) -> None:
        self.conn.close()


def open_index(index_path: Path, embedder: Embedder, embedder_name: str) -> OpenIndex:
    if not index_path.is_file():
        raise KnowledgeIndexError(f"no knowledge index at {index_path}; run `coach kb build`")
    try:
        conn = connect(index_path)
        meta = _meta(conn)
    except Exception as exc:
        raise KnowledgeIndexError(f"the knowledge index at {index_path} is unreadable ({exc}); "
                          "run `coach kb build --rebuild`") from None
    if meta.get("schema") != str(SCHEMA_VERSION) or meta.get("embedder") != embedder_name:
        conn.close()
        raise KnowledgeIndexError(f"the knowledge index at {index_path} was built with another embedder or "
                          "version; run `coach kb build`")
    store = SqliteVecStore(conn, BundledEmbeddings(embedder), embedder.dim, table="passages")
    passages = [Passage.from_metadata(doc.id or "", doc.page_content, doc.metadata)
                for doc in store.all_documents()]
    return OpenIndex(conn, store, passages, embedder_name, index_path)


def articles_changed(index_path: Path, articles_dir: Path = ARTICLES_DIR) -> bool:
    """Cheap check (digests only) whether a build would change anything."""
    if not index_path.is_file():
        return True
    try:
        conn = connect(index_path)
        try:
            have = dict(conn.execute("SELECT id, digest FROM articles").fetchall())
        finally:
            conn.close()
    except Exception:
        return True
    try:
        current = {a.id: a.digest for a in load_articles(articles_dir)}
    except Exception:
        return False  # broken articles: keep serving the old index; `kb build` reports why
    return bool(have != current)


def has_rerank_vectors(index_path: Path) -> bool:
    if not index_path.is_file():
        return False
    try:
        conn = connect(index_path)
        try:
            stored = conn.execute("SELECT count(*) FROM rerank_vectors").fetchone()[0]
            total = conn.execute("SELECT count(*) FROM passages").fetchone()[0]
        finally:
            conn.close()
    except Exception:
        return False
    return bool(stored == total > 0)
