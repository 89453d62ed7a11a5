"""Speech to text with faster-whisper, primed with the patient's own words.

Whisper does not know "metformin" or "amlodipine" and writes "net form in"; passing the
patient's medicines and conditions as the initial prompt and hotwords keeps them.
Silero VAD (inside faster-whisper) skips silence; its minimum silence is long enough
that a slow speaker's pause is not taken for the end of the question.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from coach.voice.audio import SAMPLE_RATE

MIN_SILENCE_MS = 1200
"""Pauses shorter than this stay inside one utterance (older speakers pause mid-sentence)."""


class TranscriptionError(Exception):
    pass


def whisper_language(code: str | None) -> str | None:
    """A profile's language ("en", "en-GB", "pt_BR") as Whisper's code, or None if Whisper lacks it."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    base = (code or "").replace("_", "-").split("-")[0].strip().lower()
    return base if base in _LANGUAGE_CODES else None


@dataclass(frozen=True)
class Transcript:
    text: str
    """The words, joined; empty when nothing was said."""
    language: str
    audio_seconds: float
    seconds: float
    """Wall time spent transcribing."""


class Transcriber:
    def __init__(self, model_dir: Path, threads: int = 0) -> None:
        from faster_whisper import WhisperModel

        try:
            self._model = WhisperModel(str(model_dir), device="cpu", compute_type="int8",
                                       cpu_threads=threads)
        except Exception as exc:
            raise TranscriptionError(f"cannot load the speech model in {model_dir}: {exc}; "
                                     "run `coach models --verify`") from exc
        self.name = model_dir.name
        self.english_only = model_dir.name.endswith(".en")
        self._lock = threading.Lock()

    def transcribe(self, audio: NDArray[np.float32], vocabulary: Sequence[str] = (),
                   language: str | None = None) -> Transcript:
        """`language` is the patient's (an ISO 639-1 code from their profile), or None to detect it.

        Detection is not free: faster-whisper runs the encoder over a 30-second window
        once to pick the language and again to transcribe, so for the multilingual model
        a known language nearly halves the time to recognise a short phrase (see the
        README's voice figures), and a patient's language is on their profile.
        """
        started = time.perf_counter()
        words = [w for w in vocabulary if w.strip()]
        prompt = ("A patient talks with a health coach. " + ", ".join(words) + ".") if words else None
        try:
            with self._lock:
                segments, info = self._model.transcribe(
                    audio, language="en" if self.english_only else whisper_language(language),
                    beam_size=5,
                    vad_filter=True, vad_parameters={"min_silence_duration_ms": MIN_SILENCE_MS},
                    initial_prompt=prompt, hotwords=" ".join(words) or None,
                    condition_on_previous_text=False,
                )
                text = " ".join(s.text.strip() for s in segments).strip()
        except Exception as exc:
            raise TranscriptionError(f"speech recognition failed: {exc}") from exc
        return Transcript(text, info.language, len(audio) / SAMPLE_RATE, time.perf_counter() - started)
