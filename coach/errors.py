"""The exceptions that mean "the user can fix this", each with a message that says how."""

from __future__ import annotations

from avatar.gltf import AvatarFileError
from avatar.render import RenderError
from avatar.video import VideoError
from avatar.voice import VoiceError
from coach.conversation import ConversationError
from coach.goals import GoalError
from coach.legacy.consent import ConsentError
from coach.legacy.document import DocumentError
from coach.legacy.export import ExportError
from coach.legacy.interview import InterviewError
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
    AvatarFileError,
    ConsentError,
    ConversationError,
    DocumentError,
    EmbedderError,
    ExportError,
    FhirError,
    GoalError,
    InterviewError,
    LLMError,
    NoteError,
    ProvisionError,
    StoreError,
    KnowledgeIndexError,
    QueryError,
    RenderError,
    TranscriptionError,
    TriageInputError,
    VideoError,
    VoiceError,
)
