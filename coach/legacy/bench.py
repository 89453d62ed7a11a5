"""`coach bench memory`: does the legacy document hold only what the patients said?

Scripted sessions (`data/bench_sessions.jsonl`, written for this benchmark: some
patients ramble with fillers, false starts and repeats, some answer in a few words,
some skip questions) go through real memory sessions, with real triage, in a
throwaway encrypted store. For each document we count the content sentences the
editor produced and how many match a transcript span (the checker's alignment),
and the names, places and dates in the final document that no answer contains.
Flagged answers are counted, then measured like the others. As a negative control,
every document sentence is also checked against another patient's transcript: the
checker should accept none of them.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import Progress
from rich.table import Table
from sqlalchemy import select

from coach.legacy.checker import check_sentence
from coach.legacy.consent import give_consent
from coach.legacy.document import build_document, document_json, held_back, source_turns
from coach.legacy.editing import sentences as split_written
from coach.legacy.interview import PAUSE_WORDS, SKIP_WORDS, Interview, Triager, open_interview
from coach.llm.base import LanguageModel
from coach.store import Patient, Store, open_store
from coach.store.legacy import LegacyAnswer

DATA = Path(__file__).parent / "data"
BENCH_SESSIONS = DATA / "bench_sessions.jsonl"


@dataclass(frozen=True)
class ScriptedSession:
    patient: str
    style: str
    """`rambling`, `terse`, `skipping` or `mixed`: what the script tests."""
    turns: tuple[str, ...]
    """What the patient says, in order; `/skip` and `/pause` act as in the CLI."""
    proxy: str = ""


def load_sessions(path: Path = BENCH_SESSIONS) -> list[ScriptedSession]:
    sessions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            sessions.append(ScriptedSession(row["patient"], row["style"], tuple(row["turns"]),
                                            row.get("proxy", "")))
    return sessions


def play(store: Store, patient_id: int, script: ScriptedSession, triage: Triager,
         locale: str = "US") -> int:
    """Feed the scripted turns to memory sessions (a /pause starts a new sitting); returns sittings."""
    sittings = 0
    interview: Interview | None = None
    for line in script.turns:
        if interview is None:
            interview = Interview(store, patient_id, triage, locale)
            interview.opening()
            sittings += 1
        command = line.lower()
        if command in PAUSE_WORDS:
            interview.pause()
            interview = None
        elif command in SKIP_WORDS:
            interview.skip()
        else:
            interview.answer(line)
        if interview is not None and interview.finished:
            break
    if interview is not None:
        interview.close()
    return sittings


def run_memory_bench(triage: Triager, locale: str = "US",
                     model: Callable[[], LanguageModel] | None = None,
                     progress: bool = True) -> dict[str, Any]:
    scripts = load_sessions()
    rows: list[dict[str, Any]] = []
    transcripts: list[dict[int, str]] = []
    written: list[list[str]] = []
    llm = model() if model is not None else None
    started = time.perf_counter()
    try:
        # A throwaway encrypted store: scripted patients have no place in the clinic's records.
        with tempfile.TemporaryDirectory() as home, \
                Progress(disable=not progress, transient=True) as bar:
            store = open_store(Path(home) / "bench.db", Path(home) / "bench.key")
            task = bar.add_task("memory sessions", total=len(scripts))
            try:
                for script in scripts:
                    with store.session() as db:
                        patient = Patient(name=script.patient)
                        db.add(patient)
                        db.flush()
                        give_consent(db, patient.id, script.proxy)
                        patient_id = patient.id
                    sittings = play(store, patient_id, script, triage, locale)
                    with store.session() as db:
                        interview = open_interview(db, patient_id)
                        assert interview is not None
                        flagged = len(held_back(db, interview))
                        # The editor and checker are measured on every answer, flagged or not
                        # (a flagged answer is held back from a real draft until its author says).
                        for answer in db.scalars(select(LegacyAnswer).where(
                                LegacyAnswer.interview_id == interview.id)):
                            answer.held_back = False
                        data = document_json(build_document(db, patient_id, llm))
                        said = {t.turn_id: t.text for t in source_turns(db, interview)}
                    transcripts.append(said)
                    written.append([s for p in data["paragraphs"] for s in split_written(p["text"])])
                    check = data["check"]
                    rows.append({"patient": script.patient, "style": script.style, "sittings": sittings,
                                 "answers": sum(1 for t in script.turns if t.lower() not in SKIP_WORDS
                                                and t.lower() not in PAUSE_WORDS),
                                 "flagged": flagged,
                                 "paragraphs": len(data["paragraphs"]), "sentences": check["sentences"],
                                 "matched": check["matched"], "rejected": check["rejected"],
                                 "invented": check["invented"], "titles_by": data["titles_by"],
                                 "traced": all(p["source_turn_ids"] for p in data["paragraphs"])})
                    bar.advance(task)
            finally:
                store.close()
    finally:
        if llm is not None:
            llm.close()
    # Negative control: each document's sentences against the next patient's transcript.
    # A checker that accepted them would be measuring nothing.
    foreign = [(s, transcripts[(i + 1) % len(transcripts)]) for i, doc in enumerate(written) for s in doc]
    false_accepts = sum(check_sentence(s, other).matches for s, other in foreign)
    sentences = sum(r["sentences"] for r in rows)
    matched = sum(r["matched"] for r in rows)
    invented = [n for r in rows for n in r["invented"]]
    result: dict[str, Any] = {
        "patients": len(rows),
        "sentences": sentences,
        "matched": matched,
        "match_rate": round(matched / sentences, 4) if sentences else 1.0,
        "invented": len(invented),
        "invented_names": invented,
        "answers": sum(r["answers"] for r in rows),
        "answers_flagged": sum(r["flagged"] for r in rows),
        "paragraphs_traced": all(r["traced"] for r in rows),
        "control_sentences": len(foreign),
        "control_false_accepts": false_accepts,
        "seconds": round(time.perf_counter() - started, 1),
        "per_patient": rows,
    }
    result["table"] = _table(result)
    return result


def _table(result: dict[str, Any]) -> Table:
    table = Table(title=f"coach bench memory: {result['patients']} scripted patients, "
                        f"{result['sentences']} content sentences")
    for column in ("patient", "style", "sits", "answers", "flagged", "paras", "sentences", "match",
                   "invented"):
        table.add_column(column, justify="left" if column in ("patient", "style") else "right")
    for r in result["per_patient"]:
        rate = r["matched"] / r["sentences"] if r["sentences"] else 1.0
        table.add_row(r["patient"].split()[-1], r["style"], str(r["sittings"]), str(r["answers"]),
                      str(r["flagged"]),
                      str(r["paragraphs"]),
                      str(r["sentences"]), f"{rate:.1%}", str(len(r["invented"])))
    table.add_section()
    table.add_row("all", "", "", str(result["answers"]), str(result["answers_flagged"]), "",
                  str(result["sentences"]), f"{result['match_rate']:.1%}",
                  str(result["invented"]))
    table.caption = (f"targets: match >= 95 %, invented names/places/dates 0; every paragraph traced "
                     f"to its turns: {result['paragraphs_traced']}; flagged = answers triage read as "
                     f"crisis/emergency (measured here, held back in a real draft); control: "
                     f"{result['control_false_accepts']} of {result['control_sentences']} sentences "
                     f"accepted against another patient's transcript; {result['seconds']} s")
    return table
