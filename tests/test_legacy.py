"""Memory sessions and the legacy document: consent, the interview, traceability, approval, export.

Real parts throughout: the encrypted store, the real triage (rules + classifier), the
real editor and checker, ReportLab writing a real PDF, a real recording for the keepsake.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from coach.config import Settings
from coach.legacy import legacy_status
from coach.legacy.checker import check_sentence, entities, invented
from coach.legacy.consent import CONSENT_ID, ConsentError, give_consent, withdraw_consent
from coach.legacy.document import (
    DocumentError,
    approve,
    build_document,
    document_json,
    edit_paragraph,
    include_turn,
    propose_titles,
    remove_paragraph,
    source_turns,
)
from coach.legacy.editing import clean_sentence
from coach.legacy.export import ExportError, export
from coach.legacy.interview import Interview, InterviewError, open_interview
from coach.legacy.protocol import PROMPTS, follow_up
from coach.safety import Triage
from coach.store import CoachSession, Flag, Patient, Store, Turn, open_store
from coach.store.legacy import LegacyAnswer, LegacyConsent, LegacyInterview
from tests.doubles import ScriptedModel

pytestmark = pytest.mark.slow  # the real triage model (mpnet) judges every answer

RECORDING = Path(__file__).parents[1] / "coach" / "voice" / "demo_question.wav"

ANSWERS = [
    "Um, I was born in Leeds in 1938, you know, in a little house on Harehills Lane. "
    "My father was a, he was a tram driver.",
    "I met Arthur at the Mecca ballroom in 1957. He stood on my foot, he stood on my foot "
    "and then he danced with me all night.",
    "I want them to know that I was quite wild. I rode a motorbike for a whole summer.",
]


@pytest.fixture
def store(home: Settings) -> Iterator[Store]:
    s = open_store(home.db_path, home.key_path)
    yield s
    s.close()


def _patient(store: Store, name: str = "Edith Marlow", consent: bool = True, proxy: str = "") -> int:
    with store.session() as db:
        patient = Patient(name=name, preferred_name=name.split()[0])
        db.add(patient)
        db.flush()
        if consent:
            give_consent(db, patient.id, proxy)
        return patient.id


def _answered(store: Store, triage: Triage, answers: list[str] = ANSWERS) -> tuple[int, Interview]:
    pid = _patient(store, proxy="Susan Marlow")
    interview = Interview(store, pid, triage)
    interview.opening()
    for text in answers:
        interview.answer(text)
    return pid, interview


def test_no_session_and_no_document_without_consent(store: Store, triage: Triage) -> None:
    pid = _patient(store, consent=False)
    with pytest.raises(ConsentError, match="has not consented"):
        Interview(store, pid, triage)
    with store.session() as db, pytest.raises(ConsentError, match="memory start"):
        build_document(db, pid)
    with store.session() as db:
        assert db.scalars(select(CoachSession)).all() == []  # nothing was recorded


def test_consent_is_stored_with_its_date_and_wording(store: Store) -> None:
    pid = _patient(store, proxy="Susan Marlow")
    with store.session() as db:
        consent = db.scalars(select(LegacyConsent)).one()
        assert consent.patient_id == pid and consent.given_at is not None
        assert consent.explained_id == CONSENT_ID
        assert "skip any question" in consent.explained and "delete" in consent.explained
        assert consent.proxy_name == "Susan Marlow" and consent.share_with_clinician is False


def test_one_question_at_a_time_and_every_answer_is_a_committed_turn(store: Store,
                                                                     triage: Triage) -> None:
    pid = _patient(store)
    interview = Interview(store, pid, triage)
    opening = interview.opening()
    assert [s.kind for s in opening] == ["welcome", "prompt"] and opening[1].text == PROMPTS[0].text
    steps = interview.answer(ANSWERS[0])
    # a follow-up that reflects what was heard and invites detail, never advice
    assert steps[-1].kind == "followup" and "Leeds" in steps[-1].text
    with store.session() as db:
        state = db.scalars(select(LegacyInterview)).one()
        assert (state.question_index, state.stage) == (0, "followup")
        answer = db.scalars(select(LegacyAnswer)).one()
        turn = db.get(Turn, answer.turn_id)
        assert turn is not None and turn.role == "patient" and turn.text == ANSWERS[0]
        assert turn.triage == "none" and db.get(CoachSession, turn.session_id).kind == "memory"  # type: ignore[union-attr]
    steps = interview.answer(ANSWERS[1])
    assert steps[-1].kind == "prompt" and steps[-1].question == 2
    assert interview.question == 2


def test_follow_ups_reflect_and_invite_but_never_advise() -> None:
    for prompt in PROMPTS:
        for answer in ("Yes.", "We lived in Bristol for a while.", "It was 1962 and everything changed.",
                       "I worked at the mill all my life and I loved the people there, every one of them."):
            text = follow_up(prompt, answer).lower()
            assert text.endswith("?")
            assert not any(w in text for w in ("should", "try to", "you must", "cheer", "bright side",
                                               "don't worry", "great"))


def test_skip_pause_and_resume_over_sittings(store: Store, triage: Triage) -> None:
    pid = _patient(store)
    first = Interview(store, pid, triage)
    first.opening()
    first.skip()                      # question 1 skipped
    first.answer(ANSWERS[2])          # question 2 answered
    first.pause()
    second = Interview(store, pid, triage, resume_only=True)
    opening = second.opening()
    assert opening[0].text.startswith("Welcome back") and opening[1].kind == "followup"
    assert opening[1].question == 2
    second.skip()                     # leaving a follow-up does not count as skipping the question
    with store.session() as db:
        state = db.scalars(select(LegacyInterview)).one()
        assert state.skipped == [1] and state.sittings == 2 and state.question_index == 2
        assert len(db.scalars(select(CoachSession).where(CoachSession.kind == "memory")).all()) == 2


def test_resume_without_a_session_and_empty_answers_are_clear_errors(store: Store,
                                                                     triage: Triage) -> None:
    pid = _patient(store)
    with pytest.raises(InterviewError, match="no memory session to resume"):
        Interview(store, pid, triage, resume_only=True)
    interview = Interview(store, pid, triage)
    interview.opening()
    with pytest.raises(InterviewError, match="empty"):
        interview.answer("   ")


def test_crisis_gets_the_coaching_reply_a_flag_and_stays_out_of_the_draft(store: Store,
                                                                          triage: Triage) -> None:
    pid, interview = _answered(store, triage, ANSWERS[:1])
    steps = interview.answer("Some days I just want to end my life.")
    assert steps[0].kind == "fixed" and "988" in steps[0].text and steps[0].flag_id
    assert steps[-1].kind == "prompt" and steps[-1].question == 2  # no follow-up on that statement
    interview.answer(ANSWERS[2])
    with store.session() as db:
        flag = db.scalars(select(Flag)).one()
        assert flag.category == "crisis" and flag.patient_id == pid
        document = build_document(db, pid)
        text = " ".join(p.text for p in document.paragraphs)
        assert "end my life" not in text and "Leeds" in text
        assert document.check["held_back"] == [flag.turn_id]
        assert legacy_status(db, pid)["flags"] == 1
        # the author may put it back (the flag stays raised for the care team)
        include_turn(db, pid, flag.turn_id, "Edith")  # type: ignore[arg-type]
        rebuilt = build_document(db, pid)
        assert any("end my life" in p.text for p in rebuilt.paragraphs)


def test_every_paragraph_traces_to_its_turns_and_matches_them(store: Store, triage: Triage) -> None:
    pid, _ = _answered(store, triage)
    with store.session() as db:
        interview = open_interview(db, pid)
        assert interview is not None
        said = {t.turn_id: t.text for t in source_turns(db, interview)}
        data = document_json(build_document(db, pid))
    assert data["paragraphs"] and data["check"]["match_rate"] == 1.0 and data["check"]["invented"] == []
    for paragraph in data["paragraphs"]:
        assert paragraph["source_turn_ids"] and set(paragraph["source_turn_ids"]) <= set(said)
        sources = {i: said[i] for i in paragraph["source_turn_ids"]}
        for sentence in paragraph["text"].split(". "):
            assert check_sentence(sentence, sources).matches, sentence
        assert invented(paragraph["text"], said.values()) == []
    text = " ".join(p["text"] for p in data["paragraphs"])
    assert "Um" not in text and "you know" not in text and "father was a tram driver" in text
    assert text.count("stood on my foot") == 1
    assert data["paragraphs"][0]["section"] == PROMPTS[0].theme


def test_editor_only_takes_away() -> None:
    assert clean_sentence("Um, so I was, I was born in, uh, Leeds, you know.") == "So I was born in Leeds."
    assert clean_sentence("We had, we had nothing really.") == "We had nothing really."
    assert clean_sentence("I went to, to the shop, the shop on the corner.") == \
        "I went to the shop on the corner."
    assert clean_sentence("That's all.") == ""
    assert clean_sentence("i never, i never loved that house.") == "I never loved that house."


def test_checker_rejects_what_was_not_said() -> None:
    turns = {7: "Um, I was born in Leeds in 1938 and I did not like school."}
    assert check_sentence("I was born in Leeds in 1938.", turns).matches
    assert check_sentence("I was born in Leeds in 1938.", turns).turn_id == 7
    assert not check_sentence("I was born in Paris in 1950 to a wealthy family.", turns).matches
    assert not check_sentence("I did like school.", turns).matches  # a dropped "not" is not light editing
    assert invented("We moved to Paris in June 1950.", turns.values()) == ["Paris", "June", "1950"]
    assert entities("Tom and I went to Whitby. It was 1962.") == ["Whitby", "1962"]


def test_model_may_only_propose_titles_and_they_are_checked(store: Store, triage: Triage) -> None:
    pid, _ = _answered(store, triage)
    model = ScriptedModel(["1: Growing Up In Leeds\n", "2: My years in Paris\n", "ORDER: 2, 1\n"])
    with store.session() as db:
        document = build_document(db, pid, model)  # type: ignore[arg-type]
        titles = {p.question: p.section_title for p in document.paragraphs}
        assert titles[1] == "Growing up in Leeds"            # Leeds was said; title case undone
        assert titles[2] == PROMPTS[1].theme                  # Paris was never said: refused
        assert document.paragraphs[0].question == 2           # a valid order is taken
        assert document.titles_by == "model:scripted"
    paragraphs_text = " ".join(p.text for p in document.paragraphs)
    assert "Paris" not in paragraphs_text
    assert propose_titles(ScriptedModel(["nonsense"]), [], []) == ({}, [])  # type: ignore[arg-type]


def test_empty_and_half_finished_sessions(store: Store, triage: Triage) -> None:
    pid = _patient(store)
    with store.session() as db, pytest.raises(DocumentError, match="no memory session yet"):
        build_document(db, pid)
    interview = Interview(store, pid, triage)
    interview.opening()
    with store.session() as db, pytest.raises(DocumentError, match="nothing has been answered"):
        build_document(db, pid)
    interview.answer("Um, well, you know.")
    with store.session() as db, pytest.raises(DocumentError, match="no sentences to keep"):
        build_document(db, pid)
    interview.answer(ANSWERS[2])
    with store.session() as db:
        document = build_document(db, pid)
        assert document.check["finished"] is False and document.check["questions_asked"] == 1


def test_nothing_exports_before_approval_and_edits_need_reapproval(store: Store, triage: Triage,
                                                                   tmp_path: Path) -> None:
    pid, _ = _answered(store, triage)
    out = tmp_path / "out"
    with store.session() as db:
        build_document(db, pid)
    with store.session() as db, pytest.raises(ExportError, match="not approved"):
        export(db, pid, out)
    assert not out.exists()
    with store.session() as db, pytest.raises(DocumentError, match="only Edith Marlow or their named proxy"):
        approve(db, pid, "A Stranger")
    with store.session() as db:
        edit_paragraph(db, pid, 1, "I was born in Leeds, on Harehills Lane.", "Edith")
        remove_paragraph(db, pid, 2, "Edith")
        approve(db, pid, "Susan Marlow")                     # the named proxy may approve
    with store.session() as db:
        edit_paragraph(db, pid, 1, "I was born in Leeds.", "Edith Marlow")   # back to draft
    with store.session() as db, pytest.raises(ExportError, match="not approved"):
        export(db, pid, out)
    with store.session() as db:
        document = approve(db, pid, "Edith Marlow")
        events = [e["event"] for e in document.history]
        assert events == ["built", "edited", "removed", "approved", "edited", "approved"]
        assert document.history[4]["approval_withdrawn"]["by"] == "Susan Marlow"
        result = export(db, pid, out)
    md = result.markdown.read_text(encoding="utf-8")
    assert "# In my own words" in md and "Edith Marlow" in md and "I was born in Leeds." in md
    assert "stood on my foot" not in md                        # the removed paragraph stays out
    pdf = result.pdf.read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000 and b"DejaVuSerif" in pdf
    assert result.audio is None                                # nothing was recorded aloud


def test_audio_keepsake_is_only_the_patients_own_recordings(store: Store, triage: Triage,
                                                            tmp_path: Path) -> None:
    pid = _patient(store)
    interview = Interview(store, pid, triage)
    interview.opening()
    recording = RECORDING.read_bytes()
    interview.answer("I grew up by the sea in Whitby and I loved the harbour.", recording, RECORDING.name)
    interview.answer("My brother Jack and I fished off the pier every summer.")
    with store.session() as db:
        build_document(db, pid)
        approve(db, pid, "Edith")
        result = export(db, pid, tmp_path)
    assert result.audio is not None and result.passages == [1]
    with wave.open(str(RECORDING)) as src:
        source_seconds = src.getnframes() / src.getframerate()
    assert abs(result.audio_seconds - source_seconds) < 0.1  # one answer, exactly its recording
    with store.session() as db:
        stored = db.scalars(select(LegacyAnswer.recording).where(LegacyAnswer.recording.is_not(None))).one()
        assert stored == recording                              # kept inside the encrypted store


def test_withdrawing_consent_locks_or_deletes_as_the_patient_chooses(store: Store, triage: Triage,
                                                                     tmp_path: Path) -> None:
    pid, interview = _answered(store, triage)
    interview.answer("I want to end my life.")  # a flag, which must survive deletion without its words
    interview.close()
    with store.session() as db:
        build_document(db, pid)
        approve(db, pid, "Edith")
        message = withdraw_consent(db, pid, "lock").message
    assert "locked" in message
    with store.session() as db:
        with pytest.raises(ExportError, match="locked"):
            export(db, pid, tmp_path / "x")
        assert legacy_status(db, pid)["status"] == "locked"
        assert legacy_status(db, pid)["document"] == "none"
    with pytest.raises(ConsentError, match="locked"):
        Interview(store, pid, triage)
    with store.session() as db:
        give_consent(db, pid)                       # consenting again unlocks
        assert legacy_status(db, pid)["status"] == "paused"
        message = withdraw_consent(db, pid, "delete").message
    assert "deleted for good" in message
    with store.session() as db:
        assert db.scalars(select(Turn)).all() == []
        assert db.scalars(select(LegacyAnswer)).all() == []
        flag = db.scalars(select(Flag)).one()
        assert flag.turn_id is None and "end my life" not in flag.reason
        status = legacy_status(db, pid)
        assert status["status"] == "deleted" and status["consent"] == "withdrawn"
    with store.session() as db, pytest.raises(ConsentError, match="deleted"):
        build_document(db, pid)


def test_clinician_status_shows_content_only_when_allowed(store: Store, triage: Triage) -> None:
    pid, interview = _answered(store, triage)
    interview.close()
    with store.session() as db:
        build_document(db, pid)
        status = legacy_status(db, pid)
    assert status["consent"] == "given" and status["proxy"] == "Susan Marlow"
    assert status["status"] == "paused" and status["questions_answered"] == 2
    assert status["document"] == "draft" and "content" not in status
    assert "Leeds" not in str(status)
    other = _patient(store, "Frank Delaney")
    with store.session() as db:
        db.get(LegacyConsent, 2).share_with_clinician = True  # type: ignore[union-attr]
    shared = Interview(store, other, triage)
    shared.opening()
    shared.answer("I drove the 86 bus in Liverpool for thirty-one years.")
    with store.session() as db:
        build_document(db, other)
        status = legacy_status(db, other)
    assert status["content_shared"] and "Liverpool" in status["content"][0]["text"]
    with store.session() as db:
        assert legacy_status(db, 999)["status"] == "not started"


def test_after_a_crisis_statement_there_is_no_follow_up_and_the_patient_leads(store: Store,
                                                                               triage: Triage) -> None:
    pid = _patient(store)
    interview = Interview(store, pid, triage)
    interview.opening()
    steps = interview.answer("I have been saving up my tablets so I can end it.")
    assert [s.kind for s in steps] == ["fixed", "fixed"] and steps[0].flag_id
    assert "988" in steps[0].text and "stop here for today" in steps[1].text
    steps = interview.answer("I grew up in Whitby, by the harbour, with my brother Jack.")
    assert steps[-1].kind == "prompt" and steps[-1].question == 2
    interview.pause()
    resumed = Interview(store, pid, triage, resume_only=True)
    assert resumed.opening()[1].question == 2
    with store.session() as db:
        document = build_document(db, pid)
        assert [p.text for p in document.paragraphs] == [
            "I grew up in Whitby, by the harbour, with my brother Jack."]


def test_an_answer_with_a_lone_surrogate_is_saved(store: Store, triage: Triage) -> None:
    pid = _patient(store)
    interview = Interview(store, pid, triage)
    interview.opening()
    interview.answer("I was born in Leeds \ud83d and my father drove a tram.")
    with store.session() as db:
        answer = db.scalars(select(Turn).where(Turn.role == "patient")).one()
        assert answer.text == "I was born in Leeds \ufffd and my father drove a tram."
