"""Session notes: readings taken from the patient's words, drafted statements checked against turns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from coach.cli.main import app
from coach.config import Settings
from coach.notes.check import Evidence
from coach.notes.draft import DraftStatement, TranscriptTurn, parse_model_note
from coach.notes.make import NoteError, build_note, make_note
from coach.notes.readings import extract_readings, missed_medication
from coach.store import open_store
from coach.store.clinical import Note, Reading
from coach.store.schema import CoachSession, Patient, Turn


@pytest.mark.parametrize(("text", "expected"), [
    ("My blood pressure was 142/88 this morning.", ["Blood pressure 142/88 mmHg (this morning)"]),
    ("BP 150 over 95 yesterday.", ["Blood pressure 150/95 mmHg (yesterday)"]),
    ("Fasting glucose 132 mg/dL today.", ["Fasting blood glucose 132 mg/dL (today)"]),
    ("My sugar was 7.8 before breakfast.", ["Fasting blood glucose 7.8 mmol/L"]),
    ("I did about eight thousand steps on Tuesday.", ["Steps 8,000 in a day (on tuesday)"]),
    ("I walked 6.5k steps.", ["Steps 6,500 in a day"]),
    ("I weigh 82 kg now, I lost 2 kg!", ["Weight 82 kg"]),
    ("I'm 184 pounds.", ["Weight 184 lb"]),
    ("Scales said 14 stone this morning.", ["Weight 88.9 kg (this morning)"]),
    # not readings: targets, someone else's numbers, questions about numbers, other measures
    ("My goal is 10,000 steps a day.", []),
    ("The doctor wants my pressure under 130/80.", []),
    ("My husband's blood pressure was 160/100, it scared me.", []),
    ("Is 140/90 high?", []),
    ("My a1c was 7.2%.", []),
    ("I walked 3 days this week at 10 am for 20 minutes.", []),
    ("I weigh 82 now.", []),  # no unit: left out rather than guessed
])
def test_readings_from_patient_words(text: str, expected: list[str]) -> None:
    got = [r.describe().replace(" (before breakfast)", "") for r in extract_readings(text)]
    assert got == expected


def test_an_answer_takes_its_measure_from_the_question() -> None:
    [reading] = extract_readings("Yes, it was 136 over 84.", "Have you checked your blood pressure?")
    assert (reading.value, reading.value2) == (136, 84)
    assert extract_readings("Yes, it was 136 over 84.", "How was your week?") == []


@pytest.mark.parametrize(("text", "missed"), [
    ("I forgot my metformin on Saturday.", True),
    ("I ran out of my amlodipine three days ago.", True),
    ("I didn't take my tablets on Sunday.", True),
    ("I never forget my pills.", False),
    ("What if I miss a dose?", False),
    ("I took all my tablets this week.", False),
])
def test_missed_medication(text: str, missed: bool) -> None:
    assert bool(missed_medication(text)) is missed


TURNS = [
    TranscriptTurn(11, 0, "patient", "My knees ache after about fifteen minutes of walking."),
    TranscriptTurn(12, 1, "coach", "Swimming could be a gentle way to stay active.", source="model"),
    TranscriptTurn(13, 2, "patient", "I'll go to the pool on Tuesday mornings. My sugar was 9.4 today."),
]


def test_model_note_lines_are_parsed_with_their_turn_numbers() -> None:
    text = ("SUBJECTIVE:\n- Knee pain after walking [T1]\nOBSERVATIONS:\n- Patient seems keen [T3]\n"
            "PLAN:\n- Swim on Tuesday mornings [T2, T3]\n- Something never said here [T9]")
    drafts = parse_model_note(text, TURNS)
    assert [(d.section, d.cited) for d in drafts] == [
        ("subjective", (11,)), ("observations", (13,)), ("plan", (12, 13)), ("plan", ())]


@pytest.mark.slow
def test_unsupported_and_unsafe_statements_are_dropped(embedder) -> None:  # type: ignore[no-untyped-def]
    checked = Evidence(TURNS, embedder).check([
        DraftStatement("subjective", "Knees ache after fifteen minutes of walking"),
        DraftStatement("subjective", "Blood glucose was 12.5 today"),          # wrong number
        DraftStatement("subjective", "Patient is sleeping well and eats fruit"),  # never said
        DraftStatement("subjective", "Patient did not walk at all"),          # contradicts turn 1
        DraftStatement("observations", "The knee pain suggests a diagnosis of arthritis"),
        DraftStatement("plan", "Swimming at the pool on Tuesday mornings"),
        DraftStatement("subjective", "Sugar was 9.4 today"),
        DraftStatement("subjective", "Knees ache after about ten minutes of walking"),  # fifteen, said
    ])
    verdicts = [(c.verified, c.reason) for c in checked]
    assert verdicts[0] == (True, "") and checked[0].turn_ids == [11]
    assert verdicts[1] == (False, "numbers")
    assert verdicts[2][0] is False and verdicts[3][0] is False
    assert verdicts[4] == (False, "diagnosis")
    assert verdicts[5][0] is True and 13 in checked[5].turn_ids
    assert verdicts[6] == (True, "") and checked[6].turn_ids == [13]  # the one turn with the figure
    assert verdicts[7] == (False, "numbers")  # figures in words count as figures


@pytest.mark.slow
def test_extractive_note_of_a_stored_session(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    store = open_store(tmp_path / "coach.db", tmp_path / "db.key")
    with store.session() as db:
        patient = Patient(name="Ann")
        db.add(patient)
        db.flush()
        session = CoachSession(patient_id=patient.id)
        db.add(session)
        db.flush()
        for i, (role, text) in enumerate([("patient", "Hi. My blood pressure was 151/93 this morning."),
                                          ("coach", "Thanks for telling me."),
                                          ("patient", "I forgot my amlodipine twice this week.")]):
            db.add(Turn(session_id=session.id, idx=i, role=role, text=text))
        db.flush()
        result = make_note(db, session.id, embedder)
        sid = session.id
    with store.session() as db:
        note = db.scalar(select(Note).where(Note.session_id == sid))
        assert note is not None and note.missed_medication and note.writer == "extractive"
        sections = {s.section for s in note.statements}
        assert {"subjective", "readings", "observations"} <= sections
        assert all(s.turn_ids for s in note.statements)
        [reading] = db.scalars(select(Reading)).all()
        assert (reading.kind, reading.value, reading.value2) == ("blood_pressure", 151, 93)
        with pytest.raises(NoteError, match="already has a note"):
            make_note(db, sid, embedder)
        note.reviewed_by = "drlee"
        note.reviewed_at = note.created_at
    with store.session() as db, pytest.raises(NoteError, match="reviewed"):
        make_note(db, sid, embedder, replace=True)
    assert result.dropped == []
    store.close()


@pytest.mark.slow
def test_bundled_dialogues_show_no_unsupported_statement(embedder) -> None:  # type: ignore[no-untyped-def]
    from coach.notes.bench import load_dialogues, run_notes_bench

    assert len(load_dialogues()) >= 20
    report = run_notes_bench(embedder, None, progress=False)
    assert report["unsupported_shown"] == 0
    assert report["fact_recall"] >= 0.9 and report["readings_precision"] >= 0.95


@pytest.mark.slow
def test_model_written_note_keeps_only_supported_statements(embedder) -> None:  # type: ignore[no-untyped-def]
    """The tiny test model writes nonsense freely: whatever survives must be linked to turns.

    It runs through the transformers backend (the same `LanguageModel` interface as llama.cpp)."""
    from coach.llm.transformers_backend import TransformersModel
    from tests.conftest import model_path

    model = TransformersModel(model_path("smollm2-135m"), device="cpu", name="smollm2-135m")
    try:
        result = build_note(TURNS, embedder, model, max_tokens=48)
    finally:
        model.close()
    assert result.writer == "model:smollm2-135m"
    assert result.shown and all(s.verified and s.turn_ids for s in result.shown)
    assert {s.section for s in result.shown} >= {"readings", "subjective"}


@pytest.mark.slow
def test_notes_make_and_fhir_export_commands(home: Settings, tmp_path: Path) -> None:
    store = open_store(home.db_path, home.key_path)
    with store.session() as db:
        patient = Patient(name="Ann")
        db.add(patient)
        db.flush()
        session = CoachSession(patient_id=patient.id, ended_at=patient.created_at)
        db.add(session)
        db.flush()
        db.add(Turn(session_id=session.id, idx=0, role="patient", text="I did 7,000 steps on Monday."))
        pid, sid = patient.id, session.id
    store.close()
    runner = CliRunner()
    made = runner.invoke(app, ["notes", "make", "--pending", "--writer", "extractive", "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)[0]["session_id"] == sid
    out = tmp_path / "ann.fhir.json"
    exported = runner.invoke(app, ["export", "fhir", "--patient", str(pid), "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    bundle = json.loads(out.read_text())
    steps = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
    assert steps[0]["code"]["coding"][0]["code"] == "41950-7" and steps[0]["valueQuantity"]["value"] == 7000
    assert "every ended session has a note" in runner.invoke(app, ["notes", "make", "--pending"]).output
    again = runner.invoke(app, ["notes", "make", "--session", str(sid), "--writer", "extractive"])
    assert isinstance(again.exception, NoteError)
    missing = runner.invoke(app, ["export", "fhir", "--patient", "99"])
    assert missing.exit_code != 0 and "no patient with id 99" in str(missing.exception)


def _bundle(doc: dict[str, object]) -> dict[str, object]:
    patient = {"resourceType": "Patient", "id": "p1", "name": [{"text": "Ann"}]}
    return {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:6f1c3c1e-8d2b-4a53-9b7e-0c5d7e3a9f11", "resource": patient},
        {"fullUrl": "urn:uuid:6f1c3c1e-8d2b-4a53-9b7e-0c5d7e3a9f12", "resource": doc}]}


def test_fhir_bundles_are_checked_against_r4_4_0_1() -> None:
    from coach.notes.fhir import FhirError, validate

    doc = {"resourceType": "DocumentReference", "id": "n1", "status": "current",
           "subject": {"reference": "urn:uuid:6f1c3c1e-8d2b-4a53-9b7e-0c5d7e3a9f11"},
           "content": [{"attachment": {"contentType": "text/plain", "data": "bm90ZQ=="}}],
           "context": {"period": {"start": "2026-12-01T10:00:00+00:00"}}}
    validate(_bundle(doc))
    # R5 made context a list of references; in R4 it is one element
    with pytest.raises(FhirError, match=r"R4 \(4\.0\.1\): entry\.1\.resource\.context\.0: Superfluous entry"):
        validate(_bundle({**doc, "context": [{"reference": "Encounter/1"}]}))
    # `version` is new in R5: not an R4 element
    with pytest.raises(FhirError, match=r"R4 \(4\.0\.1\).*version"):
        validate(_bundle({**doc, "version": "2"}))
    # content is required (1..*)
    with pytest.raises(FhirError, match="content"):
        validate(_bundle({k: v for k, v in doc.items() if k != "content"}))
    with pytest.raises(FhirError, match="period"):
        validate(_bundle({**doc, "context": {"period": {"start": "yesterday"}}}))


@pytest.mark.parametrize("text", ["10,000 steps is my goal.", "I take two sugars in my tea.",
                                  "I lost 5 pounds since June."])
def test_targets_food_and_changes_are_not_readings(text: str) -> None:
    assert extract_readings(text) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("My numbers were 140/95.", ["Blood pressure 140/95 mmHg"]),
    ("Is 140/90 high for someone my age?", []),
    ("My BP was 150/95, is that bad?", ["Blood pressure 150/95 mmHg"]),
    ("I got 7.9 on my meter, is that ok?", ["Blood glucose 7.9 mmol/L"]),
    ("My sugar was 6.1 at 7 this morning.", ["Blood glucose 6.1 mmol/L (this morning)"]),
    ("See you on 12/05.", []),
])
def test_readings_in_harder_phrasings(text: str, expected: list[str]) -> None:
    assert [r.describe() for r in extract_readings(text)] == expected


@pytest.mark.slow
def test_a_figure_must_mean_the_same_in_the_turn(embedder) -> None:  # type: ignore[no-untyped-def]
    """Seen from the 1.5B model: "losing 84.5 kg" drafted from "I weighed 84.5 kg"."""
    turns = [TranscriptTurn(1, 0, "patient", "I weighed 84.5 kg on Sunday, down from last month."),
             TranscriptTurn(2, 1, "patient", "My goal is 6,000 steps every day next week.")]
    checked = Evidence(turns, embedder).check([
        DraftStatement("subjective", "Patient reported losing 84.5 kg on Sunday"),
        DraftStatement("subjective", "Patient weighed 84.5 kg on Sunday"),
        DraftStatement("subjective", "Patient walks 6,000 steps every day"),
        DraftStatement("plan", "Goal of 6,000 steps every day next week"),
    ])
    assert [(c.verified, c.reason) for c in checked] == [
        (False, "numbers"), (True, ""), (False, "numbers"), (True, "")]


def test_a_question_about_a_medicine_never_becomes_an_instruction(embedder) -> None:  # type: ignore[no-untyped-def]
    """Seen in `make demo` with the 1.5B model: the patient's question became a plan."""
    turns = [TranscriptTurn(1, 0, "patient", "Should I take an extra metformin if I have a big dinner?"),
             TranscriptTurn(2, 1, "patient", "I took my amlodipine every morning this week.")]
    checked = Evidence(turns, embedder).check([
        DraftStatement("plan", "Patient should take an extra metformin if he has a big dinner"),
        DraftStatement("plan", "Patient may need to stop taking the amlodipine tablets"),
        DraftStatement("plan", "Patient agreed to take an extra metformin before walking"),
        DraftStatement("plan", "Patient will stay hydrated and take an extra metformin after a big dinner"),
        DraftStatement("subjective", 'Asked: "Should I take an extra metformin if I have a big dinner?"'),
        DraftStatement("subjective", "Patient took amlodipine every morning this week"),
    ])
    assert [c.verified for c in checked] == [False, False, False, False, True, True]
    assert checked[0].reason == "medicine instruction"  # no dose figure, so the output check let it by


def test_only_the_patient_can_agree_to_a_plan(embedder) -> None:  # type: ignore[no-untyped-def]
    """Seen in `make demo`: the coach's advice came back as "Agree to aim for ..." in the note."""
    turns = [
        TranscriptTurn(1, 0, "patient", "How much should I drink if I have high blood pressure?"),
        TranscriptTurn(2, 1, "coach", "The advice is no more than one drink a day for women.",
                       source="model"),
        TranscriptTurn(3, 2, "patient", "I'll walk to the shops on Tuesday instead of taking the bus."),
        TranscriptTurn(4, 3, "patient", "How do I check my blood pressure properly at home?"),
    ]
    checked = Evidence(turns, embedder).check([
        DraftStatement("plan", "Agree to aim for no more than one drink a day"),
        DraftStatement("plan", "Patient will keep to no more than one drink a day"),
        DraftStatement("plan", "Coach advised no more than one drink a day for women"),
        DraftStatement("plan", "Patient will walk to the shops on Tuesday"),
        DraftStatement("plan", "Patient will check their blood pressure properly at home"),
    ])
    assert [c.verified for c in checked] == [False, False, True, True, False]
    assert checked[3].turn_ids == [3]
