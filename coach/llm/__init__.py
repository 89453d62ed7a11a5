"""Language-model backends behind one small streaming interface (see `base.LanguageModel`)."""

from coach.llm.base import GenerationOptions, LanguageModel, LLMError, Message, TurnStats
from coach.llm.factory import open_language_model

__all__ = [
    "GenerationOptions",
    "LLMError",
    "LanguageModel",
    "Message",
    "TurnStats",
    "open_language_model",
]
