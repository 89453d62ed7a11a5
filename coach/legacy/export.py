"""Giving the approved document to the family: Markdown, a typeset PDF, the patient's own voice.

Only the latest version, and only once approved: an edit after approval puts the
document back to draft. The PDF is set in DejaVu Serif (Debian `fonts-dejavu-core`,
Bitstream Vera licence, free to embed) with wide margins and a title page; where
the font is missing it falls back to the PDF's built-in Times. The audio keepsake
joins the patient's own recordings of the chosen passages, nothing else: no
synthetic voice ever speaks in it.
"""

from __future__ import annotations

import io
import re
import wave
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from coach.legacy.consent import ConsentError
from coach.legacy.document import DocumentError, readable_document
from coach.store.legacy import LegacyAnswer, LegacyDocument, LegacyParagraph
from coach.store.schema import Patient, Turn, utcnow

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
"""Where Debian's fonts-dejavu-core puts its files (installed by `make sysdeps`)."""
TITLE = "In my own words"
GAP_SECONDS = 0.8
KEEPSAKE_RATE = 16_000


re_quotes = re.compile(r'"([^"]*)"')


class ExportError(Exception):
    """Nothing can be exported as asked; the message says what to do first."""


@dataclass
class Section:
    title: str
    paragraphs: list[LegacyParagraph] = field(default_factory=list)


@dataclass
class Exported:
    markdown: Path
    pdf: Path
    audio: Path | None = None
    audio_seconds: float = 0.0
    passages: list[int] = field(default_factory=list)
    font: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"markdown": str(self.markdown), "pdf": str(self.pdf),
                "audio": str(self.audio) if self.audio else None,
                "audio_seconds": round(self.audio_seconds, 2), "passages": self.passages,
                "font": self.font}


def approved_document(db: Session, patient_id: int) -> LegacyDocument:
    """The approved latest version, or a clear refusal saying what is missing."""
    try:
        document = readable_document(db, patient_id)
    except (DocumentError, ConsentError) as exc:
        raise ExportError(str(exc)) from exc
    if document.status != "approved":
        raise ExportError(
            f"version {document.version} of the document is not approved yet, so nothing is exported; "
            f"the patient or their named proxy reviews it with `coach memory document --patient "
            f"{patient_id} --review`")
    return document


def sections(document: LegacyDocument) -> list[Section]:
    out: list[Section] = []
    for paragraph in document.paragraphs:
        if paragraph.removed:
            continue
        if not out or out[-1].title != paragraph.section_title:
            out.append(Section(paragraph.section_title))
        out[-1].paragraphs.append(paragraph)
    return out


def _dates(db: Session, document: LegacyDocument) -> tuple[datetime | None, datetime | None]:
    ids = [i for p in document.paragraphs for i in p.source_turn_ids]
    if not ids:
        return None, None
    times = list(db.scalars(select(Turn.created_at).where(Turn.id.in_(ids))))
    return (min(times), max(times)) if times else (None, None)


def _span(first: datetime | None, last: datetime | None) -> str:
    if first is None or last is None:
        return ""
    if first.date() == last.date():
        return f"{first:%-d %B %Y}"
    return f"{first:%-d %B %Y} to {last:%-d %B %Y}"


def markdown(db: Session, document: LegacyDocument) -> str:
    patient = db.get(Patient, document.patient_id)
    assert patient is not None
    first, last = _dates(db, document)
    lines = [f"# {TITLE}", "", f"**{patient.name}**", ""]
    if first is not None:
        lines += [f"*Told in memory sessions, {_span(first, last)}.*", ""]
    for section in sections(document):
        lines += [f"## {section.title}", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph.text, ""]
    approved = f"{document.approved_at:%-d %B %Y}" if document.approved_at else ""
    lines += ["---", "", f"*These are {patient.address_as}'s own words, lightly tidied. "
              f"Read and approved by {document.approved_by} on {approved}.*", ""]
    return "\n".join(lines)


def _fonts() -> tuple[str, str, str]:
    """(regular, bold, italic) font names registered with ReportLab."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    files = {"LegacySerif": "DejaVuSerif.ttf", "LegacySerif-Bold": "DejaVuSerif-Bold.ttf",
             "LegacySerif-Italic": "DejaVuSerif-Italic.ttf"}
    if not (FONT_DIR / files["LegacySerif"]).is_file():
        return "Times-Roman", "Times-Bold", "Times-Italic"
    names = []
    for name, file in files.items():
        path = FONT_DIR / file
        if not path.is_file():  # italic is in fonts-dejavu-extra; fall back to the upright face
            path = FONT_DIR / files["LegacySerif"]
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(path)))
        names.append(name)
    return names[0], names[1], names[2]


def _typeset(text: str) -> str:
    """Escaped for ReportLab's markup, with typographic apostrophes and quotes."""
    text = text.replace("'", "’").replace(" ’", " ‘")
    text = re_quotes.sub(lambda m: f"“{m.group(1)}”", text)
    return escape(text)


def write_pdf(db: Session, document: LegacyDocument, out: Path) -> str:
    """Typeset the document; returns the font family used."""
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import (
        CondPageBreak,
        HRFlowable,
        KeepTogether,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
    )

    patient = db.get(Patient, document.patient_id)
    assert patient is not None
    regular, bold, italic = _fonts()
    ink = "#2b2b2b"
    body = ParagraphStyle("body", fontName=regular, fontSize=11.5, leading=18, textColor=ink,
                          spaceAfter=9, firstLineIndent=0)
    heading = ParagraphStyle("heading", fontName=bold, fontSize=15, leading=20, textColor=ink,
                             spaceBefore=14, spaceAfter=10)
    title = ParagraphStyle("title", fontName=regular, fontSize=30, leading=38, alignment=TA_CENTER,
                           textColor=ink)
    name_style = ParagraphStyle("name", fontName=bold, fontSize=17, leading=24, alignment=TA_CENTER,
                                textColor=ink)
    note = ParagraphStyle("note", fontName=italic, fontSize=10.5, leading=16, alignment=TA_CENTER,
                          textColor="#555555")
    first, last = _dates(db, document)
    approved = f"{document.approved_at:%-d %B %Y}" if document.approved_at else ""
    story: list[Any] = [
        Spacer(1, 70 * mm), Paragraph(escape(TITLE), title), Spacer(1, 12 * mm),
        HRFlowable(width="30%", thickness=0.6, color="#888888", hAlign="CENTER"), Spacer(1, 12 * mm),
        Paragraph(escape(patient.name), name_style), Spacer(1, 6 * mm),
    ]
    if first is not None:
        story.append(Paragraph(escape(f"Told in memory sessions, {_span(first, last)}"), note))
    story += [Spacer(1, 60 * mm),
              Paragraph(_typeset(f"These are {patient.address_as}'s own words, lightly tidied. Read and "
                               f"approved by {document.approved_by} on {approved}."), note),
              PageBreak()]
    for section in sections(document):
        paragraphs = [Paragraph(_typeset(p.text), body) for p in section.paragraphs]
        story += [CondPageBreak(40 * mm), KeepTogether([Paragraph(_typeset(section.title), heading),
                                                        paragraphs[0]]), *paragraphs[1:],
                  Spacer(1, 4 * mm)]

    def _footer(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 9)
        canvas.setFillColor("#777777")
        canvas.drawCentredString(A4[0] / 2, 15 * mm, str(doc.page - 1))
        canvas.restoreState()

    out.parent.mkdir(parents=True, exist_ok=True)
    pdf = SimpleDocTemplate(str(out), pagesize=A4, leftMargin=32 * mm, rightMargin=32 * mm,
                            topMargin=30 * mm, bottomMargin=28 * mm, title=f"{TITLE}: {patient.name}",
                            author=patient.name, subject="A keepsake in the patient's own words")
    pdf.build(story, onFirstPage=lambda c, d: None, onLaterPages=_footer)
    return regular


def _decode(data: bytes) -> np.ndarray[Any, np.dtype[np.float32]]:
    from faster_whisper import decode_audio

    try:
        samples = decode_audio(io.BytesIO(data), sampling_rate=KEEPSAKE_RATE)
    except Exception as exc:  # PyAV raises many kinds for a damaged file
        raise ExportError(f"a stored recording cannot be decoded ({type(exc).__name__})") from None
    return np.asarray(samples, dtype=np.float32)


def write_keepsake(db: Session, document: LegacyDocument, numbers: list[int] | None,
                   out: Path) -> tuple[float, list[int]]:
    """Join the patient's recordings behind the chosen paragraphs (all, when none are chosen).

    A recording is a whole answer: a paragraph brings in the answers it came from, each
    once, in the order of the document.
    """
    shown = [p for p in document.paragraphs if not p.removed]
    if numbers:
        unknown = sorted(set(numbers) - {p.position for p in shown})
        if unknown:
            raise ExportError(f"no paragraph {', '.join(map(str, unknown))} in the document")
        shown = [p for p in shown if p.position in numbers]
    turn_ids: list[int] = []
    used: list[int] = []
    wanted = [t for p in shown for t in p.source_turn_ids]
    recordings = dict(db.execute(select(LegacyAnswer.turn_id, LegacyAnswer.recording)
                                 .where(LegacyAnswer.turn_id.in_(wanted),
                                        LegacyAnswer.recording.is_not(None))).all())
    for paragraph in shown:
        fresh = [t for t in paragraph.source_turn_ids if t in recordings and t not in turn_ids]
        if fresh or any(t in recordings for t in paragraph.source_turn_ids):
            used.append(paragraph.position)
        turn_ids += fresh
    if not turn_ids:
        return 0.0, []
    gap = np.zeros(int(GAP_SECONDS * KEEPSAKE_RATE), dtype=np.float32)
    pieces: list[np.ndarray[Any, np.dtype[np.float32]]] = []
    for turn_id in turn_ids:
        data = recordings[turn_id]
        assert data is not None
        if pieces:
            pieces.append(gap)
        pieces.append(_decode(data))
    audio = np.concatenate(pieces)
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    out.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(out), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(KEEPSAKE_RATE)
        wav.writeframes(pcm.tobytes())
    return len(audio) / KEEPSAKE_RATE, used


def export(db: Session, patient_id: int, out_dir: Path, audio: bool = True,
           passages: list[int] | None = None) -> Exported:
    """Write legacy.md, legacy.pdf and (when recordings exist and audio is wanted) keepsake.wav."""
    document = approved_document(db, patient_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "legacy.md"
    md.write_text(markdown(db, document), encoding="utf-8")
    pdf = out_dir / "legacy.pdf"
    font = write_pdf(db, document, pdf)
    result = Exported(md, pdf, font=font)
    if audio:
        wav = out_dir / "keepsake.wav"
        seconds, used = write_keepsake(db, document, passages, wav)
        if used:
            result.audio, result.audio_seconds, result.passages = wav, seconds, used
    document.history = [*document.history, {"event": "exported", "version": document.version,
                                            "at": utcnow().isoformat(timespec="seconds"),
                                            "audio": result.audio is not None}]
    return result
