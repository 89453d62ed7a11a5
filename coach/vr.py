"""`coach vr`: the live spoken session with the avatar, in the headset, a window or on video.

The voice loop runs on its own threads (listening, recognition, reply, playback) and
the render loop on the main thread (glfw and OpenXR want it); they meet only through
the avatar bridge's event queue, so a slow model makes the coach think longer, never
makes the picture stutter. Where there is neither a headset nor a display, `--video`
records the session and renders it offscreen afterwards, with the replies' audio
where the patient heard them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avatar.render import RenderError
from coach.voice.audio import SAMPLE_RATE
from coach.voice.avatar_bridge import AvatarBridge
from coach.voice.loop import LiveTurn, VoiceLoop
from coach.voice.playback import Player
from coach.voice.sources import AudioSource
from coach.voice.vad import FRAME

AFTERGLOW = 0.8
"""Seconds the picture stays after the last reply ends, before a finished session closes."""


class _Stoppable:
    """A source that ends when asked (the window was closed, Ctrl-C) and can keep real time."""

    def __init__(self, source: AudioSource, stop: threading.Event, paced: bool = False) -> None:
        self.source, self.stop, self.paced = source, stop, paced
        self.name = source.name

    def frames(self) -> Iterator[NDArray[np.float32]]:
        start = time.perf_counter()
        for n, frame in enumerate(self.source.frames()):
            if self.stop.is_set():
                return
            if self.paced:
                delay = start + n * FRAME / SAMPLE_RATE - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            yield frame


@dataclass
class VrSession:
    """One patient's voice loop feeding the avatar bridge, run on a background thread."""

    loop: VoiceLoop
    source: AudioSource
    player: Player
    paced: bool = False
    bridge: AvatarBridge = field(default_factory=AvatarBridge)
    turns: list[LiveTurn] = field(default_factory=list)
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    ended_at: float | None = None
    """Render-clock time the session finished (source ended and the last reply was heard)."""

    def start(self) -> None:
        self.bridge.epoch = time.perf_counter()
        self.bridge.follow(self.loop.events)
        self._thread = threading.Thread(target=self._run, name="voice-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.turns = self.loop.run(_Stoppable(self.source, self._stop, self.paced), wait_playback=True)
        except BaseException as exc:  # reported on the main thread, after the picture closes
            self.error = exc
        finally:
            self.ended_at = self.bridge.clock()
            self.done.set()

    def finished(self) -> bool:
        """The source ended and the last reply has been heard (plus a moment's afterglow)."""
        return self.done.is_set() and self.bridge.clock() > max(self.bridge.speech_end,
                                                                self.ended_at or 0.0) + AFTERGLOW

    def wait(self, poll: Callable[[], None] | None = None) -> None:
        while not self.finished():
            if poll is not None:
                poll()
            time.sleep(0.05)

    def close(self) -> None:
        self._stop.set()
        self.loop.close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.bridge.stop(self.loop.events)
        self.player.close()

    @property
    def duration(self) -> float:
        return max(self.bridge.speech_end, self.ended_at or self.bridge.clock()) + AFTERGLOW


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def show(session: VrSession, model: Any, until_done: bool, say: Callable[[str], None]) -> str:
    """Show the session in the headset if a runtime answers, else in a window; returns where."""
    from avatar.window import openxr_runtime, run_window
    from avatar.xr import HeadsetError, run_headset

    until = session.finished if until_done else None
    bridge = session.bridge
    runtime = openxr_runtime()
    if runtime is not None:
        say(f"OpenXR runtime: {runtime}; put the headset on and talk to Sam")
        try:
            run_headset(model, events=bridge.events, epoch=bridge.epoch, until=until)
            return "headset"
        except HeadsetError as exc:
            say(f"{exc}; showing the avatar in a window instead")
    else:
        say("no OpenXR runtime found (set XR_RUNTIME_JSON or install Monado/SteamVR); "
            "showing the avatar in a window instead")
    if not has_display():
        raise RenderError("no headset and no display to open a window on; record the session instead: "
                          "coach vr --patient ID --in question.wav --video session.mp4")
    run_window(model, events=bridge.events, epoch=bridge.epoch, until=until)
    return "window"
