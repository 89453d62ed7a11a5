"""A knowledge article as read from disk, checked before anything may quote it.

The coach cites these articles to patients, so a broken one must stop the build with
the file and the problem named, rather than be half-indexed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

CONDITIONS = frozenset({
    "hypertension", "type-2-diabetes", "heart-failure", "copd", "stroke", "surgery",
    "chronic-pain", "arthritis", "depression", "anxiety", "serious-illness", "caregiver",
    "smoking", "overweight",
})
AUDIENCES = frozenset({"adults", "older-adults", "caregivers", "serious-illness"})
REQUIRED = ("id", "title", "topics", "conditions", "audience", "last_reviewed", "sources")
MIN_WORDS, MAX_WORDS = 80, 900
"""Loose bounds for the build; the style guide asks for 150-450 words."""
MAX_FILE_BYTES = 64_000
HELP_HEADING = "When to get help"

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n(.*)\Z", re.S)


class ArticleError(Exception):
    """One article is broken; the message names the file and what to fix."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path.name}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class Source:
    title: str
    publisher: str
    url: str = ""

    def cite(self) -> str:
        return f"{self.title} ({self.publisher})"


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    topics: tuple[str, ...]
    conditions: tuple[str, ...]
    audience: str
    last_reviewed: dt.date
    sources: tuple[Source, ...]
    body: str
    path: Path
    digest: str

    @property
    def words(self) -> int:
        return len(self.body.split())


def _strings(path: Path, meta: dict[str, object], key: str) -> tuple[str, ...]:
    value = meta[key]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ArticleError(path, f"`{key}` must be a list of words")
    return tuple(v.strip() for v in value)


def _sources(path: Path, value: object) -> tuple[Source, ...]:
    if not isinstance(value, list) or not value:
        raise ArticleError(path, "missing sources: name at least one public guideline")
    sources = []
    for i, item in enumerate(value, 1):
        if not isinstance(item, dict):
            raise ArticleError(path, f"source {i} must have `title` and `publisher`")
        title, publisher, url = item.get("title"), item.get("publisher"), item.get("url", "")
        if not isinstance(title, str) or not title.strip():
            raise ArticleError(path, f"source {i} has no title")
        if not isinstance(publisher, str) or not publisher.strip():
            raise ArticleError(path, f"source {i} has no publisher")
        if url and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
            raise ArticleError(path, f"source {i} has a url that is not a web address")
        sources.append(Source(title.strip(), publisher.strip(), str(url or "")))
    return tuple(sources)


def parse_article(path: Path) -> Article:
    """Read and validate one article file."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ArticleError(path, f"file is over {MAX_FILE_BYTES // 1000} kB; split it into articles")
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ArticleError(path, "not UTF-8 text") from None
    except OSError as exc:
        raise ArticleError(path, f"cannot read: {exc.strerror}") from None
    text = text.replace("\r\n", "\n")
    match = _FRONT.match(text)
    if match is None:
        raise ArticleError(path, "no front matter: the file must start with a `---` block")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise ArticleError(path, f"bad front matter{where}: not valid YAML") from None
    if not isinstance(meta, dict):
        raise ArticleError(path, "bad front matter: expected `key: value` lines")
    missing = [k for k in REQUIRED if k not in meta]
    if missing:
        raise ArticleError(path, f"front matter lacks {', '.join(missing)}")

    article_id = meta["id"]
    if not isinstance(article_id, str) or not _ID.match(article_id):
        raise ArticleError(path, "`id` must be lowercase words joined by hyphens")
    if path.stem != article_id:
        raise ArticleError(path, f"`id` is {article_id!r} but the file is named {path.name}")
    title = meta["title"]
    if not isinstance(title, str) or not title.strip():
        raise ArticleError(path, "`title` is empty")
    topics = _strings(path, meta, "topics")
    if not topics:
        raise ArticleError(path, "`topics` is empty")
    conditions = _strings(path, meta, "conditions") if meta["conditions"] else ()
    unknown = sorted(set(conditions) - CONDITIONS)
    if unknown:
        raise ArticleError(path, f"unknown condition {', '.join(unknown)}; "
                                 f"use one of {', '.join(sorted(CONDITIONS))}")
    audience = meta["audience"]
    if audience not in AUDIENCES:
        raise ArticleError(path, f"`audience` must be one of {', '.join(sorted(AUDIENCES))}")
    reviewed = meta["last_reviewed"]
    if isinstance(reviewed, str):
        try:
            reviewed = dt.date.fromisoformat(reviewed)
        except ValueError:
            reviewed = None
    if not isinstance(reviewed, dt.date):
        raise ArticleError(path, "`last_reviewed` must be a date like 2026-11-22")
    sources = _sources(path, meta["sources"])

    body = match.group(2).strip()
    if not body:
        raise ArticleError(path, "empty body")
    words = len(body.split())
    if words < MIN_WORDS:
        raise ArticleError(path, f"body has {words} words; an article needs at least {MIN_WORDS}")
    if words > MAX_WORDS:
        raise ArticleError(path, f"body has {words} words; split it (at most {MAX_WORDS})")
    headings = re.findall(r"^##\s+(.+?)\s*$", body, re.M)
    if not headings:
        raise ArticleError(path, "no `##` sections")
    if headings[-1].strip().lower() != HELP_HEADING.lower():
        raise ArticleError(path, f"the last section must be `## {HELP_HEADING}`")
    return Article(article_id, title.strip(), topics, conditions, audience, reviewed, sources,
                   body, path, hashlib.sha256(raw).hexdigest())


def load_articles(folder: Path) -> list[Article]:
    """Every article in `folder`, or an ArticleError listing every broken file."""
    if not folder.is_dir():
        raise FileNotFoundError(f"no article folder at {folder}")
    articles: list[Article] = []
    problems: list[ArticleError] = []
    seen: dict[str, Path] = {}
    for path in sorted(folder.rglob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        try:
            article = parse_article(path)
        except ArticleError as exc:
            problems.append(exc)
            continue
        if article.id in seen:
            problems.append(ArticleError(path, f"duplicate id {article.id!r} (also {seen[article.id].name})"))
            continue
        seen[article.id] = path
        articles.append(article)
    if problems:
        raise ArticleSetError(problems)
    if not articles:
        raise FileNotFoundError(f"no articles (*.md) in {folder}")
    return articles


class ArticleSetError(Exception):
    """Several articles may be broken at once; an author wants to see them all."""

    def __init__(self, problems: list[ArticleError]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{len(problems)} broken article(s):\n{lines}")
