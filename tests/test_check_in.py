"""The check-in band: a reviewed question when a crisis or emergency is likely but not sure."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from coach.config import Settings
from coach.conversation import Conversation
from coach.llm import GenerationOptions
from coach.safety import Category, TriageResult, fixed_reply
from coach.safety.check_in import Answer, read_answer
from coach.safety.setting import COACHING, Setting, last_question
from coach.store import Flag, Patient, Turn, open_store
from tests.doubles import ScriptedModel


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("yes", Answer.YES), ("Yeah, sometimes", Answer.YES), ("a bit", Answer.YES),
        ("I don't know", Answer.YES), ("not really", Answer.YES), ("maybe", Answer.YES),
        ("it's still happening", Answer.YES),
        ("No, I'm fine", Answer.NO), ("no no, just a figure of speech", Answer.NO),
        ("not at all", Answer.NO), ("I'm okay, I didn't mean it like that", Answer.NO),
        ("it's passed now", Answer.NO),
        ("I walked to the shops today", Answer.OTHER), ("", Answer.OTHER),
    ],
)
def test_reads_an_answer_to_the_check_in_question(text: str, answer: Answer) -> None:
    assert read_answer(text) is answer


def test_check_in_replies_ask_and_give_the_numbers() -> None:
    crisis = fixed_reply(Category.CRISIS, "UK", check_in=True)
    assert crisis.reply_id == "crisis-checkin-v1"
    assert "?" in crisis.text and "116 123" in crisis.text and "999" in crisis.text
    emergency = fixed_reply(Category.EMERGENCY, "US", check_in=True)
    assert emergency.reply_id == "emergency-checkin-v1"
    assert "911" in emergency.text and "happening now?" in emergency.text
    # The sure replies are unchanged.
    assert fixed_reply(Category.CRISIS, "US").reply_id == "crisis-v1"


class BandTriage:
    """Stands in for the classifier: a fixed verdict per message, for the flow test only."""

    def __init__(self, verdicts: dict[str, TriageResult]) -> None:
        self.verdicts = verdicts
        self.settings: list[Setting] = []

    def __call__(self, text: str, setting: Setting = COACHING) -> TriageResult:
        self.settings.append(setting)
        return self.verdicts.get(text, TriageResult(Category.NONE, "nothing", "classifier", {}))


def _conversation(home: Settings, triage: BandTriage, model: ScriptedModel):  # type: ignore[no-untyped-def]
    store = open_store(home.db_path, home.key_path)
    with store.session() as db:
        patient = Patient(name="Ada Byrne", preferred_name="Ada")
        db.add(patient)
        db.flush()
        pid = patient.id
    return store, Conversation(store, pid, triage, lambda: model, GenerationOptions())  # type: ignore[arg-type]


GREY = TriageResult(Category.CRISIS, "check-in: classifier 0.09 crisis", "classifier", {},
                    check_in=True)


def test_a_yes_to_the_check_in_gets_the_full_crisis_reply_and_a_second_flag(home: Settings) -> None:
    triage = BandTriage({"I've sorted the shed out for the last time": GREY})
    store, conv = _conversation(home, triage, ScriptedModel(["That's good to hear. "]))
    first = " ".join(conv.reply("I've sorted the shed out for the last time"))
    assert "may I ask you plainly" in first and conv.last is not None and conv.last.flag_id
    second = " ".join(conv.reply("yes, sometimes"))
    assert conv.last.source == "crisis-v1" and "988" in second
    with store.session() as db:
        flags = db.scalars(select(Flag).order_by(Flag.id)).all()
        assert [f.category for f in flags] == ["crisis", "crisis"]
        assert flags[0].reason.startswith("check-in") and "with yes" in flags[1].reason
        sources = [t.source for t in db.scalars(select(Turn).where(Turn.role == "coach")
                                                .order_by(Turn.idx))]
        assert sources == ["crisis-checkin-v1", "crisis-v1"]
    conv.close()
    store.close()


def test_a_clear_no_lets_the_conversation_go_on(home: Settings) -> None:
    triage = BandTriage({"this weather is the end of me": GREY,
                         "no, I'm fine, it's just the rain": GREY})
    model = ScriptedModel(["Rain does wear on you. ", "What helps on grey days?"])
    store, conv = _conversation(home, triage, model)
    list(conv.reply("this weather is the end of me"))
    reply = list(conv.reply("no, I'm fine, it's just the rain"))
    # Reassured: the model answers, and the same question is not asked twice in a row.
    assert reply == ["Rain does wear on you.", "What helps on grey days?"]
    assert conv.last is not None and conv.last.triage.category is Category.NONE
    with store.session() as db:
        assert len(db.scalars(select(Flag)).all()) == 1
    conv.close()
    store.close()


def test_after_a_safety_reply_the_next_message_is_read_without_its_question(home: Settings) -> None:
    # Read with "are you having thoughts of ending your life?", a plain next message scored as
    # a crisis; a coach's own question is still the context of the answer to it.
    triage = BandTriage({"this weather is the end of me": GREY})
    model = ScriptedModel(["Gum can help. ", "What will you try first?"])
    store, conv = _conversation(home, triage, model)
    list(conv.reply("this weather is the end of me"))
    list(conv.reply("I'll keep gum in my handbag for when my sister's over"))
    list(conv.reply("Probably the mint one"))
    assert [s.question for s in triage.settings] == ["", "", "What will you try first?"]
    conv.close()
    store.close()


def test_memory_sessions_ask_only_in_the_uncertain_band() -> None:
    from coach.legacy.safety import asks_first

    # The classifier reads each answer with its legacy question now: a sure verdict is a
    # crisis in palliative words, not a misread goodbye, and gets the full reply.
    seen = TriageResult(Category.CRISIS, "classifier 0.9 crisis", "classifier", {})
    unsure = TriageResult(Category.CRISIS, "check-in: classifier 0.2 crisis", "classifier", {},
                          check_in=True)
    assert not asks_first(seen, Category.CRISIS)
    assert asks_first(unsure, Category.CRISIS)
    unsure_emergency = TriageResult(Category.EMERGENCY, "check-in", "classifier", {}, check_in=True)
    assert asks_first(unsure_emergency, Category.EMERGENCY)
    assert not asks_first(TriageResult(Category.EMERGENCY, "rule", "rule", {}), Category.EMERGENCY)


def test_the_memory_check_in_says_why_it_asks() -> None:
    reply = fixed_reply(Category.CRISIS, "UK", check_in=True, memory=True)
    assert reply.reply_id == "crisis-checkin-memory-v1" and "116 123" in reply.text
    assert "simply answering the question" in reply.text


def test_each_message_is_triaged_with_the_question_it_answers(home: Settings) -> None:
    triage = BandTriage({})
    model = ScriptedModel(["Well done on the walks. How many did you manage this week? "])
    store, conv = _conversation(home, triage, model)
    list(conv.reply("I walked on Monday"))
    list(conv.reply("three"))
    assert triage.settings == [Setting(), Setting(question="How many did you manage this week?")]
    conv.close()
    store.close()


def test_the_last_question_is_what_a_message_answers() -> None:
    assert last_question("Good. Did it rain? What got in the way? Tell me more.") == "What got in the way?"
    assert last_question("That sounds lovely.") == ""
