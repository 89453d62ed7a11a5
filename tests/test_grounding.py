"""Grounded replies: passages for the prompt, the citation check, and the refusal path."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from coach.config import Settings
from coach.conversation import Conversation
from coach.grounding import (
    NO_INFO_REPLY_ID,
    Knowledge,
    asks_for_information,
    condition_tags,
    only_proposes,
    strip_citations,
)
from coach.llm import GenerationOptions, LanguageModel
from coach.store import Patient, Turn, open_store
from knowledge.passages import Passage
from tests.doubles import ScriptedModel

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def knowledge(retriever, embedder) -> Knowledge:  # type: ignore[no-untyped-def]
    return Knowledge(retriever, embedder)


def passage(knowledge: Knowledge, article: str, section_word: str) -> Passage:
    return next(p for p in knowledge.retriever.index.passages
                if p.article_id == article and section_word.lower() in p.section.lower())


@pytest.fixture(scope="module")
def bp_and_steps(knowledge: Knowledge):  # type: ignore[no-untyped-def]
    return knowledge.with_passages([passage(knowledge, "bp-home-measuring", "sitting"),
                                    passage(knowledge, "activity-step-goals", "")])


def test_supported_citation_is_kept(knowledge: Knowledge, bp_and_steps) -> None:  # type: ignore[no-untyped-def]
    verdict = knowledge.check("Sit with your back supported and both feet flat on the floor [1].",
                              bp_and_steps)
    assert verdict.keep and verdict.cited == [1]
    assert verdict.sentence.endswith("floor [1].")


def test_wrong_citation_is_corrected(knowledge: Knowledge, bp_and_steps) -> None:  # type: ignore[no-untyped-def]
    verdict = knowledge.check("Sit with your back supported and your feet flat on the floor [2].",
                              bp_and_steps)
    assert verdict.keep and verdict.cited == [1]
    assert "corrected" in verdict.reason


def test_unsupported_citation_is_dropped(knowledge: Knowledge, bp_and_steps) -> None:  # type: ignore[no-untyped-def]
    verdict = knowledge.check("Eating grapefruit every morning will cure high blood pressure [1].",
                              bp_and_steps)
    assert not verdict.keep


def test_a_figure_the_passage_lacks_is_unsupported(knowledge: Knowledge, bp_and_steps) -> None:  # type: ignore[no-untyped-def]
    p1 = bp_and_steps.passages[0].text
    assert "45" not in p1
    verdict = knowledge.check("Sit quietly for 45 minutes with your back supported before you measure [1].",
                              bp_and_steps)
    assert not verdict.keep


def test_uncited_supported_sentence_gets_its_citation(knowledge: Knowledge, bp_and_steps) -> None:  # type: ignore[no-untyped-def]
    source = next(s for s in bp_and_steps._sentences[0] if len(s.split()) >= 6)
    verdict = knowledge.check(source, bp_and_steps)
    assert verdict.keep and verdict.cited == [1], verdict


def test_reflections_pass_and_unsourced_advice_is_dropped(knowledge: Knowledge, bp_and_steps) -> None:  # type: ignore[no-untyped-def]
    assert knowledge.check("It sounds like you really want to get this right, Rosa.", bp_and_steps).keep
    assert knowledge.check("What would make that easier for you?", bp_and_steps).keep
    assert not knowledge.check("You should drink eight glasses of water a day.", bp_and_steps).keep
    assert not knowledge.check("Aim for a 45-minute swim three times a week.", bp_and_steps).keep


def test_everyday_suggestions_need_a_passage_but_offers_and_encouragement_do_not(
        knowledge: Knowledge) -> None:
    grounding = knowledge.with_passages([])
    for advice in ("It might be helpful to take a warm bath.", "You can try hot packs.",
                   "Take a short walk after lunch.", "It can help to write things down.",
                   "You can always start with a short session and work your way up.",
                   "You can adjust the portion size as needed."):
        assert not knowledge.check(advice, grounding).keep, advice
    for fine in ("Keep it up!", "Would you like to try a few ideas?", "Take your time.",
                 "You could tell me more about that.", "Rest is important too, Rosa.",
                 "You can be proud of that."):
        assert knowledge.check(fine, grounding).keep, fine


def test_patients_own_figures_may_be_echoed(knowledge: Knowledge) -> None:
    grounding = knowledge.with_passages([])
    grounding.known_figures = {"20"}
    assert knowledge.check("You walked for 20 minutes on Tuesday, well done.", grounding).keep
    assert not knowledge.check("Try walking for 35 minutes tomorrow.", grounding).keep


def test_question_detection_and_condition_tags() -> None:
    assert asks_for_information("how much salt can I have?")
    assert asks_for_information("tell me about fibre")
    assert not asks_for_information("how are you?")
    assert not asks_for_information("thanks, that helps")
    # Spoken turns ask in the middle, or ask for a reminder without a question mark.
    assert asks_for_information("The box breathing one, how long am I holding for? I keep losing count.")
    assert asks_for_information("Remind me how the pursed lip one goes, I've forgot the counting.")
    assert only_proposes("I haven't started yet. Maybe ten minutes round the block to begin with?")
    assert not only_proposes("My wife does a massive plate of pasta. What's a sensible amount for me?")
    assert not only_proposes("I'm parched all the time. Any tricks for the thirst?")
    assert set(condition_tags(["Type 2 diabetes", "high blood pressure", "COPD"])) == {
        "hypertension", "type-2-diabetes", "copd"}
    assert strip_citations("Walk daily [1][2]. ") == "Walk daily."


def _conversation(home: Settings, triage, knowledge: Knowledge, model) -> Conversation:  # type: ignore[no-untyped-def]
    store = open_store(home.db_path, home.key_path)
    with store.session() as db:
        p = Patient(name="Ann Lee", preferred_name="Ann", conditions=["high blood pressure"])
        db.add(p)
        db.flush()
        pid = p.id
    return Conversation(store, pid, triage, lambda: model, GenerationOptions(), knowledge=knowledge)


def test_unanswerable_question_gets_the_no_information_reply_without_a_model(
        home: Settings, triage, knowledge: Knowledge) -> None:  # type: ignore[no-untyped-def]
    def no_model() -> LanguageModel:
        raise AssertionError("no model may run when nothing reviewed answers the question")

    store = open_store(home.db_path, home.key_path)
    with store.session() as db:
        p = Patient(name="Ann Lee", preferred_name="Ann")
        db.add(p)
        db.flush()
        pid = p.id
    conv = Conversation(store, pid, triage, no_model, GenerationOptions(), knowledge=knowledge)
    reply = " ".join(conv.reply("How do I fix a flat tyre on my bicycle?"))
    assert "don't have reviewed information" in reply
    assert conv.last is not None and conv.last.source == NO_INFO_REPLY_ID
    with store.session() as db:
        turns = db.scalars(select(Turn).where(Turn.session_id == conv.session_id)).all()
        assert [t.source for t in turns if t.role == "coach"] == [NO_INFO_REPLY_ID]


def test_a_proposal_with_no_passage_gets_a_coach_reply_not_the_no_information_reply(
        home: Settings, triage, knowledge: Knowledge) -> None:  # type: ignore[no-untyped-def]
    model = ScriptedModel(["Ten minutes with the dog sounds like a good start. ", "Which evening suits you?"])
    conv = _conversation(home, triage, knowledge, model)
    reply = list(conv.reply("I haven't even started yet. Maybe ten minutes round the block with the dog?"))
    assert conv.last is not None and conv.last.source != NO_INFO_REPLY_ID
    assert reply[-1] == "Which evening suits you?"


def test_a_report_answered_only_with_unasked_advice_gets_a_reflection(
        home: Settings, triage, knowledge: Knowledge) -> None:  # type: ignore[no-untyped-def]
    from coach.moves import FALLBACK, Move

    model = ScriptedModel(["It might be helpful to take a warm bath. ", "You could try hot packs."])
    conv = _conversation(home, triage, knowledge, model)
    reply = list(conv.reply("My knees ache after a bit, and this cold weather is killing me."))
    assert reply == [FALLBACK[Move.REFLECT]]
    assert conv.last is not None and len(conv.last.dropped) == 2 and conv.last.move == "reflect"


def test_a_short_follow_up_is_searched_with_the_turn_before_it(
        home: Settings, triage, knowledge: Knowledge) -> None:  # type: ignore[no-untyped-def]
    model = ScriptedModel(["A standard drink is smaller than most people think [1]. "] * 2)
    conv = _conversation(home, triage, knowledge, model)
    list(conv.reply("What actually counts as one drink of alcohol? Is a pint one?"))
    assert knowledge.ground("And how many's a bloke meant to stick to in a day?").passages == []
    list(conv.reply("And how many's a bloke meant to stick to in a day?"))
    assert conv.last is not None and conv.last.source != NO_INFO_REPLY_ID
    assert "[1]" in model.seen[-1][-2].content


def test_grounded_turn_carries_passages_and_stores_citations(
        home: Settings, triage, knowledge: Knowledge) -> None:  # type: ignore[no-untyped-def]
    model = ScriptedModel(["Good question, Ann. ", "Sit with your back supported and your feet flat ",
                           "on the floor [1]. ", "You should also take 12,000 steps a day [2]. ",
                           "Would you like to try that this week?"])
    conv = _conversation(home, triage, knowledge, model)
    reply = list(conv.reply("How should I sit when I check my blood pressure at home?"))
    prompt = model.seen[0]
    assert prompt[-2].role == "system" and "[1]" in prompt[-2].content
    assert prompt[-1].content.startswith("How should I sit")  # the patient's words stay as said
    assert any("[" in s for s in reply)
    assert not any("12,000" in s for s in reply)  # unsupported figure dropped
    assert conv.last is not None and conv.last.dropped and conv.last.sources
    assert conv.last.sources[0]["article"] == "bp-home-measuring"
    store = conv.store
    with store.session() as db:
        coach_turn = db.get(Turn, conv.last.coach_turn_id)
        assert coach_turn is not None and coach_turn.meta["citations"][0]["article"] == "bp-home-measuring"


def test_chat_without_a_question_gets_no_passages(home: Settings, triage, knowledge: Knowledge) -> None:  # type: ignore[no-untyped-def]
    model = ScriptedModel(["That's lovely to hear, Ann. ", "What made it work today?"])
    conv = _conversation(home, triage, knowledge, model)
    reply = list(conv.reply("I walked to the shops and back this morning"))
    assert reply == ["That's lovely to hear, Ann.", "What made it work today?"]
    assert not any("Reviewed information" in m.content for m in model.seen[0][1:])
    assert "reflect back what they told you" in model.seen[0][-2].content  # the turn's move


def test_prompt_shows_the_sentences_closest_to_the_question(knowledge: Knowledge) -> None:
    grounding = knowledge.ground("How long should I rest before I measure my blood pressure?")
    assert grounding.passages and len(grounding.excerpts) == len(grounding.passages)
    for excerpt, p in zip(grounding.excerpts, grounding.passages, strict=True):
        assert len(excerpt.split()) <= 40 + 25  # one long sentence may run over
        assert len(excerpt) <= len(p.text)
    assert "minutes" in grounding.prompt_message()


def test_word_error_rate() -> None:
    from coach.bench.voice import wer

    assert wer("How much salt should I eat?", "how much salt should i eat") == (0, 6)
    assert wer("I forgot my metformin", "I forgot my net form in") == (3, 4)


def test_a_figure_question_is_answered_first_with_the_reviewed_sentence(
        home: Settings, triage, knowledge: Knowledge) -> None:  # type: ignore[no-untyped-def]
    # The 1.5B model, given the right passage, once said "at least hours of sleep".
    model = ScriptedModel(["A normal adult is supposed to get at least hours of sleep each night [1]. ",
                           "How have your nights been lately?"])
    conv = _conversation(home, triage, knowledge, model)
    reply = list(conv.reply("How many hours of sleep is a normal adult actually supposed to get?"))
    assert "7" in reply[0] and "[" in reply[0]
    assert reply[-1] == "How have your nights been lately?"
    assert all("[" in sentence for sentence in reply[:-1])  # the reviewed answer, cited
    assert conv.last is not None and any("repeats" in d for d in conv.last.dropped)
    assert "Do not say it again" in model.seen[0][-2].content


def test_an_echo_of_the_reviewed_answer_is_recognised() -> None:
    from coach.grounding import repeats

    assert repeats("Most adults need seven or more hours of sleep [1].",
                   "Most adults need 7 or more hours of sleep each night [1].")
    assert not repeats("How have your nights been?", "Most adults need 7 or more hours of sleep.")


def test_a_list_answers_with_its_items_said_as_a_sentence(knowledge: Knowledge) -> None:
    # "Common high-sodium foods:" and its items: neither a fragment nor the lead-in alone.
    question = "Which foods have the most hidden salt? It's mostly ready meals and tins."
    grounding = knowledge.ground(question, ["hypertension"])
    lead = knowledge.lead(grounding, question)
    assert lead is not None
    assert "include" in lead.sentences[0] and "crisps" in lead.sentences[0]
    assert ":" not in lead.text and all(s.endswith(("].", "]!")) for s in lead.sentences)


def test_a_question_nothing_answers_closely_gets_no_lead(knowledge: Knowledge) -> None:
    question = "Do the patches really make any difference or is it all down to willpower?"
    grounding = knowledge.ground(question, ["hypertension"])
    lead = knowledge.lead(grounding, question)
    assert lead is None or "quit date" not in lead.text
