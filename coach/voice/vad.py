"""Live voice activity and end-of-turn detection, one 32 ms frame at a time.

faster-whisper ships the Silero VAD network and runs it over whole recordings; a
live turn needs the same network frame by frame, so that the coach knows the moment
speech starts (to stop talking: barge-in), when the speaker pauses (to start
recognising what was said so far) and when the turn is over. Older speakers pause
mid-sentence, so the end of a turn needs a long silence (`end_silence_ms`, default
1.2 s), while a short pause (`pause_ms`) only lets recognition catch up.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from coach.voice.audio import SAMPLE_RATE

FRAME = 512
"""Samples per frame at 16 kHz (32 ms): the window the Silero network is trained on."""
CONTEXT = 64
FRAME_SECONDS = FRAME / SAMPLE_RATE


class SpeechProbability:
    """Silero VAD over consecutive frames, carrying the context between calls."""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self._session = get_vad_model().session
        self._context = np.zeros((1, CONTEXT), dtype=np.float32)
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)

    def __call__(self, frame: NDArray[np.float32]) -> float:
        if frame.shape != (FRAME,):
            raise ValueError(f"a VAD frame is {FRAME} samples, not {frame.shape}")
        batch = np.concatenate([self._context, frame[None, :].astype(np.float32)], axis=1)
        out, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        self._context = batch[:, -CONTEXT:]
        return float(np.asarray(out).reshape(-1)[0])


class Event(StrEnum):
    SPEECH_STARTED = "speech_started"
    """Speech has lasted `start_ms`: a barge-in if the coach is talking."""
    PAUSE = "pause"
    """A short silence inside the turn: a safe place to cut for early recognition."""
    TURN_ENDED = "turn_ended"


@dataclass(frozen=True)
class TurnEvent:
    kind: Event
    sample: int
    """Where in the input stream (16 kHz samples since the start) it happened."""
    onset: int = 0
    """For SPEECH_STARTED: the first sample of the speech; for the others, the last sample of
    speech before the silence."""


@dataclass
class EndpointSettings:
    threshold: float = 0.5
    start_ms: int = 96
    """Speech must last this long to count: a cough or a click should not stop the coach."""
    pause_ms: int = 320
    end_silence_ms: int = 1200
    max_turn_s: float = 120.0
    """A turn is cut here even without a pause, so a stuck microphone cannot hold the coach."""


class Endpointer:
    """Feeds frames through the VAD and reports turn events (a small state machine)."""

    def __init__(self, settings: EndpointSettings | None = None,
                 vad: SpeechProbability | None = None) -> None:
        self.settings = settings or EndpointSettings()
        self.vad = vad or SpeechProbability()
        self.sample = 0
        self.in_turn = False
        self._speech_run = 0
        self._silence_run = 0
        self._paused = False
        self._onset = 0
        self._last_speech = 0
        self._turn_start = 0

    def _frames(self, ms: int) -> int:
        return max(1, round(ms / 1000 / FRAME_SECONDS))

    def feed(self, frame: NDArray[np.float32]) -> list[TurnEvent]:
        s = self.settings
        speech = self.vad(frame) >= s.threshold
        self.sample += FRAME
        events: list[TurnEvent] = []
        if speech:
            if self._speech_run == 0:
                self._onset = self.sample - FRAME
            self._speech_run += 1
            self._silence_run = 0
            self._paused = False
            self._last_speech = self.sample
            if not self.in_turn and self._speech_run >= self._frames(s.start_ms):
                self.in_turn = True
                self._turn_start = self._onset
                events.append(TurnEvent(Event.SPEECH_STARTED, self.sample, self._onset))
        else:
            self._speech_run = 0
            if self.in_turn:
                self._silence_run += 1
                if not self._paused and self._silence_run >= self._frames(s.pause_ms):
                    self._paused = True
                    events.append(TurnEvent(Event.PAUSE, self.sample, self._last_speech))
                if self._silence_run >= self._frames(s.end_silence_ms):
                    events.append(self._end())
        if self.in_turn and (self.sample - self._turn_start) / SAMPLE_RATE >= s.max_turn_s:
            events.append(self._end())
        return events

    def _end(self) -> TurnEvent:
        self.in_turn = False
        self._silence_run = 0
        self._paused = False
        return TurnEvent(Event.TURN_ENDED, self.sample, self._last_speech)

    @property
    def turn_start(self) -> int:
        return self._turn_start
