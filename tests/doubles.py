"""Test doubles for unit tests of the conversation logic only (never passed off as a model)."""

from __future__ import annotations

from collections.abc import Generator, Sequence

from coach.llm import GenerationOptions, Message, TurnStats


class ScriptedModel:
    """Stands in for the language model inside a unit test of something else."""

    name = "scripted"

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces
        self.seen: list[Sequence[Message]] = []
        self.last_stats = TurnStats()

    def stream(self, messages: Sequence[Message], options: GenerationOptions) -> Generator[str, None, None]:
        self.seen.append(list(messages))
        yield from self.pieces

    def prefill(self, messages: Sequence[Message]) -> None:
        self.prefilled = list(messages)

    def close(self) -> None:
        pass
