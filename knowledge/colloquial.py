"""Everyday words for health topics, mapped to the words our articles use.

Patients say "fags", "water tablets", "can't drop off" and "puffed out on the stairs"; the
articles say cigarettes, diuretics, falling asleep and short of breath. Neither BM25 nor a
small embedder bridges all of that, and a question that finds nothing gets "I don't have
reviewed information". A question holding such a phrase is searched with the article words
added. The lexicon (`colloquial.tsv`: phrase, tab, article words) was written apart from
every evaluation set; a phrase is listed only where it nearly always means the same thing
in a health conversation.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

LEXICON = Path(__file__).with_name("colloquial.tsv")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'"})


class LexiconError(ValueError):
    """The lexicon file is malformed; the message names the line."""


@functools.cache
def _lexicon(path: Path = LEXICON) -> tuple[re.Pattern[str], dict[str, str]]:
    terms: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        phrase, sep, words = line.partition("\t")
        if not sep or not phrase.strip() or not words.strip():
            raise LexiconError(f"{path.name} line {n}: expected 'phrase<TAB>article words'")
        terms[_norm(phrase)] = " ".join(words.split())
    # Longest first, so "water tablets" wins over "tablets" where both are listed.
    alternatives = sorted(terms, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w'])(?P<phrase>" + "|".join(re.escape(a) for a in alternatives)
                         + r")(?:'s)?(?![\w'])")
    return pattern, terms


def _norm(text: str) -> str:
    return " ".join(text.translate(_APOSTROPHES).lower().split())


def article_words(text: str) -> str:
    """The article words for every everyday phrase in `text`, each once ("" when none)."""
    pattern, terms = _lexicon()
    found: list[str] = []
    for match in pattern.finditer(_norm(text)):
        words = terms[match.group("phrase")]
        if words not in found:
            found.append(words)
    return " ".join(found)


def expand(text: str) -> str:
    """`text` with the article words of its everyday phrases added, for searching."""
    extra = article_words(text)
    return f"{text} ({extra})" if extra else text
