"""From the voice loop's events to the avatar's timed events, on the render clock.

The voice loop reports what happened when (`LoopEvent`, perf_counter() times); the
avatar's render loop only drains an `EventQueue` of events placed on its own clock
(seconds since `epoch`). This bridge sits between them on a thread of its own, so
the render loop never waits on recognition, the model or the voice:

- listening / thinking / idle become state changes at the moment they happened;
- each spoken sentence becomes a `Say` that starts when its audio will actually be
  heard: when it was queued, or when the audio already queued ends, whichever is
  later (the player plays queued audio back to back);
- an interruption becomes a `Hush` (everything queued so far is dropped, so the
  mouth stops with the voice) and a return to listening.

It also keeps what it placed, so a whole session can be rendered to video afterwards
with the reply audio exactly where the patient heard it.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from avatar.animation import Event, EventQueue, Hush, Say, SetState, State
from avatar.visemes import VisemeTrack
from avatar.voice import SpokenSentence, TimedPhoneme
from coach.voice.loop import LoopEvent

STATES = {"listening": State.LISTENING, "thinking": State.THINKING, "idle": State.IDLE}


@dataclass
class Placed:
    """One sentence's audio on the render clock, cut short if the patient interrupted it."""

    start: float
    sentence: SpokenSentence
    cut: float | None = None
    """Render-clock time the audio was stopped, if it was (before `start`: never heard)."""

    @property
    def end(self) -> float:
        full = self.start + self.sentence.duration
        return full if self.cut is None else min(full, self.cut)


@dataclass
class AvatarBridge:
    """Turns `LoopEvent`s into avatar events; `follow` runs it on its own thread."""

    events: EventQueue = field(default_factory=EventQueue)
    epoch: float = field(default_factory=time.perf_counter)
    """perf_counter() at render-clock zero (give the render loop the same value)."""
    placed: list[Placed] = field(default_factory=list)
    log: list[Event] = field(default_factory=list)
    """Every avatar event sent, in order (for rendering the session afterwards)."""
    latency: float = 0.0
    """Seconds from queueing audio to hearing it (the sound card's output latency)."""
    _play_end: float = 0.0
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def clock(self, at: float | None = None) -> float:
        """Render-clock seconds for a perf_counter() reading (default: now)."""
        return (time.perf_counter() if at is None else at) - self.epoch

    def translate(self, event: LoopEvent) -> list[Event]:
        t = self.clock(event.at)
        if event.kind == "speaking" and event.sentence is not None:
            sentence = event.sentence
            start = max(t + self.latency, self._play_end)
            self._play_end = start + sentence.duration
            self.placed.append(Placed(start, sentence))
            return [Say(start, sentence_track(sentence), sentence.text, issued=t)]
        if event.kind == "interrupted":
            self._play_end = t
            for p in self.placed:
                if p.cut is None and p.start + p.sentence.duration > t:
                    p.cut = t
            return [Hush(t), SetState(t, State.LISTENING)]
        state = STATES.get(event.kind)
        return [SetState(t, state)] if state is not None else []

    def send(self, event: LoopEvent) -> None:
        for out in self.translate(event):
            self.log.append(out)
            self.events.put(out)

    def follow(self, source: queue.Queue[LoopEvent]) -> None:
        """Forward events from the voice loop's queue until `stop` (on a daemon thread)."""
        def run() -> None:
            while not self._stop.is_set():
                try:
                    self.send(source.get(timeout=0.05))
                except queue.Empty:
                    continue

        self._thread = threading.Thread(target=run, name="avatar-bridge", daemon=True)
        self._thread.start()

    def stop(self, source: queue.Queue[LoopEvent] | None = None) -> None:
        """Stop following; events still in `source` are forwarded first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        while source is not None:
            try:
                self.send(source.get_nowait())
            except queue.Empty:
                break

    @property
    def speech_end(self) -> float:
        """Render-clock time the last queued audio ends (or ended)."""
        return max((p.end for p in self.placed), default=0.0)

    def audio(self, sample_rate: int, duration: float) -> NDArray[np.float32]:
        """The replies as heard over `duration` seconds of render clock (interruptions cut)."""
        out = np.zeros(int(np.ceil(duration * sample_rate)), dtype=np.float32)
        for p in self.placed:
            a = round(p.start * sample_rate)
            n = min(round((p.end - p.start) * sample_rate), len(p.sentence.audio), max(0, len(out) - a))
            if n > 0 and a >= 0:
                out[a:a + n] += p.sentence.audio[:n]
        return out


def sentence_track(sentence: SpokenSentence) -> VisemeTrack:
    """The sentence's phonemes with times from the start of its own audio."""
    return VisemeTrack([TimedPhoneme(p.phoneme, p.start - sentence.start, p.end - sentence.start)
                        for p in sentence.phonemes])
