"""The memory-session part of `make demo`: a scripted sitting, its document, approved and exported.

The demo patient is synthetic, so a previous demo's memory session is deleted
through the ordinary withdrawal path before a new one is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from coach.legacy.bench import DATA, ScriptedSession, play
from coach.legacy.consent import current_consent, give_consent, latest_consent, withdraw_consent
from coach.legacy.document import approve, build_document
from coach.legacy.export import Exported, export
from coach.legacy.interview import Triager
from coach.llm.base import LanguageModel
from coach.store.db import Store
from coach.store.schema import Patient

DEMO_SESSION = DATA / "demo_session.json"


@dataclass(frozen=True)
class MemoryDemo:
    exported: Exported
    paragraphs: int
    match_rate: float


def run_memory_demo(store: Store, patient_id: int, triage: Triager, out_dir: Path,
                    model: Callable[[], LanguageModel] | None = None, locale: str = "US",
                    console: Console | None = None) -> MemoryDemo:
    """Consent, a scripted memory session, the document, approval by the patient, export."""
    row = json.loads(DEMO_SESSION.read_text(encoding="utf-8"))
    script = ScriptedSession(row["patient"], row["style"], tuple(row["turns"]), row.get("proxy", ""))
    say = console.print if console is not None else (lambda *a, **k: None)
    with store.session() as db:
        latest = latest_consent(db, patient_id)
        if latest is not None and (current_consent(db, patient_id) is not None
                                   or latest.withdrawal_choice == "lock"):
            withdraw_consent(db, patient_id, "delete")  # a fresh demo each time
        give_consent(db, patient_id, script.proxy)
        patient = db.get(Patient, patient_id)
        assert patient is not None
        name = patient.name
    say(f"[dim]consent recorded; {len(script.turns)} scripted answers and skips[/]")
    play(store, patient_id, script, triage, locale)
    llm = model() if model is not None else None
    try:
        with store.session() as db:
            document = build_document(db, patient_id, llm)
            check = dict(document.check)
            paragraphs = sum(1 for p in document.paragraphs if not p.removed)
            approve(db, patient_id, name)
    finally:
        if llm is not None:
            llm.close()
    with store.session() as db:
        exported = export(db, patient_id, out_dir)
    say(f"legacy document: {paragraphs} paragraphs, {check['matched']} of {check['sentences']} "
        f"sentences match the transcript, approved by {name}", highlight=False)
    say(f"  PDF:      {exported.pdf}\n  Markdown: {exported.markdown}", highlight=False)
    return MemoryDemo(exported, paragraphs, float(check["match_rate"]))
