"""An embedded vector store: sqlite-vec inside one SQLite file, behind langchain's interface.

Why our own class: the coach needs one file, no server, and langchain's `VectorStore`
API, so that a deployment with many patients can swap in pgvector
(`langchain_postgres.PGVector`) without touching retrieval. sqlite-vec loads into the
SQLite that ships with sqlcipher3 (the stdlib build here cannot load extensions).
The knowledge index holds only public articles, so this file is not encrypted.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import sqlcipher3
import sqlite_vec
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from knowledge.embeddings import Embedder


@runtime_checkable
class ScoredVectorStore(Protocol):
    """What retrieval needs of a langchain vector store: the query embedder and scored
    search by vector. `SqliteVecStore` and `langchain_postgres.PGVector` both provide it."""

    @property
    def embeddings(self) -> Embeddings: ...

    def similarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]: ...


class BundledEmbeddings(Embeddings):
    """The bundled sentence-transformers model as langchain `Embeddings`."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self.embedder.embed(texts)]

    def embed_query(self, text: str) -> list[float]:
        return list(map(float, self.embedder.embed([text])[0]))


def _blob(vector: Sequence[float]) -> bytes:
    return struct.pack(f"{len(vector)}f", *vector)


def connect(path: Path | str) -> Any:
    """A connection with sqlite-vec loaded; `isolation_level=None` so we own transactions."""
    conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    conn.enable_load_extension(False)
    return conn


class SqliteVecStore(VectorStore):
    """Cosine search over unit vectors with sqlite-vec's `vec0` table.

    Rows: `docs(rowid, id, text, metadata)` and `vec_docs(rowid, embedding)`.
    """

    def __init__(self, conn: Any, embedding: Embeddings, dim: int, table: str = "docs") -> None:
        self.conn = conn
        self._embedding = embedding
        self.dim = dim
        self.table = table
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (rowid INTEGER PRIMARY KEY, "
                     "id TEXT UNIQUE NOT NULL, text TEXT NOT NULL, metadata TEXT NOT NULL)")
        conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS vec_{table} USING "
                     f"vec0(embedding float[{dim}] distance_metric=cosine)")

    @property
    def embeddings(self) -> Embeddings:
        return self._embedding

    def add_texts(self, texts: Iterable[str], metadatas: list[dict[Any, Any]] | None = None,
                  *, ids: list[str] | None = None, **kwargs: Any) -> list[str]:
        texts = list(texts)
        vectors = kwargs.get("vectors") or self._embedding.embed_documents(texts)
        metadatas = metadatas or [{} for _ in texts]
        ids = ids or [str(i) for i in range(len(texts))]
        self.delete(ids)
        for doc_id, text, meta, vector in zip(ids, texts, metadatas, vectors, strict=True):
            cur = self.conn.execute(f"INSERT INTO {self.table} (id, text, metadata) VALUES (?, ?, ?)",
                                    (doc_id, text, json.dumps(meta)))
            self.conn.execute(f"INSERT INTO vec_{self.table} (rowid, embedding) VALUES (?, ?)",
                              (cur.lastrowid, _blob(vector)))
        return ids

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        for doc_id in ids or []:
            row = self.conn.execute(f"SELECT rowid FROM {self.table} WHERE id = ?", (doc_id,)).fetchone()
            if row is not None:
                self.conn.execute(f"DELETE FROM vec_{self.table} WHERE rowid = ?", (row[0],))
                self.conn.execute(f"DELETE FROM {self.table} WHERE rowid = ?", (row[0],))
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        docs = []
        for doc_id in ids:
            row = self.conn.execute(f"SELECT id, text, metadata FROM {self.table} WHERE id = ?",
                                    (doc_id,)).fetchone()
            if row is not None:
                docs.append(Document(page_content=row[1], id=row[0], metadata=json.loads(row[2])))
        return docs

    def all_documents(self) -> list[Document]:
        rows = self.conn.execute(f"SELECT id, text, metadata FROM {self.table} ORDER BY rowid").fetchall()
        return [Document(page_content=t, id=i, metadata=json.loads(m)) for i, t, m in rows]

    def similarity_search_with_score_by_vector(
        self, embedding: Sequence[float], k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Documents with cosine *similarity* (1 - sqlite-vec's cosine distance), best first."""
        rows = self.conn.execute(
            f"SELECT d.id, d.text, d.metadata, v.distance FROM vec_{self.table} v "
            f"JOIN {self.table} d ON d.rowid = v.rowid "
            "WHERE v.embedding MATCH ? AND k = ? ORDER BY v.distance",
            (_blob(embedding), k),
        ).fetchall()
        return [(Document(page_content=t, id=i, metadata=json.loads(m)), 1.0 - float(dist))
                for i, t, m, dist in rows]

    def similarity_search_with_score(self, query: str, k: int = 4,
                                     **kwargs: Any) -> list[tuple[Document, float]]:
        return self.similarity_search_with_score_by_vector(self._embedding.embed_query(query), k)

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score(query, k)]

    def _select_relevance_score_fn(self) -> Any:
        return lambda score: score

    @classmethod
    def from_texts(cls, texts: list[str], embedding: Embeddings,
                   metadatas: list[dict[Any, Any]] | None = None, *,
                   ids: list[str] | None = None, **kwargs: Any) -> SqliteVecStore:
        conn = kwargs.get("conn") or connect(kwargs.get("path", ":memory:"))
        dim = len(embedding.embed_query("dimension probe"))
        store = cls(conn, embedding, dim)
        store.add_texts(texts, metadatas, ids=ids)
        return store
