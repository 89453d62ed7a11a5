"""The exceptions that mean "the user can fix this", each with a message that says how."""

from __future__ import annotations

from avatar.voice import VoiceError
from coach.conversation import ConversationError
from coach.goals import GoalError
from coach.llm.base import LLMError
from coach.notes.fhir import FhirError
from coach.notes.make import NoteError
from coach.provision import ProvisionError
from coach.safety.triage import TriageInputError
from coach.store.accounts import AccountError
from coach.store.db import StoreError
from coach.voice.asr import TranscriptionError
from coach.voice.audio import AudioError
from knowledge.article import ArticleSetError
from knowledge.embeddings import EmbedderError
from knowledge.index import KnowledgeIndexError
from knowledge.retriever import QueryError

USER_ERRORS: tuple[type[Exception], ...] = (
    AccountError,
    ArticleSetError,
    AudioError,
    ConversationError,
    EmbedderError,
    FhirError,
    GoalError,
    LLMError,
    NoteError,
    ProvisionError,
    StoreError,
    KnowledgeIndexError,
    QueryError,
    TranscriptionError,
    TriageInputError,
    VoiceError,
)
