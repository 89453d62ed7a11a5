"""The move a turn calls for, chosen before the model writes (coach.moves)."""

from __future__ import annotations

import pytest

from coach.moves import FALLBACK, GUIDANCE, Move, decide


@pytest.mark.parametrize(("text", "asking", "passages", "move"), [
    ("How many steps a day should I aim for?", True, True, Move.ANSWER),
    ("I know I should walk more but honestly I can't be bothered half the time.", False, False,
     Move.AMBIVALENCE),
    ("The pub's where I see my mates. I want to cut down but I don't fancy sitting at home.", False,
     False, Move.AMBIVALENCE),
    ("Might try a soda water between pints on Friday.", False, False, Move.PLAN),
    ("I'll try charging my phone in the kitchen from tonight.", False, False, Move.PLAN),
    ("Maybe I could try one simple meal at home a week?", True, False, Move.PLAN),
    ("Managed one dry night this week, Tuesday.", False, False, Move.REFLECT),
    ("Honestly the numbers do my head in.", False, False, Move.REFLECT),
])
def test_the_move_follows_the_message(text: str, asking: bool, passages: bool, move: Move) -> None:
    assert decide(text, asking, passages) is move


def test_every_move_has_a_short_instruction_that_never_invites_unasked_advice() -> None:
    for move in Move:
        assert len(GUIDANCE[move].split()) <= 35
    for move in (Move.REFLECT, Move.AMBIVALENCE, Move.PLAN):
        assert "No advice" in GUIDANCE[move] or "No tips" in GUIDANCE[move]


def test_every_fallback_reflects_and_asks() -> None:
    for move in (Move.REFLECT, Move.AMBIVALENCE, Move.PLAN):
        assert FALLBACK[move].endswith("?")
