"""`coach bench notes`: how much of what matters a note keeps, and that it shows nothing unsupported.

Each bundled dialogue lists the facts its note must contain (`a&b` both words,
`a|b` either), the readings a careful reader would take from it, and phrases
the note must not contain (someone else's number, a target taken as a reading, a
diagnosis). "Unsupported shown" is judged independently of the note's own check:
a shown line is unsupported when a figure in it is missing from any turn it links to,
a reading is not re-found in its linked turn, it shares no content with its
turns, or it contains a must-not phrase.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import Progress
from rich.table import Table

from coach.llm.base import LanguageModel
from coach.notes.check import CheckedStatement, content_words, numbers
from coach.notes.draft import TranscriptTurn
from coach.notes.make import NoteResult, build_note
from coach.notes.readings import extract_readings, normalise_numbers
from knowledge.embeddings import Embedder

DIALOGUES = Path(__file__).parent / "data" / "dialogues.jsonl"


@dataclass(frozen=True)
class Dialogue:
    id: str
    turns: list[TranscriptTurn]
    facts: list[str]
    readings: list[tuple[str, float, float | None]]
    must_not: list[str]


def load_dialogues(path: Path | None = None) -> list[Dialogue]:
    out = []
    for n, line in enumerate((path or DIALOGUES).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        turns = [TranscriptTurn(1000 * n + i, i, role, text, source="model" if role == "coach" else "")
                 for i, (role, text) in enumerate(row["turns"])]
        out.append(Dialogue(row["id"], turns, row.get("facts", []),
                            [(k, float(v), None if v2 is None else float(v2))
                             for k, v, v2 in row.get("readings", [])], row.get("must_not", [])))
    return out


def _norm(text: str) -> str:
    return normalise_numbers(text.lower()).replace("’", "'")


def has_fact(note: str, fact: str) -> bool:
    text = _norm(note)
    return any(all(_norm(part.strip()) in text for part in alt.split("&")) for alt in fact.split("|"))


def unsupported(statement: CheckedStatement, turns: list[TranscriptTurn], must_not: list[str]) -> bool:
    if any(_norm(m) in _norm(statement.text) for m in must_not):
        return True
    position = {t.id: n for n, t in enumerate(turns)}
    linked = [turns[position[t]] for t in statement.turn_ids if t in position]
    if not linked:
        return True
    if statement.section == "readings":
        found = set()
        for t in linked:
            n = position[t.id]
            before = " ".join(x.text for x in turns[max(0, n - 2):n])
            found |= {r.describe() for r in extract_readings(t.text, before)}
        return statement.text not in found
    figures = numbers(statement.text)
    if any(not figures <= numbers(t.text) for t in linked):  # every linked turn has every figure
        return True
    words = content_words(statement.text)
    linked_words = set().union(*(content_words(t.text) for t in linked))
    return bool(words) and not words & linked_words


def run_notes_bench(embedder: Embedder, model: Callable[[], LanguageModel] | None,
                    path: Path | None = None, limit: int = 0, progress: bool = True) -> dict[str, Any]:
    dialogues = load_dialogues(path)
    if limit:
        dialogues = dialogues[:limit]
    llm = model() if model is not None else None
    facts = found = bad = dropped = shown = 0
    tp = fp = fn = 0
    seconds: list[float] = []
    per: list[dict[str, Any]] = []
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("notes", total=len(dialogues))
        for d in dialogues:
            started = time.perf_counter()
            result: NoteResult = build_note(d.turns, embedder, llm)
            seconds.append(time.perf_counter() - started)
            text = result.text()
            hits = [f for f in d.facts if has_fact(text, f)]
            wrong = [s.text for s in result.shown if unsupported(s, d.turns, d.must_not)]
            got = {(r.kind, r.value, r.value2) for _, r in result.readings}
            want = set(d.readings)
            tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
            facts, found, bad = facts + len(d.facts), found + len(hits), bad + len(wrong)
            dropped, shown = dropped + len(result.dropped), shown + len(result.shown)
            per.append({"id": d.id, "facts": len(d.facts), "found": len(hits),
                        "missed": [f for f in d.facts if f not in hits], "unsupported_shown": wrong,
                        "dropped": len(result.dropped)})
            bar.advance(task)
    if llm is not None:
        llm.close()
    writer = f"model:{llm.name}" if llm is not None else "extractive"
    report: dict[str, Any] = {
        "writer": writer, "dialogues": len(dialogues), "facts": facts,
        "fact_recall": round(found / facts, 3) if facts else 0.0,
        "readings_precision": round(tp / (tp + fp), 3) if tp + fp else 1.0,
        "readings_recall": round(tp / (tp + fn), 3) if tp + fn else 1.0,
        "statements_shown": shown, "unsupported_shown": bad, "dropped_by_check": dropped,
        "median_seconds_per_note": round(statistics.median(seconds), 3) if seconds else 0.0,
        "per_dialogue": per,
    }
    table = Table("measure", "value", title=f"note benchmark ({writer}, {len(dialogues)} dialogues)")
    for key in ("fact_recall", "readings_precision", "readings_recall", "statements_shown",
                "unsupported_shown", "dropped_by_check", "median_seconds_per_note"):
        table.add_row(key.replace("_", " "), str(report[key]))
    report["table"] = table
    return report
