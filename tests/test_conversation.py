"""A coaching session end to end: triage before the model, checks after it, every turn stored."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from coach.config import Settings
from coach.conversation import Conversation, ConversationError
from coach.llm import GenerationOptions, LanguageModel
from coach.llm.llamacpp import LlamaCppModel
from coach.store import CoachSession, Flag, Patient, Turn, open_store
from tests.conftest import model_path
from tests.doubles import ScriptedModel

pytestmark = pytest.mark.slow


def _setup(home: Settings):  # type: ignore[no-untyped-def]
    store = open_store(home.db_path, home.key_path)
    with store.session() as db:
        p = Patient(name="Rosa Diaz", preferred_name="Rosa", conditions=["heart failure"],
                    medications=["furosemide"], goals_text="garden again")
        db.add(p)
        db.flush()
        return store, p.id


def test_crisis_gets_fixed_reply_and_flag_without_loading_a_model(home: Settings, triage) -> None:  # type: ignore[no-untyped-def]
    store, pid = _setup(home)

    def no_model() -> LanguageModel:
        raise AssertionError("a crisis reply must not need a language model")

    conv = Conversation(store, pid, triage, no_model, GenerationOptions(), locale="UK")
    reply = " ".join(conv.reply("honestly everyone would be better off without me"))
    assert "116 123" in reply
    assert conv.last is not None and conv.last.flag_id is not None
    with store.session() as db:
        flag = db.scalars(select(Flag)).one()
        assert flag.category == "crisis" and flag.patient_id == pid
        turns = db.scalars(select(Turn).order_by(Turn.idx)).all()
        assert [t.role for t in turns] == ["patient", "coach"]
        assert turns[1].source == "crisis-v1"
    conv.close()
    store.close()


def test_output_check_replaces_a_dose_instruction(home: Settings, triage) -> None:  # type: ignore[no-untyped-def]
    store, pid = _setup(home)
    model = ScriptedModel(["Well done on the gardening. ", "Take 40 mg of furosemide ",
                           "twice a day. ", "You will feel great."])
    conv = Conversation(store, pid, triage, lambda: model, GenerationOptions())
    sentences = list(conv.reply("I did some weeding today"))
    assert sentences[0] == "Well done on the gardening."
    assert "care team" in sentences[1] and len(sentences) == 2
    assert conv.last is not None and conv.last.blocked
    # The system prompt carried the patient's profile.
    assert "Rosa" in model.seen[0][0].content and "furosemide" in model.seen[0][0].content
    conv.close()
    store.close()


def test_replies_are_plain_and_short(home: Settings, triage) -> None:  # type: ignore[no-untyped-def]
    store, pid = _setup(home)
    model = ScriptedModel(["Great work, Rosa! ", "Here are ideas:\n\n", "1. **Warm up** first. ",
                           "2. Walk slowly. ", "3. Rest often. ", "4. Drink water. ", "5. Stretch."])
    conv = Conversation(store, pid, triage, lambda: model, GenerationOptions())
    out = list(conv.reply("I did some weeding today"))
    assert out == ["Great work, Rosa!", "Here are ideas.", "Warm up first.", "Walk slowly."]
    assert "Rosa Diaz" not in model.seen[0][0].content  # only the preferred name is sent
    conv.close()
    store.close()


def test_a_long_reply_keeps_room_for_its_question(home: Settings, triage) -> None:  # type: ignore[no-untyped-def]
    store, pid = _setup(home)
    long = " ".join(["word"] * 20)
    model = ScriptedModel([f"It sounds like a busy week {long}. ", f"You kept going all the same {long}. ",
                           f"That takes real effort {long}. ", "What helped most?"])
    conv = Conversation(store, pid, triage, lambda: model, GenerationOptions())
    out = list(conv.reply("I did some weeding today"))
    assert out[-1] == "What helped most?" and len(" ".join(out).split()) <= 60
    assert conv.last is not None and any("length" in d for d in conv.last.dropped)
    conv.close()
    store.close()


def test_praise_for_a_goal_no_check_in_reached_is_dropped(home: Settings, triage) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from coach.store import CheckIn, Goal

    store, pid = _setup(home)
    with store.session() as db:
        goal = Goal(patient_id=pid, description="Walk after lunch", measure="walking", target=20,
                    unit="minutes", period="day")
        db.add(goal)
        db.flush()
        db.add(CheckIn(goal_id=goal.id, day=date.today(), value=10))
    model = ScriptedModel(["You've already reached your goal of walking 20 minutes a day! ",
                           "What helped you get out?"])
    conv = Conversation(store, pid, triage, lambda: model, GenerationOptions())
    assert list(conv.reply("I managed a walk after lunch on three days")) == ["What helped you get out?"]
    assert conv.last is not None and "no check-in shows" in conv.last.dropped[0]
    # Her own words are another matter: she may say she hit it.
    said = list(conv.reply("I hit my target today, twenty minutes!"))
    assert said[0].startswith("You've already")
    conv.close()
    store.close()


def test_memory_of_earlier_sessions_goes_into_the_prompt(home: Settings, triage) -> None:  # type: ignore[no-untyped-def]
    store, pid = _setup(home)
    first = Conversation(store, pid, triage, lambda: ScriptedModel(["Lovely. "]), GenerationOptions())
    list(first.reply("I planted tomatoes with my grandson on Sunday"))
    first.close()
    model = ScriptedModel(["Welcome back. "])
    second = Conversation(store, pid, triage, lambda: model, GenerationOptions())
    list(second.reply("hello again"))
    assert "planted tomatoes" in model.seen[0][0].content
    second.close()
    with store.session() as db:
        sessions = db.scalars(select(CoachSession).order_by(CoachSession.id)).all()
        assert "tomatoes" in sessions[0].summary and sessions[0].ended_at is not None
    store.close()


def test_interrupted_reply_is_stored_as_interrupted(home: Settings, triage) -> None:  # type: ignore[no-untyped-def]
    store, pid = _setup(home)
    model = ScriptedModel(["First thing to say. ", "Second thing to say. ", "Third."])
    conv = Conversation(store, pid, triage, lambda: model, GenerationOptions())
    stream = conv.reply("tell me about walking")
    assert next(stream) == "First thing to say."
    stream.close()  # the patient barged in
    with store.session() as db:
        coach_turn = db.scalars(select(Turn).where(Turn.role == "coach")).one()
        assert coach_turn.status == "interrupted" and coach_turn.text == "First thing to say."
    conv.close()
    store.close()


def test_real_model_turn_streams_and_reuses_cache(home: Settings, triage) -> None:  # type: ignore[no-untyped-def]
    store, pid = _setup(home)
    model = LlamaCppModel(model_path("smollm2-135m"), n_ctx=2048, threads=2)
    conv = Conversation(store, pid, triage, lambda: model,
                        GenerationOptions(max_tokens=40, temperature=0.0, seed=3))
    assert list(conv.reply("I walked to the shop today"))
    assert list(conv.reply("and I slept well"))
    with store.session() as db:
        turns = db.scalars(select(Turn).order_by(Turn.idx)).all()
        assert [t.role for t in turns] == ["patient", "coach", "patient", "coach"]
        assert turns[3].meta["reused_tokens"] > 300  # the system prompt came from the KV cache
    conv.close()
    store.close()


def test_lone_surrogate_is_saved_and_answered(home: Settings, triage) -> None:  # type: ignore[no-untyped-def]
    # Invalid UTF-8 read with surrogateescape reaches here as a lone surrogate; it crashed
    # triage's tokenizer and the store, and the message was lost.
    store, pid = _setup(home)
    model = LlamaCppModel(model_path("smollm2-135m"), n_ctx=2048, threads=2)
    conv = Conversation(store, pid, triage, lambda: model,
                        GenerationOptions(max_tokens=20, temperature=0.0, seed=3))
    assert list(conv.reply("I walked today \ud800 and felt \udcffgood"))
    assert conv.last is not None and conv.last.triage.category.value == "none"
    with store.session() as db:
        turns = db.scalars(select(Turn).order_by(Turn.idx)).all()
        assert [t.role for t in turns] == ["patient", "coach"]
        assert turns[0].text == "I walked today \ufffd and felt \ufffdgood"  # otherwise as typed
        assert turns[1].text
    conv.close()
    store.close()


def test_patients_words_are_stored_as_typed_but_triaged_plain(home: Settings, triage) -> None:  # type: ignore[no-untyped-def]
    store, pid = _setup(home)

    def no_model() -> LanguageModel:
        raise AssertionError("a crisis reply must not need a language model")

    conv = Conversation(store, pid, triage, no_model, GenerationOptions())
    typed = "Ｉ ｗａｎｔ ｔｏ ｋｉｌｌ ｍｙｓｅｌｆ ｔｏｎｉｇｈｔ"
    list(conv.reply(typed))
    assert conv.last is not None and conv.last.flag_id is not None
    with store.session() as db:
        patient_turn = db.scalars(select(Turn).where(Turn.role == "patient")).one()
        assert patient_turn.text == typed and patient_turn.triage == "crisis"
    conv.close()
    store.close()


def test_unknown_patient_and_empty_message(home: Settings, triage) -> None:  # type: ignore[no-untyped-def]
    store, pid = _setup(home)
    with pytest.raises(ConversationError, match="no patient with id 999"):
        Conversation(store, 999, triage, lambda: ScriptedModel([]), GenerationOptions())
    conv = Conversation(store, pid, triage, lambda: ScriptedModel([]), GenerationOptions())
    with pytest.raises(ConversationError, match="empty"):
        list(conv.reply("   "))
    with pytest.raises(ConversationError, match="shorter parts"):
        list(conv.reply("I went for a walk. " * 1000))
    with store.session() as db:
        assert db.scalars(select(Turn)).all() == []  # a refused message stores nothing
    conv.close()
    store.close()


def test_warm_up_prefills_in_background_and_crisis_replies_do_not_wait(home: Settings, triage) -> None:  # type: ignore[no-untyped-def]
    import threading

    store, pid = _setup(home)
    release = threading.Event()
    model = ScriptedModel(["Good to hear. "])

    def slow_factory() -> LanguageModel:
        release.wait(30)
        return model

    conv = Conversation(store, pid, triage, slow_factory, GenerationOptions(), warm=True)
    # The model is still "loading": a crisis reply must not wait for it.
    crisis = list(conv.reply("I want to end my life"))
    assert "988" in " ".join(crisis)
    # Streamed sentence by sentence, so speech starts on the first, and stored whole.
    assert len(crisis) > 2 and conv.last.text == " ".join(crisis)
    assert not release.is_set()
    release.set()
    assert list(conv.reply("I did my exercises")) == ["Good to hear."]
    assert model.prefilled[0].content == conv.system
    conv.close()
    store.close()


def test_warm_up_failure_surfaces_when_the_model_is_needed(home: Settings, triage) -> None:  # type: ignore[no-untyped-def]
    from coach.llm import LLMError

    store, pid = _setup(home)

    def broken() -> LanguageModel:
        raise LLMError("model qwen is not assembled yet; run `coach models`")

    conv = Conversation(store, pid, triage, broken, GenerationOptions(), warm=True)
    with pytest.raises(LLMError, match="coach models"):
        list(conv.reply("hello there"))
    conv.close()
    store.close()


def test_history_window_moves_in_steps_so_prompts_share_their_start(home: Settings, triage) -> None:  # type: ignore[no-untyped-def]
    store, pid = _setup(home)
    model = ScriptedModel(["Lovely to hear. "])
    conv = Conversation(store, pid, triage, lambda: model, GenerationOptions(), warm=True)
    for n in range(10):
        list(conv.reply(f"I did {n + 2} rows of weeding today"))
        conv.wait_ready()
        # what is read while the patient listens is exactly where the next prompt starts
        if n < 9:
            listened = model.prefilled
    # The turn's instruction (coach.moves) sits just before the newest words, outside the history.
    histories = [[m for m in prompt[1:] if m.role != "system"] for prompt in model.seen]
    assert all(1 <= len(h) <= 11 for h in histories)
    assert model.seen[-1][:len(listened)] == listened
    moved = sum(1 for a, b in itertools.pairwise(histories) if b[:len(a)] != a)
    assert moved <= 2  # the window's start moved in steps of six turns, not at every exchange
    conv.close()
    store.close()
