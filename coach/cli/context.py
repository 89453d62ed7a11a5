"""What every command needs, built once per invocation from the settings."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avatar.voice import Voice
from coach.config import Settings, load_settings
from coach.grounding import Knowledge, open_knowledge
from coach.llm import GenerationOptions, LanguageModel, open_language_model
from coach.provision import require
from coach.safety import Triage
from coach.store import Store, open_store
from coach.voice.asr import Transcriber, TranscriptionError

ASR_MODELS = ("whisper-base", "whisper-tiny.en")
TTS_VOICE = "piper-joe"

TRIAGE_EMBEDDER = "mpnet-base"
"""The linear classifier's embedder: chosen over MiniLM on the dev split (see notebooks)."""
TRIAGE_BASE = "minilm-l6"
"""What the default triage classifier is fine-tuned from: the only bundled encoder small
enough to fine-tune on 2 CPU cores in minutes (mpnet-base took five times as long)."""
TRIAGE_CLASSIFIERS = ("ensemble", "finetuned", "linear")


def triage_cache_dir(settings: Settings) -> Path:
    """The fitted classifier is derived from bundled data only, so it lives beside the models."""
    return settings.models_dir / "derived"


def prepare_triage(settings: Settings, progress: Callable[[int, int], None] | None = None) -> Path:
    """The fine-tuned triage weights for the current training files, trained if missing."""
    from coach.safety.finetuned import train, weights_dir

    weights = weights_dir(triage_cache_dir(settings))
    if not (weights / "model.safetensors").is_file():
        train(require(settings.models_dir, TRIAGE_BASE), weights, progress=progress)
    return weights


def open_triage(settings: Settings, classifier: str = "ensemble") -> Triage:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if classifier == "linear":
        return Triage.linear(require(settings.models_dir, TRIAGE_EMBEDDER), triage_cache_dir(settings))
    weights = prepare_triage(settings, _training_progress)
    if classifier == "finetuned":
        return Triage.finetuned(weights, require(settings.models_dir, TRIAGE_BASE))
    return Triage.ensemble(weights, require(settings.models_dir, TRIAGE_BASE),
                           require(settings.models_dir, TRIAGE_EMBEDDER), triage_cache_dir(settings))


def _training_progress(done: int, total: int) -> None:
    """A line now and then on stderr: training happens here only when `coach models` was skipped."""
    if done == 1 or done % 50 == 0 or done == total:
        print(f"training the safety triage classifier (once): step {done} of {total}",
              file=sys.stderr, flush=True)


@dataclass
class Context:
    settings: Settings
    config_file: Path | None = None
    _store: Store | None = None
    _triage: Triage | None = None
    _knowledge: Knowledge | None = None

    def with_llm(self, **overrides: Any) -> Context:
        """A context whose language-model settings take CLI flags into account."""
        if not any(v is not None for v in overrides.values()):
            return self
        return Context(load_settings(self.config_file, **overrides), self.config_file,
                       self._store, self._triage, self._knowledge)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.settings.db_path, self.settings.key_path)
        return self._store

    @property
    def existing_store(self) -> Store:
        """The store for commands that only read or check it: these never create one.

        `coach audit verify` on a fresh install reporting "intact, 0 entries" over a store it
        just made would hide a missing or moved database; saying there is none does not.
        """
        if self._store is None:
            self._store = open_store(self.settings.db_path, self.settings.key_path, create=False)
        return self._store

    @property
    def triage(self) -> Triage:
        if self._triage is None:
            self._triage = open_triage(self.settings)
        return self._triage

    @property
    def knowledge(self) -> Knowledge:
        """The reviewed articles, indexed on first use (and again whenever they change)."""
        if self._knowledge is None:
            self._knowledge = open_knowledge(self.settings)
        return self._knowledge

    def open_transcriber(self, name: str | None = None) -> Transcriber:
        """Speech recognition with `name` (a bundled whisper model) or the configured one."""
        name = name or self.settings.asr_model
        if name not in ASR_MODELS:
            raise TranscriptionError(f"the speech model must be one of {', '.join(ASR_MODELS)}, not {name!r}")
        return Transcriber(require(self.settings.models_dir, name))

    def open_voice(self) -> Voice:
        return Voice(require(self.settings.models_dir, TTS_VOICE), self.settings.tts_rate)

    def write_notes_later(self, patient_id: int) -> Path | None:
        """Start the detached writer of the clinician's notes (see `coach.notes.after_session`)."""
        from coach.notes.after_session import write_notes_later

        return write_notes_later(self.settings, patient_id, self.config_file)

    def open_model(self) -> LanguageModel:
        return open_language_model(self.settings)

    @property
    def generation(self) -> GenerationOptions:
        return GenerationOptions(max_tokens=self.settings.llm_max_tokens,
                                 temperature=self.settings.llm_temperature)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
