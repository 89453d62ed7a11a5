"""The avatar's behaviour over time: states, blinks, breath, head motion, speech.

The render loop owns the clock. Everything else (speech recognition, the model,
the voice) talks to it only through an `EventQueue` of timed events, which the
loop drains without blocking once per frame: a slow model can make the coach
think longer, never stutter.
"""

from __future__ import annotations

import math
import queue
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from avatar.face import EYE_Y, HEAD_CENTER
from avatar.visemes import DEFAULT_LEAD, VisemeTrack
from avatar.voice import SpokenSentence


class State(StrEnum):
    IDLE = "idle"
    LISTENING = "listening"
    THINKING = "thinking"
    SPEAKING = "speaking"


@dataclass(frozen=True)
class Pose:
    """Where the head points and how the body rises with breath, for one frame."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    rise: float = 0.0
    """Metres the head and shoulders lift with a breath."""


@dataclass(frozen=True)
class SetState:
    at: float
    state: State


@dataclass(frozen=True)
class Say:
    """Audio that starts playing at `at` (render clock), with its phoneme timings."""

    at: float
    track: VisemeTrack
    caption: str
    issued: float | None = None
    """When the audio was queued (render clock); a `Hush` cancels what was queued before it."""

    @classmethod
    def from_sentences(cls, at: float, sentences: list[SpokenSentence]) -> Say:
        """Sentences on one clock (as `Voice.speak_all` gives them), starting at `at`."""
        phonemes = [p for s in sentences for p in s.phonemes]
        return cls(at, VisemeTrack(phonemes), " ".join(s.text for s in sentences))

    @property
    def end(self) -> float:
        return self.at + self.track.duration


@dataclass(frozen=True)
class Hush:
    """The voice was stopped (the patient interrupted): speech queued before `at` is dropped."""

    at: float


@dataclass(frozen=True)
class PatientPause:
    """The patient stopped talking for a moment: an attentive nod."""

    at: float


@dataclass(frozen=True)
class LookAt:
    """The viewer's head position in world space (the headset's pose): eyes and head follow."""

    at: float
    position: tuple[float, float, float]


Event = SetState | Say | Hush | PatientPause | LookAt


class EventQueue:
    """Thread-safe, and the reader never waits: `drain` returns what has arrived so far."""

    def __init__(self) -> None:
        self._q: queue.SimpleQueue[Event] = queue.SimpleQueue()

    def put(self, event: Event) -> None:
        self._q.put(event)

    def drain(self) -> list[Event]:
        out: list[Event] = []
        while True:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                return out


@dataclass
class Frame:
    weights: dict[str, float]
    pose: Pose
    state: State
    caption: str = ""


@dataclass
class _Smooth:
    """Exponential approach towards a target: expressions change without popping."""

    value: float = 0.0
    tau: float = 0.25

    def step(self, target: float, dt: float) -> float:
        self.value += (target - self.value) * (1.0 - math.exp(-max(dt, 0.0) / self.tau))
        return self.value


@dataclass
class Animator:
    """Turns the clock and the events so far into a `Frame`: morph weights, head pose, caption."""

    lead: float = DEFAULT_LEAD
    seed: int = 1
    state: State = State.IDLE
    viewer: tuple[float, float, float] | None = None
    _says: list[Say] = field(default_factory=list)
    _pending: list[Event] = field(default_factory=list)
    _nods: list[float] = field(default_factory=list)
    _last: float | None = None
    _next_blink: float = 1.2
    _blinks: list[float] = field(default_factory=list)
    _next_saccade: float = 0.8
    _saccade: tuple[float, float] = (0.0, 0.0)
    _smooth: dict[str, _Smooth] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    def push(self, events: list[Event]) -> None:
        self._pending.extend(events)
        self._pending.sort(key=lambda e: e.at)

    def _apply(self, now: float) -> None:
        while self._pending and self._pending[0].at <= now:
            event = self._pending.pop(0)
            if isinstance(event, SetState):
                self.state = event.state
            elif isinstance(event, PatientPause):
                self._nods.append(event.at)
            elif isinstance(event, LookAt):
                self.viewer = event.position
            elif isinstance(event, Say):
                self._says.append(event)
            elif isinstance(event, Hush):
                self._hush(event.at)
        # speech is scheduled ahead of time; keep it regardless of when it arrived
        for event in list(self._pending):
            if isinstance(event, Say):
                self._says.append(event)
                self._pending.remove(event)
        self._says = [s for s in self._says if s.end + 0.5 > now]

    def _hush(self, at: float) -> None:
        def queued_before(s: Event) -> bool:
            return isinstance(s, Say) and (s.issued if s.issued is not None else s.at) < at

        self._says = [s for s in self._says if not queued_before(s)]
        self._pending = [e for e in self._pending if not queued_before(e)]

    def _blink(self, now: float) -> float:
        if now >= self._next_blink:
            self._blinks.append(self._next_blink)
            if self._rng.random() < 0.12:  # now and then a double blink
                self._blinks.append(self._next_blink + 0.32)
            thinking = self.state is State.THINKING
            gap = self._rng.gamma(5.0, 1.1) if thinking else self._rng.gamma(4.0, 0.95)
            self._next_blink = now + max(1.2, float(gap))
        self._blinks = [b for b in self._blinks if now - b < 0.5]
        value = 0.0
        for b in self._blinks:
            t = now - b
            if 0 <= t < 0.07:
                value = max(value, t / 0.07)
            elif 0.07 <= t < 0.10:
                value = 1.0
            elif 0.10 <= t < 0.24:
                value = max(value, 1.0 - (t - 0.10) / 0.14)
        return value * value * (3 - 2 * value)

    def frame(self, now: float, events: list[Event] | None = None) -> Frame:
        """The avatar at `now` (seconds on the render clock)."""
        if events:
            self.push(events)
        self._apply(now)
        dt = 0.0 if self._last is None else now - self._last
        self._last = now
        speaking = next((s for s in self._says if s.at - 0.3 <= now <= s.end + 0.3), None)
        state = State.SPEAKING if speaking is not None else self.state
        weights: dict[str, float] = {}
        caption = speaking.caption if speaking is not None else ""
        if speaking is not None:
            weights.update(speaking.track.weights(now - speaking.at + self.lead))
        else:
            weights["sil"] = 1.0

        # slow, layered motion; livelier while speaking, stiller while listening
        amp = {State.SPEAKING: 1.4, State.LISTENING: 0.7, State.THINKING: 0.8, State.IDLE: 1.0}[state]
        yaw = amp * (0.030 * math.sin(now * 0.37 + 1.0) + 0.012 * math.sin(now * 1.13))
        pitch = amp * (0.018 * math.sin(now * 0.29 + 2.0) + 0.008 * math.sin(now * 0.97 + 0.5))
        roll = amp * 0.012 * math.sin(now * 0.23 + 0.3)
        for nod in self._nods:
            t = now - nod
            if 0.0 <= t < 0.9:
                pitch += 0.07 * math.sin(math.pi * t / 0.45) ** 2 * (1.0 if t < 0.45 else 0.55)
        self._nods = [n for n in self._nods if now - n < 1.0]

        targets = {"smile": 0.12, "browRaise": 0.0, "concern": 0.0, "tilt": 0.0, "look_x": 0.0, "look_y": 0.0}
        if state is State.LISTENING:
            targets.update(smile=0.22, browRaise=0.12, tilt=0.05)
        elif state is State.THINKING:
            targets.update(smile=0.05, browRaise=0.25, tilt=-0.04, look_x=0.12, look_y=0.10)
        elif state is State.SPEAKING:
            targets.update(smile=0.18, browRaise=0.08)
        if now >= self._next_saccade:
            self._saccade = (float(self._rng.normal(0, 0.03)), float(self._rng.normal(0, 0.02)))
            self._next_saccade = now + float(self._rng.uniform(0.8, 2.8))
        look_x, look_y = self._saccade
        if self.viewer is not None:
            eye = HEAD_CENTER + np.array([0.0, EYE_Y, 0.08])
            d = np.asarray(self.viewer) - eye
            look_x += math.atan2(d[0], d[2])
            look_y += math.atan2(d[1], math.hypot(d[0], d[2]))
            yaw += 0.3 * math.atan2(d[0], d[2])
        values = {k: self._smooth.setdefault(k, _Smooth()).step(v, dt) for k, v in targets.items()}
        gx = values["look_x"] + look_x
        gy = values["look_y"] + look_y
        weights["lookLeft" if gx > 0 else "lookRight"] = min(abs(gx) / 0.35, 1.0)
        weights["lookUp" if gy > 0 else "lookDown"] = min(abs(gy) / 0.25, 1.0)
        weights["smile"] = values["smile"]
        weights["browRaise"] = values["browRaise"]
        weights["concern"] = values["concern"]
        weights["blink"] = self._blink(now)
        rise = 0.0022 * math.sin(2 * math.pi * now / 4.5)
        return Frame(weights, Pose(yaw, pitch, roll + values["tilt"], rise), state, caption)
