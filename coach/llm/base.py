"""What every language-model backend offers the coach: chat messages in, text pieces out.

Backends differ in where the model runs (in-process llama.cpp, transformers on a
GPU, a remote OpenAI-compatible server); the coach only needs `stream`, so adding
a backend is a new file, not a new branch in the conversation code.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Role = Literal["system", "user", "assistant"]


class LLMError(Exception):
    """The model could not be loaded or reached; the message says what to check."""


@dataclass(frozen=True)
class Message:
    """One chat message, in the role vocabulary all chat templates share."""

    role: Role
    content: str


@dataclass(frozen=True)
class GenerationOptions:
    max_tokens: int = 220
    temperature: float = 0.6
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass
class TurnStats:
    """What the last `stream` call cost, so benchmarks can show the prefix cache at work."""

    prompt_tokens: int = 0
    """Tokens in the whole prompt."""
    reused_tokens: int = 0
    """Prompt tokens whose KV cache was reused instead of recomputed (0 if unknown)."""
    generated_tokens: int = 0


class LanguageModel(Protocol):
    """A chat model that streams its reply piece by piece."""

    name: str
    last_stats: TurnStats

    def stream(self, messages: Sequence[Message], options: GenerationOptions) -> Generator[str, None, None]:
        """Yield the reply as it is generated; the first piece should come as early as possible.

        Closing the generator early must stop generation (the reply was cut short).
        """
        ...

    def prefill(self, messages: Sequence[Message]) -> None:
        """Compute the KV cache of a prompt prefix ahead of need (a no-op where not possible)."""
        ...

    def close(self) -> None:
        """Free the model's memory (or connection)."""
        ...
