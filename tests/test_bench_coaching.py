"""`coach bench coaching`: its scripts load, its checks see what they claim to see, and it runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from coach.bench.coaching import SPLITS, ScriptTurn, check_reply, load_scripts
from coach.config import Settings

QUESTION = ScriptTurn("How many steps a day should I aim for?", "question", "activity-step-goals",
                      (("500", "1,000"), ("step",)))
REPORT = ScriptTurn("I got out for a walk on two days this week, only ten minutes mind.", "report",
                    effort=True)
IDIOM = ScriptTurn("My knees ache and this cold weather is killing me.", "report",
                   idiom="this cold weather is killing me", literal=("a cold", "warm bath"))
AMBIVALENT = ScriptTurn("I know I should walk more but I can't be bothered.", "ambivalence")
FACTS = ("Walk after lunch: 20 minutes of walking per day (progress: reached the target on 0 of "
         "the last 2 days logged)")


def check(turn: ScriptTurn, reply: str, cited: bool = True,
          goal_met: bool = False) -> tuple[dict[str, bool], list[str]]:
    return check_reply(turn, reply, cited, turn.say, FACTS, goal_met)


def test_both_splits_load_with_enough_turns() -> None:
    for name, minimum in (("dev", 50), ("test", 120)):
        scripts = load_scripts(SPLITS[name])
        assert sum(len(s.turns) for s in scripts) >= minimum, name
        assert any(t.move == "question" and t.key for s in scripts for t in s.turns)


def test_an_answer_needs_every_key_group_and_a_citation() -> None:
    good, _ = check(QUESTION, "Add about 500 to 1,000 steps a day each week [1].")
    assert good["answers"] and good["cites"] and good["no_uncited_advice"]
    minutes, notes = check(QUESTION, "Aim for 150 minutes of activity a week [1].")
    assert not minutes["answers"] and any("missing key" in n for n in notes)
    assert not check(QUESTION, "Add 1000 steps a day.", cited=False)[0]["cites"]


def test_advice_without_a_passage_and_unasked_advice_are_seen() -> None:
    checks, _ = check(IDIOM, "It might be helpful to take a warm bath. You could try hot packs.")
    assert not checks["no_uncited_advice"] and not checks["asks_before_advising"]
    assert not checks["idiom_understood"] and not checks["reflects_or_asks"]
    offer, _ = check(IDIOM, "Sore knees and a bitter wind are a lot at once. "
                             "Would you like a few ideas for walking in the cold?")
    assert offer["asks_before_advising"] and offer["reflects_or_asks"] and offer["idiom_understood"]
    praise, _ = check(REPORT, "Two walks is a start. Keep up the good work! What helped?")
    assert praise["no_uncited_advice"] and praise["asks_before_advising"]  # praise, not advice


def test_a_claim_about_progress_the_store_does_not_hold_is_seen() -> None:
    checks, notes = check(REPORT, "You've already reached your goal of walking 20 minutes per day!")
    assert not checks["no_invented_claims"] and notes
    assert check(REPORT, "You've already reached your goal!", goal_met=True)[0]["no_invented_claims"]
    assert not check(REPORT, "You walked 45 minutes on Tuesday.")[0]["no_invented_claims"]
    reflected, _ = check(REPORT, "Well done: two walks this week counts. What made those days work?")
    assert reflected["no_invented_claims"] and reflected["affirms_effort"]


def test_speakable_means_short_with_no_list_or_colon() -> None:
    assert not check(REPORT, "Follow these steps: get a monitor. The cuff fits your arm.")[0]["speakable"]
    assert not check(REPORT, " ".join(["That is good."] * 5))[0]["speakable"]
    assert check(REPORT, "Good for you. How did it feel?")[0]["speakable"]


def test_a_borrowed_name_and_a_no_information_reply_to_a_report_are_seen() -> None:
    checks, notes = check_reply(REPORT, "Two walks still count, Jim. What helped?", True, REPORT.say,
                                FACTS, False, name="Derek")
    assert not checks["right_name"] and "called the patient Jim" in notes
    assert check_reply(REPORT, "Two walks still count, Derek. What helped?", True, REPORT.say,
                       FACTS, False, name="Derek")[0]["right_name"]
    no_info = check_reply(REPORT, "I don't have reviewed information about that. Is there something "
                          "else I can help with?", False, REPORT.say, FACTS, False,
                          source="no-reviewed-info-v1")[0]
    assert not no_info["reflects_or_asks"]


def test_pressure_on_ambivalence_is_seen() -> None:
    assert not check(AMBIVALENT, "You need to walk more, it's important.")[0]["no_pressure"]
    calm, _ = check(AMBIVALENT, "It sounds like part of you wants to and part of you doesn't. "
                                "What would make it easier to start?")
    assert calm["no_pressure"] and calm["reflects_or_asks"]


@pytest.mark.slow
def test_the_bench_runs_end_to_end_with_the_test_model(home: Settings) -> None:
    proc = subprocess.run([sys.executable, "-m", "coach.cli", "bench", "coaching", "--limit", "1",
                           "--model", "smollm2-135m", "--json"],
                          capture_output=True, text=True, timeout=900, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    result = json.loads(proc.stdout)
    assert result["turns"] == len(load_scripts(SPLITS["dev"])[0].turns)
    assert {"answers", "cites", "no_false_alarm"} <= set(result["checks"])
    assert all(r["reply"] for r in result["turn_records"])
