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


@dataclass(frozen=True)
class Unit:
    """The smallest piece of a passage that can answer a question on its own: a sentence, or
    one list item together with the sentence that introduces its list ("Common high-sodium
    foods:" then "- Chips, crisps, and salted nuts"). An item alone is often a fragment that
    means nothing without its lead-in, and a lead-in alone answers nothing."""

    text: str
    lead_in: str = ""
    group: int = -1
    """Which list of the passage the item belongs to (-1: a sentence, not an item)."""

    @property
    def in_context(self) -> str:
        """What is compared with a question: the item with its lead-in."""
        return f"{self.lead_in} {self.text}".strip()


_ITEM = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+")


_CLAUSE = re.compile(r"\b(?:is|are|has|have|can|may|should|uses?|gives?|means?|try|keep|watch|"
                     r"aim|do|does)\b", re.IGNORECASE)
_ANNOUNCES = re.compile(
    r"\b(?:these|the\s+following|follows?|steps|tips|ways|as\s+well\s+as|include|includes|"
    r"including)\b|^(?:if|for|here|when|while)\b|\b(?:if|when|you|have|has|had|for|to|with|of|in|"
    r"is|are|about|on|cause|causes|like|say|feel|need|notice|name|do|not|try|this|help|can|may|"
    r"should|more|less|ideas)\s*:$", re.IGNORECASE)
"""A lead-in that only announces or begins its list; it says nothing on its own."""


def units_of(text: str) -> list[Unit]:
    """A passage's sentences and list items, in their order."""
    units: list[Unit] = []
    lead_in, group = "", -1
    for line in (raw.strip() for raw in text.splitlines()):
        if not line:
            continue
        if _ITEM.match(line):
            if group < 0 or not units or units[-1].group != group:
                group = max((u.group for u in units), default=-1) + 1
            units.append(Unit(_ITEM.sub("", line, count=1).strip(), lead_in, group))
            continue
        group, lead_in = -1, ""
        parts = [part.strip() for part in _SENTENCE_END.split(line) if part.strip()]
        for part in parts:
            if part.endswith(":") and part is parts[-1]:
                lead_in = part
                if _CLAUSE.search(part) and not _ANNOUNCES.search(part):
                    # "Try this for 3 to 5 minutes a day:" answers "how long?" by itself.
                    units.append(Unit(part[:-1].rstrip() + "."))
            else:
                units.append(Unit(part))
    return units


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
