"""Speech out: piper speaks a sentence and says exactly when each phoneme sounds.

The avatar's mouth is driven by these timings, so they come from the same piper call
as the audio (durations vary run to run) and are placed on one clock with it: a
`SpokenSentence` starts where the previous one ended, and its phoneme times add up to
its audio exactly.
"""

from __future__ import annotations

import threading
import wave
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avatar.spoken_text import speakable

DEFAULT_RATE = 0.9
"""Speaking rate relative to the voice's own (about 200 words a minute, fast for older
listeners); 0.9 gives roughly 180."""


class VoiceError(Exception):
    """The voice cannot load or speak; the message says what to do."""


@dataclass(frozen=True)
class TimedPhoneme:
    phoneme: str
    """IPA symbol as piper produced it (stress marks, pauses and spaces included)."""
    start: float
    """Seconds from the start of the utterance (not of the sentence)."""
    end: float


@dataclass
class SpokenSentence:
    text: str
    """The sentence as written (what the patient sees)."""
    spoken: str
    """What the voice was given (figures and abbreviations in words)."""
    audio: NDArray[np.float32]
    """Mono samples in [-1, 1]."""
    sample_rate: int
    start: float
    """Seconds from the start of the utterance at which this sentence begins."""
    phonemes: list[TimedPhoneme] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate

    @property
    def end(self) -> float:
        return self.start + self.duration

    def timeline(self) -> dict[str, Any]:
        return {"text": self.text, "spoken": self.spoken, "start": round(self.start, 4),
                "end": round(self.end, 4),
                "phonemes": [{"p": p.phoneme, "start": round(p.start, 4), "end": round(p.end, 4)}
                             for p in self.phonemes]}


class Voice:
    """A loaded piper voice. `speak` is thread-safe (one synthesis at a time)."""

    def __init__(self, model: Path, rate: float = DEFAULT_RATE) -> None:
        if not model.is_file():
            raise VoiceError(f"no voice model at {model}; run `coach models piper-joe`")
        if not 0.5 <= rate <= 2.0:
            raise VoiceError(f"speaking rate must be between 0.5 and 2.0, not {rate}")
        from piper import PiperVoice
        from piper.config import SynthesisConfig

        try:
            self._voice = PiperVoice.load(model, include_alignments=True)
        except Exception as exc:
            raise VoiceError(f"cannot load the voice {model.name}: {exc}; "
                             "run `coach models --verify`") from exc
        self.model_path = model
        self.rate = rate
        self._config = SynthesisConfig(length_scale=1.0 / rate)
        self.sample_rate = int(self._voice.config.sample_rate)
        self._lock = threading.Lock()

    def speak(self, sentence: str, start: float = 0.0) -> SpokenSentence:
        """Synthesise one sentence; its timeline begins at `start` seconds."""
        spoken = speakable(sentence)
        pieces: list[NDArray[np.float32]] = []
        phonemes: list[TimedPhoneme] = []
        clock = start
        if spoken.strip():
            with self._lock:
                chunks = list(self._voice.synthesize(spoken, self._config, include_alignments=True))
            for chunk in chunks:
                if chunk.phoneme_alignments is None:
                    raise VoiceError("this voice gives no phoneme timings; run `coach models piper-joe` "
                                     "to re-create the patched voice")
                samples = np.asarray(chunk.audio_float_array, dtype=np.float32).reshape(-1)
                position = 0
                for align in chunk.phoneme_alignments:
                    begin = clock + position / self.sample_rate
                    position += int(align.num_samples)
                    phonemes.append(TimedPhoneme(align.phoneme, begin, clock + position / self.sample_rate))
                if position != len(samples):  # piper's counts cover its audio; keep the clock honest
                    samples = _fit(samples, position)
                pieces.append(samples)
                clock += position / self.sample_rate
        audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        return SpokenSentence(sentence, spoken, audio, self.sample_rate, start, phonemes)

    def speak_all(self, sentences: Iterable[str], start: float = 0.0) -> Iterator[SpokenSentence]:
        """Each sentence as soon as it is synthesised, on one continuous clock."""
        clock = start
        for sentence in sentences:
            spoken = self.speak(sentence, clock)
            clock = spoken.end
            yield spoken


def _fit(samples: NDArray[np.float32], length: int) -> NDArray[np.float32]:
    if len(samples) >= length:
        return samples[:length]
    return np.concatenate([samples, np.zeros(length - len(samples), dtype=np.float32)])


def write_wav(path: Path, sentences: Iterable[SpokenSentence], sample_rate: int) -> float:
    """Write 16-bit mono PCM; returns the duration in seconds."""
    audio = [s.audio for s in sentences]
    samples = np.concatenate(audio) if audio else np.zeros(0, dtype=np.float32)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return len(samples) / sample_rate
