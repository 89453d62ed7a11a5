"""The legacy document: the patient's own words, tidied, grouped by theme, every paragraph traced.

Building a draft never invents: sentences come from the patient's answers through
`coach.legacy.editing` (which only removes), and each is measured against the
transcript by `coach.legacy.checker`; a sentence that does not match its source
turns, or that names a person, place or date the patient never said, is left out
and listed in the draft's check. The language model, when given, may only propose
section titles and their order; its titles pass the same name check and the
output safety check, or the protocol's own titles are used.

After the draft, the patient (or the proxy named in their consent) is the author:
their edits are kept as they wrote them, with the text before, who and when.
Approval is theirs alone, and only the approved latest version can be exported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coach.legacy.checker import DocumentCheck, check_sentence, entities, invented
from coach.legacy.consent import current_consent, require_consent
from coach.legacy.editing import clean_sentence, near_duplicate, sentences, words
from coach.legacy.interview import open_interview
from coach.legacy.protocol import PROMPTS
from coach.llm.base import GenerationOptions, LanguageModel, LLMError, Message
from coach.safety import check_output
from coach.store.legacy import LegacyAnswer, LegacyDocument, LegacyInterview, LegacyParagraph
from coach.store.schema import Patient, Turn, utcnow

MAX_SENTENCES = 5
MAX_WORDS = 120


class DocumentError(Exception):
    """The document cannot be built, changed or approved as asked; the message says what to do."""


@dataclass(frozen=True)
class SourceTurn:
    turn_id: int
    question: int
    text: str


@dataclass
class DraftParagraph:
    question: int
    sentences: list[str] = field(default_factory=list)
    turn_ids: list[int] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def source_turns(db: Session, interview: LegacyInterview) -> list[SourceTurn]:
    """The patient's answers that may go into the document, in the order said."""
    rows = db.execute(select(LegacyAnswer.question, Turn).join(Turn, LegacyAnswer.turn_id == Turn.id)
                      .where(LegacyAnswer.interview_id == interview.id,
                             LegacyAnswer.held_back.is_(False)).order_by(Turn.id)).all()
    return [SourceTurn(turn.id, question, turn.text) for question, turn in rows if turn.role == "patient"]


def held_back(db: Session, interview: LegacyInterview) -> list[int]:
    """Turn ids of answers that raised a safety flag and are left out of the draft."""
    return list(db.scalars(select(LegacyAnswer.turn_id).where(LegacyAnswer.interview_id == interview.id,
                                                              LegacyAnswer.held_back.is_(True))))


def include_turn(db: Session, patient_id: int, turn_id: int, by: str) -> None:
    """The author puts a held-back answer back into the next draft (a safety flag stays raised)."""
    interview = _readable_interview(db, patient_id)
    name = authorised(db, patient_id, by)
    answer = db.scalar(select(LegacyAnswer).where(LegacyAnswer.interview_id == interview.id,
                                                  LegacyAnswer.turn_id == turn_id))
    if answer is None or not answer.held_back:
        raise DocumentError(f"turn {turn_id} is not one of the held-back answers "
                            f"({', '.join(map(str, held_back(db, interview))) or 'there are none'})")
    answer.held_back = False
    document = latest_document(db, patient_id)
    if document is not None:
        document.history = [*document.history, {"event": "included", "turn_id": turn_id, "by": name,
                                                "at": utcnow().isoformat(timespec="seconds")}]


def draft(turns: list[SourceTurn]) -> tuple[list[DraftParagraph], DocumentCheck]:
    """Edit the answers into paragraphs by theme, checking every sentence against its turn."""
    check = DocumentCheck()
    all_text = [t.text for t in turns]
    paragraphs: list[DraftParagraph] = []
    for prompt in PROMPTS:
        kept: list[tuple[str, int]] = []
        for turn in (t for t in turns if t.question == prompt.number):
            for said in sentences(turn.text):
                written = clean_sentence(said)
                if not written or any(near_duplicate(written, k) for k, _ in kept):
                    continue
                check.sentences += 1
                verdict = check_sentence(written, {turn.turn_id: turn.text})
                names = invented(written, all_text)
                if verdict.matches and not names:
                    check.matched += 1
                    kept.append((written, turn.turn_id))
                else:
                    check.rejected.append({"sentence": written, "turn_id": turn.turn_id,
                                           "cost": verdict.cost, "invented": names})
        current: DraftParagraph | None = None
        for sentence, turn_id in kept:
            if (current is None or len(current.sentences) >= MAX_SENTENCES
                    or len(words(current.text)) + len(words(sentence)) > MAX_WORDS):
                current = DraftParagraph(prompt.number)
                paragraphs.append(current)
            current.sentences.append(sentence)
            if turn_id not in current.turn_ids:
                current.turn_ids.append(turn_id)
        theme = [p for p in paragraphs if p.question == prompt.number]
        if len(theme) > 1 and len(theme[-1].sentences) == 1:
            # a lone closing sentence reads as an afterthought: it joins the paragraph before
            theme[-2].sentences += theme[-1].sentences
            theme[-2].turn_ids += [t for t in theme[-1].turn_ids if t not in theme[-2].turn_ids]
            paragraphs.remove(theme[-1])
    check.invented = sorted({n for p in paragraphs for n in invented(p.text, all_text)})
    return paragraphs, check


# --- titles and order: the only thing a model may propose ----------------------------------

_TITLE_LINE = re.compile(r"^\s*(\d)\s*[:.)\-]\s*(.+?)\s*$")
_ORDER_LINE = re.compile(r"^\s*order\s*:\s*([\d,\s]+)$", re.IGNORECASE)


_OPENERS = frozenset({
    "my", "what", "the", "a", "our", "things", "for", "words", "hopes", "lessons", "family", "life",
    "growing", "years", "early", "how", "who", "where", "when", "and", "to", "in", "on", "love",
    "working", "being", "remembering", "looking", "wishes", "memories", "i", "those", "people",
    "home", "work", "roles", "pride", "proud", "what's", "one", "last", "always", "with",
    "up", "of", "at", "by", "from", "about", "after", "before", "is", "are", "was", "were", "me",
    "you", "your", "all", "days", "time", "times", "ahead", "still", "most", "alive", "say",
    "said", "want", "know", "remember", "taught", "learned", "learnt", "hope", "dreams", "else",
    "everything", "anything", "children", "grandchildren", "friends", "mother", "father", "wife",
    "husband", "an", "that", "this", "these", "it", "be", "have", "had", "did", "do", "future",
})
"""Words a title may open with besides the patient's own: a capitalised first word is not
otherwise told apart from a name."""


def _title_names_ok(title: str, names: set[str], said: set[str]) -> bool:
    """Every capitalised word is a name the patient said (the first word: said, or plain English)."""
    parts = [w.strip(",:;!?\"'.") for w in title.split()]
    if not parts or not parts[0]:
        return False
    first = parts[0]
    if first not in names and first.lower() not in said and first.lower() not in _OPENERS:
        return False
    return all(w in names or w in ("I", "I'm", "I've") for w in parts[1:] if w[:1].isupper())


def _sentence_case(title: str, names: set[str]) -> str:
    """'Growing Up In Leeds' -> 'Growing up in Leeds': only names the patient said keep capitals."""
    parts = title.strip(" \"'*#.").split()
    out = []
    for i, word in enumerate(parts):
        core = word.strip(",:;!?")
        keep = i == 0 or core in ("I", "I'm", "I've") or core in names
        out.append(word if keep else word.lower())
    return " ".join(out)


def propose_titles(model: LanguageModel, paragraphs: list[DraftParagraph], transcript: list[str],
                   options: GenerationOptions | None = None) -> tuple[dict[int, str], list[int]]:
    """Ask the model for section titles (and an order); keep only those that pass the checks."""
    themes = [p.number for p in PROMPTS if any(x.question == p.number for x in paragraphs)]
    if not themes:
        return {}, []
    lines = []
    for number in themes:
        text = " ".join(p.text for p in paragraphs if p.question == number)
        lines.append(f"{number}: {' '.join(text.split()[:45])}")
    messages = [
        Message("system", "You give short titles to the sections of a keepsake document written "
                "in a person's own words. For each numbered section write one line 'N: title', "
                "3 to 6 plain words, first person, no names, no dates, nothing that is not in the "
                "section. Then one line 'ORDER: ' with the section numbers in the order that reads "
                "best. Write nothing else."),
        Message("user", "\n".join(lines)),
    ]
    try:
        reply = "".join(model.stream(messages, options or GenerationOptions(max_tokens=160,
                                                                            temperature=0.2, seed=7)))
    except LLMError:
        return {}, []
    names = {n for t in transcript for n in entities(t)}
    said = {w for t in transcript for w in words(t)}
    titles: dict[int, str] = {}
    order: list[int] = []
    for line in reply.splitlines():
        order_match = _ORDER_LINE.match(line)
        if order_match:
            order = [int(x) for x in re.findall(r"\d", order_match.group(1))]
            continue
        match = _TITLE_LINE.match(line)
        if not match or int(match.group(1)) not in themes:
            continue
        raw = match.group(2).strip(" \"'*#.")
        if raw.istitle() or sum(w[:1].isupper() for w in raw.split()) > len(raw.split()) / 2:
            # Title Case is style, not names: undo it, but only for words that are not names
            # in disguise (a capitalised word neither said nor plain English is refused)
            plain = [w.strip(",:;!?\"'.") for w in raw.split()[1:]]
            if any(w[:1].isupper() and w not in names and w.lower() not in said
                   and w.lower() not in _OPENERS for w in plain):
                continue
            raw = _sentence_case(raw, names)
        if not _title_names_ok(raw, names, said):
            continue
        title = raw
        n_words = len(title.split())
        if not 1 <= n_words <= 8 or len(title) > 60 or invented(title, transcript) \
                or re.search(r"\d", title) or not check_output(title).ok:
            continue
        titles[int(match.group(1))] = title
    if sorted(order) != sorted(themes):
        order = []
    return titles, order


# --- the stored document ---------------------------------------------------------------------

def latest_document(db: Session, patient_id: int) -> LegacyDocument | None:
    return db.scalar(select(LegacyDocument).where(LegacyDocument.patient_id == patient_id)
                     .order_by(LegacyDocument.version.desc()))


def _readable_interview(db: Session, patient_id: int) -> LegacyInterview:
    require_consent(db, patient_id)
    interview = open_interview(db, patient_id)
    if interview is None:
        raise DocumentError(f"patient {patient_id} has no memory session yet; start one with "
                            f"`coach memory start --patient {patient_id}`")
    if interview.status == "locked":
        raise DocumentError(f"patient {patient_id}'s memory session is locked")
    return interview


def build_document(db: Session, patient_id: int, model: LanguageModel | None = None) -> LegacyDocument:
    """A new draft version from everything answered so far (a half-finished session is fine)."""
    interview = _readable_interview(db, patient_id)
    turns = source_turns(db, interview)
    if not turns:
        raise DocumentError("nothing has been answered yet, so there is nothing to write down; "
                            f"continue with `coach memory resume --patient {patient_id}`")
    paragraphs, check = draft(turns)
    if not paragraphs:
        raise DocumentError("the answers so far hold no sentences to keep (only short replies or "
                            f"skips); continue with `coach memory resume --patient {patient_id}`")
    titles: dict[int, str] = {}
    order: list[int] = []
    titles_by = "protocol"
    if model is not None:
        titles, order = propose_titles(model, paragraphs, [t.text for t in turns])
        if titles or order:
            titles_by = f"model:{model.name}"[:60]
    themes = order or [p.number for p in PROMPTS]
    rank = {q: i for i, q in enumerate(themes)}
    paragraphs.sort(key=lambda p: rank.get(p.question, 99))
    previous = latest_document(db, patient_id)
    version = (previous.version + 1) if previous is not None else 1
    asked = min(interview.question_index, len(PROMPTS))
    document = LegacyDocument(
        patient_id=patient_id, interview_id=interview.id, version=version, titles_by=titles_by,
        check={**check.as_json(), "questions_asked": asked, "skipped": list(interview.skipped),
               "finished": interview.status == "finished", "held_back": held_back(db, interview)},
        history=[{"event": "built", "at": utcnow().isoformat(timespec="seconds")}],
    )
    db.add(document)
    db.flush()
    for position, paragraph in enumerate(paragraphs, 1):
        title = titles.get(paragraph.question) or PROMPTS[paragraph.question - 1].theme
        db.add(LegacyParagraph(document_id=document.id, position=position, question=paragraph.question,
                               section_title=title, text=paragraph.text, original_text=paragraph.text,
                               source_turn_ids=list(paragraph.turn_ids)))
    db.flush()
    db.refresh(document)
    return document


def readable_document(db: Session, patient_id: int) -> LegacyDocument:
    _readable_interview(db, patient_id)
    document = latest_document(db, patient_id)
    if document is None:
        raise DocumentError(f"no document yet; build one with `coach memory document --patient {patient_id}`")
    return document


def authorised(db: Session, patient_id: int, by: str) -> str:
    """The patient or the proxy their consent names; anyone else is refused."""
    patient = db.get(Patient, patient_id)
    consent = current_consent(db, patient_id)
    name = " ".join(by.split())
    if patient is None or consent is None:
        raise DocumentError("there is no consent in force for this patient")
    allowed = {patient.name.lower(), patient.address_as.lower()}
    if consent.proxy_name:
        allowed.add(consent.proxy_name.lower())
    if name.lower() not in allowed:
        who = patient.name + (f" or their named proxy {consent.proxy_name}" if consent.proxy_name else "")
        raise DocumentError(f"only {who} can change or approve this document, not {by!r}")
    return name


def _paragraph(document: LegacyDocument, number: int) -> LegacyParagraph:
    for paragraph in document.paragraphs:
        if paragraph.position == number and not paragraph.removed:
            return paragraph
    shown = [p.position for p in document.paragraphs if not p.removed]
    raise DocumentError(f"there is no paragraph {number}; the paragraphs are numbered "
                        f"{shown[0]}-{shown[-1]}" if shown else "the document has no paragraphs left")


def _changed(document: LegacyDocument, event: dict[str, Any]) -> None:
    if document.status == "approved":
        event["approval_withdrawn"] = {"by": document.approved_by,
                                       "at": document.approved_at.isoformat(timespec="seconds")
                                       if document.approved_at else None}
        document.status = "draft"
        document.approved_by = None
        document.approved_at = None
    document.history = [*document.history, event]


def edit_paragraph(db: Session, patient_id: int, number: int, text: str, by: str) -> LegacyParagraph:
    """The author's own change: kept as written (it is theirs), recorded with the text before."""
    document = readable_document(db, patient_id)
    name = authorised(db, patient_id, by)
    text = " ".join(text.split())
    if not text:
        raise DocumentError("the new text is empty; to take the paragraph out use --remove")
    paragraph = _paragraph(document, number)
    now = utcnow()
    _changed(document, {"event": "edited", "paragraph": number, "by": name,
                        "at": now.isoformat(timespec="seconds"), "before": paragraph.text})
    paragraph.text = text
    paragraph.edited_by = name
    paragraph.edited_at = now
    return paragraph


def remove_paragraph(db: Session, patient_id: int, number: int, by: str) -> LegacyParagraph:
    document = readable_document(db, patient_id)
    name = authorised(db, patient_id, by)
    paragraph = _paragraph(document, number)
    now = utcnow()
    _changed(document, {"event": "removed", "paragraph": number, "by": name,
                        "at": now.isoformat(timespec="seconds")})
    paragraph.removed = True
    paragraph.edited_by = name
    paragraph.edited_at = now
    return paragraph


def approve(db: Session, patient_id: int, by: str) -> LegacyDocument:
    document = readable_document(db, patient_id)
    name = authorised(db, patient_id, by)
    if not any(not p.removed for p in document.paragraphs):
        raise DocumentError("every paragraph has been removed; there is nothing to approve")
    now = utcnow()
    document.status = "approved"
    document.approved_by = name
    document.approved_at = now
    document.history = [*document.history, {"event": "approved", "by": name,
                                            "at": now.isoformat(timespec="seconds")}]
    return document


def document_json(document: LegacyDocument) -> dict[str, Any]:
    return {
        "patient_id": document.patient_id, "version": document.version, "status": document.status,
        "approved_by": document.approved_by,
        "approved_at": document.approved_at.isoformat(timespec="seconds") if document.approved_at else None,
        "titles_by": document.titles_by, "check": document.check, "history": document.history,
        "paragraphs": [
            {"number": p.position, "question": p.question, "section": p.section_title, "text": p.text,
             "source_turn_ids": p.source_turn_ids, "edited_by": p.edited_by,
             "original_text": p.original_text if p.edited_by else None}
            for p in document.paragraphs if not p.removed
        ],
    }
