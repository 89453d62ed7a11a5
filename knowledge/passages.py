"""Articles cut into passages at their `##` headings, the unit the coach retrieves and cites.

A passage carries its article's title and section name, so it still makes sense
when quoted alone, and a digest, so an unchanged passage is never embedded twice.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from langchain_core.documents import Document
from langchain_text_splitters import MarkdownHeaderTextSplitter

from knowledge.article import Article

INTRO = "Overview"


@dataclass(frozen=True)
class Passage:
    id: str
    article_id: str
    title: str
    section: str
    text: str
    conditions: tuple[str, ...]
    topics: tuple[str, ...]
    audience: str

    @property
    def heading(self) -> str:
        return f"{self.title}: {self.section}" if self.section != INTRO else self.title

    @property
    def embed_text(self) -> str:
        """What the dense index sees: the heading gives the passage its subject."""
        return f"{self.heading}\n{self.text}"

    @property
    def lexical_text(self) -> str:
        """What BM25 sees: the article's topic words are the patient's words for it."""
        return f"{self.embed_text}\n{' '.join(self.topics)}"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.lexical_text.encode()).hexdigest()[:32]

    def to_document(self) -> Document:
        return Document(page_content=self.text, id=self.id, metadata=self.metadata())

    def metadata(self) -> dict[str, object]:
        return {"article_id": self.article_id, "title": self.title, "section": self.section,
                "conditions": list(self.conditions), "topics": list(self.topics),
                "audience": self.audience}

    @classmethod
    def from_metadata(cls, passage_id: str, text: str, meta: dict[str, object]) -> Passage:
        def strings(key: str) -> tuple[str, ...]:
            value = meta.get(key) or []
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        return cls(passage_id, str(meta["article_id"]), str(meta["title"]), str(meta["section"]),
                   text, strings("conditions"), strings("topics"), str(meta.get("audience", "")))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


_SPLITTER = MarkdownHeaderTextSplitter([("##", "section")], strip_headers=True)


def passages_of(article: Article) -> list[Passage]:
    passages: list[Passage] = []
    used: set[str] = set()
    for doc in _SPLITTER.split_text(article.body):
        text = doc.page_content.strip()
        if not text:
            continue
        section = str(doc.metadata.get("section", INTRO)).strip() or INTRO
        slug = _slug(section)
        n = 2
        while slug in used:  # two sections with one name still get distinct ids
            slug = f"{_slug(section)}-{n}"
            n += 1
        used.add(slug)
        passages.append(Passage(f"{article.id}#{slug}", article.id, article.title, section, text,
                                article.conditions, article.topics, article.audience))
    return passages
