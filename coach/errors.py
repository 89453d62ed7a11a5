"""The exceptions that mean "the user can fix this", each with a message that says how."""

from __future__ import annotations

from coach.conversation import ConversationError
from coach.goals import GoalError
from coach.llm.base import LLMError
from coach.provision import ProvisionError
from coach.safety.triage import TriageInputError
from coach.store.db import StoreError
from knowledge.embeddings import EmbedderError

USER_ERRORS: tuple[type[Exception], ...] = (
    ConversationError,
    EmbedderError,
    GoalError,
    LLMError,
    ProvisionError,
    StoreError,
    TriageInputError,
)
