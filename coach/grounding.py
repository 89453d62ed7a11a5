"""Grounding the coach in reviewed articles: what goes into the prompt, and what comes out.

In: passages are retrieved only when the patient asks for something (motivational
interviewing asks before it advises, and a small model handed passages tends to
lecture). The best ones, cut to their sentences closest to the question, go in a
system message just before the patient's words, numbered [1], [2], ... (not in the
system prompt, whose KV cache is reused every turn).

Out: every sentence the model writes is checked against those passages.
- A sentence citing [n] must be supported by passage n: close in meaning to one of
  its sentences and using no figure (150 minutes, 2,300 mg) the passage lacks. If
  another retrieved passage supports it, the citation is corrected; otherwise the
  sentence is dropped. A 1.5B model cites loosely, so this matters.
- An uncited sentence that a passage clearly supports gets that citation added.
- An uncited sentence that gives advice or figures no passage supports is dropped:
  the coach does not improvise health facts. Reflections, questions and
  encouragement need no source and pass.

When the patient asks for health information and nothing retrieved is relevant,
the coach says it has no reviewed information instead of asking the model at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from coach.config import Settings
from coach.provision import require
from coach.sentences import list_item_sentence, plain, speakable
from knowledge.embeddings import Embedder
from knowledge.index import (
    BuildReport,
    KnowledgeIndexError,
    articles_changed,
    build_index,
    has_rerank_vectors,
    open_index,
)
from knowledge.passages import Passage, Unit, units_of
from knowledge.retriever import HybridRetriever, SearchResult, tokens

LEAD_SIMILARITY = 0.5
"""How close (cosine, plus the figure bonus) a passage sentence must be to the question to
be said first; chosen on the coaching bench's dev split."""
LEAD_FIGURE_BONUS = 0.1
LEAD_SECOND_SIMILARITY = 0.4
"""A second sentence of the same passage is said after the first when it is this close."""
LEAD_ITEM_MARGIN = 0.05
LEAD_ITEMS = 3
"""Items of one list said together: those within the margin of the best, three at most."""
LEAD_WORDS = (5, 35)
_QUANTITY = re.compile(
    r"\b(?:how\s+(?:many|much|long|often|fast|far|high|low)|what\s+(?:number|level|reading|"
    r"amount|percent|percentage)|what'?s\s+(?:a\s+)?(?:good|normal|healthy|safe|the\s+most|the\s+limit)|"
    r"most\s+\w+\s+(?:a|per)\s+(?:day|week)|limit|target|aim\s+for)\b", re.IGNORECASE)
"""A question whose answer is a figure: there, a sentence with one is preferred."""
_UNIT_WORD = re.compile(r"%|\b(?:percent|per\s+cent|hours?|minutes?|steps|pounds?|lbs?|kg|kilos?|"
                        r"drinks?|units?|teaspoons?|grams?|mg|cups?|portions?|servings?|glasses|"
                        r"inches|calories)\b", re.IGNORECASE)
_SAME_UNIT = {"%": "percent", "per cent": "percent", "lb": "pound", "kilo": "kg"}


def _one_sentence(text: str) -> bool:
    return len(re.findall(r"[.!?](?:\s|$)", text.rstrip(" .!?") + ".")) <= 1 and '"' not in text


def _units_named(text: str) -> set[str]:
    """The units a text names, one spelling each ("%" and "per cent" are "percent")."""
    named = {" ".join(u.lower().split()).rstrip("s") for u in _UNIT_WORD.findall(text)}
    return {_SAME_UNIT.get(u, u) for u in named}


_VAGUE = frozenset(tokens("actually really meant supposed normal good sensible roughly much many "
                          "thing things bit lot need want know tell make makes making any all "
                          "down go going take come say way stuff"))
"""Words that say nothing about what was asked ("do the patches make any difference" is not
about "making a quit plan")."""
PROMPT_PASSAGES = 3
"""Three passages (~250 words) fit the small model's attention; more dilutes it."""
EXCERPT_WORDS = 40
"""Words of each passage shown to the model: its most relevant sentences."""
SUPPORT_SIMILARITY = 0.55
"""Cosine between a reply sentence and a passage sentence that counts as support."""
ATTACH_SIMILARITY = 0.7
"""Stricter bar for adding a citation the model left out."""
SUPPORT_OVERLAP = 0.6
"""Share of a sentence's content words found in the passage that also counts as support."""

NO_INFO_REPLY_ID = "no-reviewed-info-v1"
NO_INFO_REPLY = (
    "I don't have reviewed information about that, so I'd rather not guess. "
    "Your care team or pharmacist is the best place to ask. "
    "Is there something else about your everyday health I can help with?"
)

_CITE = re.compile(r"\s*\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")
_FIGURE = re.compile(r"\d[\d,.]*")
_ADVICE = re.compile(
    r"\b(aim for|you should|it'?s (?:best|important|recommended) to|make sure|experts? "
    r"(?:say|recommend)|guidelines?|studies show|research shows|doctors? recommend|"
    r"recommended|at least|no more than|less than|up to|you\s+(?:need|have|ought)\s+to|you\s+must)\b",
    re.I)
_SUGGESTION = re.compile(
    r"\b(?:you\s+(?:could|might|may)(?!\s+(?:tell|share|let\s+me|say|find\s+it|feel|notice|be\s+"
    r"(?:right|feeling|wondering)))|you\s+(?:may|might)\s+want\s+to|you\s+can\s+(?:always\s+|also\s+|"
    r"just\s+|still\s+|even\s+)?(?!(?:tell|share|let|say|ask|talk|be|feel|see|hear|read|come|"
    r"do\s+(?:it|this|that))\b)[a-z]+|try(?:ing)?\s+(?:to\s+)?(?!again\b)\w+|"
    r"it\s+(?:might|may|can|could|would)\s+(?:also\s+)?(?:be\s+)?(?:help|helpful|worth|a\s+good\s+idea)|"
    r"consider(?:ing)?|i\s+(?:would\s+|'d\s+)?(?:suggest|recommend)|(?:it's|it\s+is)\s+(?:a\s+good\s+"
    r"idea|helpful|worth)|remember\s+to|don'?t\s+forget\s+to|be\s+sure\s+to|how\s+about|why\s+not)\b"
    r"|^\s*(?:take|try|avoid|eat|drink|keep|start|use|walk|add|cut|limit|wear|put|stretch|rest|"
    r"swap|choose|set|check|warm|apply|soak|sip|drop|skip|stop|switch|reduce|increase)\b"
    r"(?!\s+(?:is|was|are|can|helps?|it\s+up|going|at\s+it|up\s+the|your\s+time|care|again)\b)",
    re.I)
"""Suggestions in everyday words ("it might be helpful to take a warm bath", "you can try hot
packs") and imperatives. Only statements: an offer ("Would you like to try ...?") asks first."""
_QUESTION = re.compile(
    r"\?\s*$|^\s*(?:what|how|why|when|which|where|who|should|can|could|is|are|does|do|will|"
    r"would|tell me|explain|any tips|give me)\b", re.I)

CONDITION_WORDS = {
    "hypertension": ("hypertension", "high blood pressure", "blood pressure", "bp"),
    "type-2-diabetes": ("diabetes", "diabetic", "t2d", "type 2", "prediabetes", "blood sugar"),
    "heart-failure": ("heart failure", "chf", "hf"),
    "copd": ("copd", "emphysema", "chronic bronchitis", "lung disease"),
    "stroke": ("stroke", "tia"),
    "surgery": ("surgery", "operation", "post-op", "replacement"),
    "chronic-pain": ("pain", "back pain", "fibromyalgia"),
    "arthritis": ("arthritis", "osteoarthritis", "joint"),
    "depression": ("depression", "low mood", "depressed"),
    "anxiety": ("anxiety", "panic", "anxious"),
    "serious-illness": ("cancer", "palliative", "terminal", "hospice", "serious illness"),
    "caregiver": ("carer", "caregiver", "caring for"),
    "smoking": ("smoker", "smoking", "tobacco"),
    "overweight": ("overweight", "obesity", "obese", "weight"),
}


def condition_tags(conditions: Sequence[str]) -> tuple[str, ...]:
    """A patient's conditions as written by a clinician, mapped to article condition tags."""
    tags: list[str] = []
    for raw in conditions:
        text = raw.lower()
        for tag, words in CONDITION_WORDS.items():
            if tag not in tags and any(re.search(rf"\b{re.escape(w)}\b", text) for w in words):
                tags.append(tag)
    return tuple(tags)


_REQUEST = re.compile(
    r"^\s*(?:remind\s+me|tell\s+me|explain|any\s+(?:tips|tricks|ideas|advice|suggestions|pointers)|"
    r"give\s+me|i\s+(?:wonder|was\s+wondering)|i'?d\s+like\s+to\s+know)\b", re.I)


def _questions(text: str) -> list[str]:
    """The sentences of a message that ask something: a spoken turn often asks in its middle
    ("The box breathing one, how long am I holding for? I keep losing count.")."""
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+", text) if p.strip()]
    return [p for p in parts if _QUESTION.search(p) or _REQUEST.search(p)]


def asks_for_information(text: str) -> bool:
    """A question with some substance, as opposed to "how are you?" or "thanks"."""
    return bool(_questions(text)) and len(tokens(text)) >= 2


_INTERROGATIVE = re.compile(
    r"\b(?:what|how|why|when|which|where|who)\b|^\s*(?:should|can|could|is|are|does|do|will|would|"
    r"have|has|did|am)\b", re.I)


def only_proposes(text: str) -> bool:
    """The message asks nothing but whether its own idea will do ("I haven't started yet.
    Maybe ten minutes round the block to begin with?"). Such a turn wants a coach's reply even
    when no reviewed passage speaks to it, not "I don't have reviewed information"."""
    asked = _questions(text)
    return bool(asked) and not any(_INTERROGATIVE.search(q) or _REQUEST.search(q) for q in asked)


def _excerpt(parts: Sequence[str], scores: np.ndarray) -> str:
    """The passage's opening sentence (what the rest hangs on) plus its sentences closest
    to the question, in their own order."""
    if not parts:
        return ""
    chosen: set[int] = {0}
    words = len(parts[0].split())
    for i in np.argsort(-scores):
        if int(i) in chosen:
            continue
        if words and words + len(parts[i].split()) > EXCERPT_WORDS:
            continue
        chosen.add(int(i))
        words += len(parts[i].split())
    return " ".join(" ".join(parts[i].lstrip("-* ").split()) for i in sorted(chosen))


def strip_citations(sentence: str) -> str:
    return " ".join(_CITE.sub("", sentence).split())


def cited_numbers(sentence: str) -> list[int]:
    return [int(n) for group in _CITE.findall(sentence) for n in group.split(",")]


def figures(text: str) -> set[str]:
    return {f.rstrip(".,").replace(",", "") for f in _FIGURE.findall(text)}


@dataclass
class Grounding:
    """The passages put before the model for one turn, numbered from 1."""

    result: SearchResult | None
    passages: list[Passage] = field(default_factory=list)
    known_figures: set[str] = field(default_factory=set)
    """Figures the patient or their record already gave (their goal, their steps): echoing
    them back is a reflection, not a health fact that needs a source."""
    _sentences: list[list[str]] = field(default_factory=list)
    _vectors: list[np.ndarray] = field(default_factory=list)
    excerpts: list[str] = field(default_factory=list)
    """What the model is shown of each passage: the sentences closest to the question."""
    query: np.ndarray | None = None
    """The question's embedding, when the passages were cut to it."""
    _units: list[list[Unit]] = field(default_factory=list)
    _unit_vectors: list[np.ndarray] = field(default_factory=list)
    """Each passage's sentences and list items (an item read with its lead-in), embedded:
    what a reviewed answer is built from."""

    def prompt_message(self) -> str:
        """A system message placed just before the patient's words: passages for this turn only."""
        lines = ["Reviewed information for your next reply:"]
        for n, p in enumerate(self.passages, 1):
            text = self.excerpts[n - 1] if n <= len(self.excerpts) else " ".join(p.text.split())
            lines.append(f"[{n}] {text}")  # no heading: the small model reads it out
        return "\n".join(lines)

    def sources(self) -> list[dict[str, object]]:
        return [{"n": n, "passage": p.id, "article": p.article_id, "title": p.title,
                 "section": p.section} for n, p in enumerate(self.passages, 1)]


@dataclass(frozen=True)
class Lead:
    """The reviewed answer said first: one or two passage sentences, each with its citation."""

    sentences: tuple[str, ...]
    passage: int
    score: float

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


@dataclass
class CitationVerdict:
    keep: bool
    sentence: str
    cited: list[int]
    reason: str = ""


class Knowledge:
    """The knowledge base as the coach uses it: search, ground a turn, check a sentence."""

    def __init__(self, retriever: HybridRetriever, embedder: Embedder) -> None:
        self.retriever = retriever
        self.embedder = embedder

    def ground(self, message: str, conditions: Sequence[str] = ()) -> Grounding:
        result = self.retriever.search(message, k=PROMPT_PASSAGES, conditions=condition_tags(conditions))
        if not result.relevant:
            return Grounding(result)
        return self.with_passages([h.passage for h in result.hits], result, message)

    def with_passages(self, passages: Sequence[Passage], result: SearchResult | None = None,
                      question: str | None = None) -> Grounding:
        """A grounding over given passages, with their sentences embedded for the check.

        With a `question`, each passage is cut to the sentences closest to it (in their
        own order, up to EXCERPT_WORDS): every prompt token costs the patient waiting
        time (about 15 ms each for the 1.5B model on two cores).
        """
        grounding = Grounding(result, list(passages))
        query = None
        if question is not None:
            # The retriever embedded the question already; reuse its vector when it did.
            query = (result.query_vector if result is not None and result.query_vector is not None
                     else self.embedder.embed([question])[0])
        split = [[s.strip() for s in re.split(r"(?<=[.!?:])\s+|\n+", p.text) if len(s.strip()) > 3]
                 for p in passages]
        units = [units_of(p.text) if question is not None else [] for p in passages]
        # One embedding call for both: most units are sentences already split out.
        texts = list(dict.fromkeys([part for parts in split for part in parts]
                                   + [u.in_context for mine in units for u in mine]))
        vectors = (self.embedder.embed(texts) if texts
                   else np.zeros((0, self.embedder.dim), np.float32))
        row = {text: i for i, text in enumerate(texts)}
        grounding.query = query
        for parts, mine in zip(split, units, strict=True):
            own = vectors[[row[part] for part in parts]]
            grounding._sentences.append(parts)
            grounding._vectors.append(own)
            grounding._units.append(mine)
            grounding._unit_vectors.append(vectors[[row[u.in_context] for u in mine]])
            if query is not None:
                grounding.excerpts.append(_excerpt(parts, own @ query))
        return grounding

    def lead(self, grounding: Grounding, question: str) -> Lead | None:
        """The reviewed sentences that answer `question` best, to say first and word for word.

        A 1.5B model given the right passage still dropped its figure ("a normal adult is
        supposed to get at least hours of sleep") or answered a neighbouring question; the
        passage's own sentence is reviewed text, and it can be spoken before the model has
        written a word. The answer is often a list item ("Common high-sodium foods:" then
        "- Chips, crisps, and salted nuts"), so items are candidates too, read with their
        lead-in; items of one list close to the question are said together. A second unit of
        the same passage follows when it also speaks to the question ("A slip does not mean you
        failed." then "Think about what led to the slip and plan for next time."). None when
        nothing is close enough to the question.
        """
        if grounding.query is None:
            return None
        wants_figure = bool(_QUANTITY.search(question))
        asked_units = _units_named(question)
        asked_words = set(tokens(question)) - _VAGUE
        scored: list[tuple[float, int, int]] = []
        for n, (units, vectors) in enumerate(zip(grounding._units, grounding._unit_vectors,
                                                 strict=True), 1):
            heading = set(tokens(grounding.passages[n - 1].heading))
            for k, (unit, vector) in enumerate(zip(units, vectors, strict=True)):
                if unit.group < 0 and not unit.text.endswith((".", "!")):
                    continue  # a heading-like line, not a sentence
                context = unit.in_context
                # It must be about what was asked, not only near it: a shared word (the
                # passage's heading counts: "a can of soda" is in "How much added sugar"), and
                # the unit asked for ("a percent for sodium" is not answered by "2,300 mg").
                if not asked_words & (set(tokens(context)) | heading):
                    continue
                if asked_units and not asked_units & _units_named(context):
                    continue
                score = float(vector @ grounding.query)
                if wants_figure:
                    score += LEAD_FIGURE_BONUS if figures(context) else -LEAD_FIGURE_BONUS
                scored.append((score, n, k))
        scored.sort(reverse=True)
        for score, n, k in scored:
            if score < LEAD_SIMILARITY:
                return None
            first = self._said(grounding, n, k, score, scored)
            if first is None:
                continue
            sentences, used = [first[0]], first[1]
            for other, m, j in scored:
                if other < LEAD_SECOND_SIMILARITY:
                    break
                if m != n or j in used:
                    continue
                second = self._said(grounding, m, j, other, scored, exclude=used)
                if second is None or repeats(second[0], sentences[0]) or (
                        len(" ".join([*sentences, second[0]]).split()) > LEAD_WORDS[1] + 10):
                    continue
                sentences.append(second[0])
                break
            return Lead(tuple(_with_cites(x, [n]) for x in sentences), n, score)
        return None

    @staticmethod
    def _said(grounding: Grounding, n: int, k: int, score: float,
              scored: Sequence[tuple[float, int, int]],
              exclude: set[int] | None = None) -> tuple[str, set[int]] | None:
        """Unit k of passage n as a spoken sentence (an item with the items of its list that
        are nearly as close to the question), and the units it used."""
        units = grounding._units[n - 1]
        unit = units[k]
        used = {k}
        if unit.group >= 0 and _one_sentence(unit.text):
            near = [j for other, m, j in scored  # closest first
                    if m == n and j != k and units[j].group == unit.group
                    and other >= score - LEAD_ITEM_MARGIN and j not in (exclude or set())
                    and _one_sentence(units[j].text)]
            used = {k, *near[:LEAD_ITEMS - 1]}
            sentence = list_item_sentence(unit.lead_in, [units[j].text for j in sorted(used)])
        elif unit.group >= 0:
            # An item of several sentences ("Wall push-ups: Stand facing a wall. ...") is said
            # alone: joined to others or to its lead-in it runs on past what a listener follows.
            sentence = list_item_sentence("", [unit.text])
        else:
            sentence = speakable(plain(unit.text))
        if not LEAD_WORDS[0] <= len(sentence.split()) <= LEAD_WORDS[1]:
            return None
        return sentence, used

    def _support(self, grounding: Grounding, n: int, text: str, vector: np.ndarray) -> float:
        """How well passage n supports `text`: 0 when it lacks a figure the text states."""
        passage = grounding.passages[n - 1]
        stated = figures(text)
        if stated and not stated <= figures(passage.text):
            return 0.0
        similarity = float(np.max(grounding._vectors[n - 1] @ vector))
        words = set(tokens(text))
        overlap = len(words & set(tokens(passage.text))) / len(words) if words else 0.0
        return max(similarity, SUPPORT_SIMILARITY if overlap >= SUPPORT_OVERLAP else 0.0)

    def check(self, sentence: str, grounding: Grounding) -> CitationVerdict:
        bare = strip_citations(sentence)
        cited = cited_numbers(sentence)
        if not grounding.passages:
            if cited:
                return CitationVerdict(True, bare, [], "citation with no passages removed")
            return self._uncited(bare, grounding)
        vector = self.embedder.embed([bare])[0]
        scores = {n: self._support(grounding, n, bare, vector)
                  for n in range(1, len(grounding.passages) + 1)}
        if cited:
            valid = [n for n in cited if n in scores and scores[n] >= SUPPORT_SIMILARITY]
            if valid:
                return CitationVerdict(True, f"{_with_cites(bare, valid)}", valid)
            best = max(scores, key=lambda n: scores[n])
            if scores[best] >= SUPPORT_SIMILARITY:
                return CitationVerdict(True, _with_cites(bare, [best]), [best],
                                       f"citation corrected from {cited} to [{best}]")
            return CitationVerdict(False, bare, cited, f"cited {cited} but no passage supports it")
        best = max(scores, key=lambda n: scores[n])
        if scores[best] >= ATTACH_SIMILARITY:
            return CitationVerdict(True, _with_cites(bare, [best]), [best], "citation added")
        return self._uncited(bare, grounding)

    @staticmethod
    def _uncited(bare: str, grounding: Grounding) -> CitationVerdict:
        new_figures = figures(bare) - grounding.known_figures
        suggests = bool(_SUGGESTION.search(bare)) and not bare.rstrip().endswith("?")
        if _ADVICE.search(bare) or suggests or (new_figures and _mentions_unit(bare)):
            return CitationVerdict(False, bare, [], "advice or figures with no reviewed source")
        return CitationVerdict(True, bare, [])


_UNIT = re.compile(r"\b\d[\d,.]*[\s-]*(?:%|percent|minutes?|mins?|hours?|mg|g|grams?|ml|cups?|glasses|"
                   r"steps|days?|times|servings?|portions?|pounds?|lbs?|kg|mmhg|mg/dl|mmol|calories|"
                   r"kcal|drinks?|units?)\b", re.I)


def repeats(sentence: str, said: str) -> bool:
    """Whether `sentence` mostly restates `said` (the model echoing the reviewed answer)."""
    words = set(tokens(strip_citations(sentence)))
    return bool(words) and len(words & set(tokens(strip_citations(said)))) / len(words) >= 0.6


def _mentions_unit(text: str) -> bool:
    return bool(_UNIT.search(text))


def _with_cites(bare: str, numbers: Sequence[int]) -> str:
    marks = "".join(f"[{n}]" for n in numbers)
    if bare and bare[-1] in ".!?":
        return f"{bare[:-1]} {marks}{bare[-1]}"
    return f"{bare} {marks}"


def _reranker(settings: Settings) -> Embedder | None:
    return Embedder(require(settings.models_dir, settings.kb_reranker)) if settings.kb_reranker else None


def build_knowledge(settings: Settings, progress: Callable[[int, int], None] | None = None) -> BuildReport:
    """Check the articles and bring the index up to date (raises ArticleSetError, index untouched)."""
    embedder = Embedder(require(settings.models_dir, settings.kb_embedder))
    return build_index(settings.kb_index_path, embedder, settings.kb_embedder, settings.articles_dir,
                       progress, reranker=_reranker(settings))


def open_knowledge(settings: Settings) -> Knowledge:
    """The knowledge base, rebuilt first if the articles (or the re-ranker setting) changed.

    Broken articles never get this far: `articles_changed` says no change when they do
    not load, so the previous index keeps serving until `coach kb build` names the problem.
    """
    path = settings.kb_index_path
    if articles_changed(path, settings.articles_dir) or (
            bool(settings.kb_reranker) and not has_rerank_vectors(path)):
        build_knowledge(settings)
    embedder = Embedder(require(settings.models_dir, settings.kb_embedder))
    index = open_index(path, embedder, settings.kb_embedder)
    return Knowledge(HybridRetriever(index=index, reranker=_reranker(settings)), embedder)


__all__ = ["NO_INFO_REPLY", "NO_INFO_REPLY_ID", "Grounding", "Knowledge", "KnowledgeIndexError",
           "asks_for_information", "build_knowledge", "condition_tags", "only_proposes", "open_knowledge",
           "strip_citations"]
