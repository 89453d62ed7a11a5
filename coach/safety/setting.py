"""What a patient's message answers: triage reads the message together with it.

"My ring goes to Ellie when I'm gone" is a bequest when it answers a legacy question and
a warning sign out of the blue; "no" means nothing alone and much after "are you safe?".
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    """What a message answers. Empty for a message with no known question before it."""

    question: str = ""
    memory: int = 0
    """The memory-session question (1-9) being answered, 0 outside a memory session."""

    @property
    def in_memory(self) -> bool:
        return self.memory > 0

    @classmethod
    def parse(cls, context: str) -> Setting:
        """The dataset's `context` field: "memory:N" or the coach's question, word for word."""
        if context.startswith("memory:"):
            number = context.removeprefix("memory:")
            return cls(memory=int(number) if number.isdigit() else 0)
        return cls(question=context.strip())

    def text(self) -> str:
        """The first half of the classifier's input pair."""
        if self.memory:
            # The number, not the wording: the nine questions are fixed, and this keeps the
            # safety package free of the legacy package (which imports it).
            return f"memory session, legacy question {self.memory}"
        return f"coach: {self.question[-300:]}" if self.question else ""


COACHING = Setting()


def last_question(said: str) -> str:
    """The last question in what the coach said, which is what the patient's next message
    answers; empty when it asked none (a statement gives no context worth reading)."""
    sentences = re.findall(r"[^.!?]*\?", said)
    return sentences[-1].strip() if sentences else ""
