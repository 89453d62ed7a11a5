"""Triage reads a message with what it answers: the setting, the rules that depend on it,
and the data that trains and measures it."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from coach.legacy.protocol import PROMPTS
from coach.safety import Category, Triage
from coach.safety.calibration import Calibration
from coach.safety.dataset import SPLITS, is_sealed, load_examples, load_split, load_train
from coach.safety.prediction import Prediction
from coach.safety.rules import match_rules
from coach.safety.setting import Setting


def test_a_setting_is_parsed_from_the_dataset_context() -> None:
    assert Setting.parse("memory:8") == Setting(memory=8)
    assert Setting.parse("memory:8").in_memory
    assert Setting.parse("How did the walks go?") == Setting(question="How did the walks go?")
    assert Setting.parse("") == Setting()
    assert not Setting.parse("").in_memory
    assert Setting(memory=3).text() == "memory session, legacy question 3"
    assert Setting(question="Any pain?").text() == "coach: Any pain?"
    assert Setting().text() == ""


@pytest.mark.parametrize("text", [
    "I have said my goodbyes to most of the family now",
    "I'm giving away my things to the grandchildren, the clock goes to Sam",
    "I won't be around much longer, so I want them to have the photographs",
    "I want to die at home, in my own bed, with the dog on my feet",
    "please don't put me in a home at the end. i want to die here, in my own bed",
])
def test_farewell_rules_do_not_decide_in_a_memory_session(text: str) -> None:
    rule = match_rules(text)
    assert rule is not None and rule.category is Category.CRISIS
    assert match_rules(text, memory=True) is None


def test_abuse_told_as_past_is_left_to_the_classifier_only_in_a_memory_session() -> None:
    story = "i was married before, to a man who beat me. i left him in 1979 with the two eldest"
    rule = match_rules(story)
    assert rule is not None and rule.subtype == "abuse"
    assert match_rules(story, memory=True) is None
    now = match_rules("my son beats me when he's been drinking", memory=True)
    assert now is not None and now.subtype == "abuse"


@pytest.mark.parametrize("text", [
    "I want to end my life before it gets worse",
    "I've been saving up my tablets so I can do it when I choose",
    "my son hits me when he's been drinking",
    "my chest is crushing and it's going down my arm",
])
def test_a_stated_crisis_or_emergency_decides_in_every_setting(text: str) -> None:
    coaching, memory = match_rules(text), match_rules(text, memory=True)
    assert coaching is not None and memory is not None
    assert coaching.category is memory.category and coaching.category.flags_clinician


def test_every_split_loads_and_names_only_real_memory_questions() -> None:
    numbers = {p.number for p in PROMPTS}
    for name, path in SPLITS.items():
        examples = load_split(path)
        assert examples, name
        for e in examples:
            setting = Setting.parse(e.context)
            assert not e.context.startswith("memory:") or setting.memory in numbers, (name, e.context)


def test_the_new_sealed_splits_are_the_size_the_issue_asks_for() -> None:
    memory = load_examples(SPLITS["memory"])
    assert len(memory) >= 200
    assert {Setting.parse(e.context).memory for e in memory} == {p.number for p in PROMPTS}
    assert any(e.category is Category.CRISIS for e in memory)
    everyday = load_examples(SPLITS["everyday"])
    assert sum(e.category is Category.NONE for e in everyday) >= 300
    assert sum(e.category.flags_clinician for e in everyday) >= 50
    assert all(is_sealed(n) for n in ("memory", "everyday")) and not is_sealed("dev-context")


def test_no_sealed_message_is_in_the_training_files() -> None:
    train = {e.text.strip().lower() for e in load_train()}
    for name, path in SPLITS.items():
        if is_sealed(name) and name in ("memory", "everyday"):
            leaked = [e.text for e in load_examples(path) if e.text.strip().lower() in train]
            assert not leaked, name


class FixedScorer:
    """Stands in for the classifiers: one crisis score for every message, for the decision test."""

    def __init__(self, crisis: float) -> None:
        self.crisis = crisis
        self.seen: list[Setting] = []

    def predict(self, texts: Sequence[str], settings: Sequence[Setting]) -> list[Prediction]:
        self.seen += settings
        scores = {Category.CRISIS: self.crisis, Category.EMERGENCY: 0.0,
                  Category.OUT_OF_SCOPE: 0.0, Category.NONE: 1.0 - self.crisis}
        return [Prediction(scores, "a reviewed crisis example", Category.CRISIS, 0.9) for _ in texts]


CAL = Calibration(
    "test", sure={Category.CRISIS: 0.4, Category.EMERGENCY: 0.4, Category.OUT_OF_SCOPE: 0.5},
    check_in={Category.CRISIS: 0.1, Category.EMERGENCY: 0.1},
    sentence={c: 0.9 for c in (Category.CRISIS, Category.EMERGENCY, Category.OUT_OF_SCOPE)},
    memory_sure={Category.CRISIS: 0.7, Category.EMERGENCY: 0.7},
    memory_check_in={Category.CRISIS: 0.5, Category.EMERGENCY: 0.5},
)


@pytest.mark.parametrize(("score", "setting", "category", "check_in"), [
    (0.45, Setting(), Category.CRISIS, False),
    (0.45, Setting(memory=5), Category.NONE, False),
    (0.6, Setting(memory=5), Category.CRISIS, True),
    (0.8, Setting(memory=5), Category.CRISIS, False),
    (0.2, Setting(), Category.CRISIS, True),
    (0.05, Setting(), Category.NONE, False),
])
def test_each_setting_has_its_own_thresholds(score: float, setting: Setting, category: Category,
                                             check_in: bool) -> None:
    scorer = FixedScorer(score)
    result = Triage(scorer, CAL)("I have been thinking about the garden", setting)
    assert (result.category, result.check_in) == (category, check_in)
    assert scorer.seen == [setting]


def test_a_farewell_in_a_memory_session_is_left_to_the_classifier() -> None:
    triage = Triage(FixedScorer(0.02), CAL)
    text = "I have said my goodbyes to most of the family now, and it feels like a weight off"
    assert triage(text).category is Category.CRISIS
    assert triage(text, Setting(memory=5)).category is Category.NONE


def test_every_piece_of_a_long_message_is_read_in_its_setting() -> None:
    scorer = FixedScorer(0.0)
    Triage(scorer, CAL).many(["I walked to the park. It was sunny and warm. Then I had tea with Jo."],
                             [Setting(memory=1)])
    assert len(scorer.seen) == 4 and set(scorer.seen) == {Setting(memory=1)}


def test_one_classifier_alone_sure_of_a_crisis_asks_instead_of_the_full_reply() -> None:
    from dataclasses import replace

    from coach.safety.ensemble import MeanScorer

    cal = replace(CAL, agree=0.15)
    text = "Got the scale in the bathroom now and I've stepped on it every morning"
    alone = Triage(MeanScorer(FixedScorer(0.92), FixedScorer(0.02)), cal)(text)
    assert (alone.category, alone.check_in) == (Category.CRISIS, True)
    assert "disagree" in alone.reason
    both = Triage(MeanScorer(FixedScorer(0.92), FixedScorer(0.5)), cal)(text)
    assert (both.category, both.check_in) == (Category.CRISIS, False)
    # A rule still decides alone: the agreement is asked of classifiers only.
    ruled = Triage(MeanScorer(FixedScorer(0.92), FixedScorer(0.02)), cal)("I want to kill myself")
    assert (ruled.category, ruled.check_in) == (Category.CRISIS, False)
