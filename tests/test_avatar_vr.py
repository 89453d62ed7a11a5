"""The avatar following the live voice loop: the bridge, and a real session rendered offscreen."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
from numpy.typing import NDArray

from avatar.animation import Animator, Hush, Say, SetState, State
from avatar.bench import mouth_box, mouth_opening
from avatar.face import build_face
from avatar.render import VIDEO_CAMERA, Renderer
from avatar.visemes import openness
from avatar.voice import SpokenSentence, TimedPhoneme, Voice
from coach.config import Settings
from coach.voice.asr import Transcriber
from coach.voice.audio import SAMPLE_RATE
from coach.voice.avatar_bridge import AvatarBridge
from coach.voice.loop import LoopEvent, VoiceLoop
from coach.voice.playback import ClockPlayer
from coach.voice.vad import FRAME
from tests.conftest import model_path

RATE = 22050


def _sentence(text: str, start: float, seconds: float) -> SpokenSentence:
    """A sentence of alternating open and closed mouth shapes, 0.1 s each."""
    n = int(seconds / 0.1)
    phonemes = [TimedPhoneme("a" if k % 2 else "p", start + k * 0.1, start + (k + 1) * 0.1) for k in range(n)]
    return SpokenSentence(text, text, np.zeros(int(n * 0.1 * RATE), dtype=np.float32), RATE, start, phonemes)


def test_bridge_places_sentences_back_to_back_and_hushes_on_barge_in() -> None:
    bridge = AvatarBridge(epoch=100.0)
    first, second = _sentence("One.", 0.0, 1.0), _sentence("Two.", 1.0, 1.0)
    for event in [LoopEvent("listening", 100.0), LoopEvent("thinking", 101.0),
                  LoopEvent("speaking", 102.0, first), LoopEvent("speaking", 102.3, second),
                  LoopEvent("interrupted", 102.5), LoopEvent("listening", 102.5)]:
        bridge.send(event)
    says = [e for e in bridge.log if isinstance(e, Say)]
    # the second sentence was queued at 2.3 s but is heard after the first ends, at 3.0 s
    assert [s.at for s in says] == pytest.approx([2.0, 3.0])
    assert says[1].issued == pytest.approx(2.3)
    assert isinstance(bridge.log[-3], Hush) and bridge.log[-2] == SetState(2.5, State.LISTENING)
    assert bridge.speech_end == pytest.approx(2.5)  # both cut at the interruption
    audio = bridge.audio(RATE, 4.0)
    assert len(audio) == 4 * RATE

    animator = Animator()
    animator.push(list(bridge.log))
    frames = {t: animator.frame(t) for t in np.arange(0.0, 4.0, 1 / 30).round(4)}
    assert frames[1.5].state is State.THINKING
    talking = [f for t, f in frames.items() if 2.0 <= t < 2.5]
    assert all(f.state is State.SPEAKING for f in talking) and max(openness(f.weights) for f in talking) > 0.3
    after = [f for t, f in frames.items() if t >= 2.55]
    assert all(f.state is State.LISTENING and f.caption == "" for f in after)
    assert max(openness(f.weights) for f in after) < 0.05  # the queued second sentence never plays


def test_vr_without_a_display_or_runtime_says_how_to_record(home: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(XDG_CONFIG_HOME=str(home.home / "xdg"), XR_RUNTIME_JSON="")
    run = [sys.executable, "-m", "coach.cli", "vr", "--patient", "1"]
    proc = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode != 0 and "--video" in proc.stderr + proc.stdout and "Traceback" not in proc.stderr
    proc = subprocess.run([*run, "--in", "a.wav", "--pcm", "-"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode != 0 and "at most one" in proc.stderr + proc.stdout


class _Patient:
    """Speaks a question, then interrupts once the coach has been talking for `after` seconds."""

    name = "scripted patient"

    def __init__(self, first: NDArray[np.float32], second: NDArray[np.float32], after: float) -> None:
        self.first, self.second, self.after = first, second, after
        self.loop: VoiceLoop | None = None

    @staticmethod
    def _paced(audio: NDArray[np.float32]) -> Iterator[NDArray[np.float32]]:
        for i in range(0, len(audio) - FRAME + 1, FRAME):
            time.sleep(FRAME / SAMPLE_RATE)
            yield audio[i:i + FRAME]

    def frames(self) -> Iterator[NDArray[np.float32]]:
        silence = np.zeros(int(0.064 * SAMPLE_RATE), dtype=np.float32)
        yield from self._paced(np.concatenate([self.first, np.zeros(int(1.5 * SAMPLE_RATE), np.float32)]))
        assert self.loop is not None
        deadline = time.perf_counter() + 90
        while not (self.loop.turns and self.loop.turns[0].first_audio_at is not None):
            if time.perf_counter() > deadline:
                raise AssertionError("the coach never started speaking")
            yield from self._paced(silence)
        spoke = self.loop.turns[0].first_audio_at
        while time.perf_counter() < spoke + self.after:
            yield from self._paced(silence)
        yield from self._paced(np.concatenate([self.second, np.zeros(int(1.6 * SAMPLE_RATE), np.float32)]))


@pytest.mark.slow
def test_the_avatar_follows_a_live_session_and_stops_talking_on_barge_in(home: Settings, triage) -> None:  # type: ignore[no-untyped-def]
    from coach.conversation import Conversation
    from coach.llm import GenerationOptions
    from coach.llm.llamacpp import LlamaCppModel
    from coach.store import Patient, open_store
    from coach.voice.sources import _resample

    voice = Voice(model_path("piper-joe"))
    tiny = Transcriber(model_path("whisper-tiny.en"))

    def speech(text: str) -> NDArray[np.float32]:
        return _resample(voice.speak(text).audio, voice.sample_rate)

    store = open_store(home.db_path, home.key_path)
    with store.session() as db:
        patient = Patient(name="June Park", preferred_name="June")
        db.add(patient)
        db.flush()
        pid = patient.id
    model = LlamaCppModel(model_path("smollm2-135m"))
    conv = Conversation(store, pid, triage, lambda: model, GenerationOptions(max_tokens=64))
    source = _Patient(np.concatenate([np.zeros(int(0.3 * SAMPLE_RATE), np.float32),
                                      speech("Tell me about walking in the morning.")]),
                      speech("Sorry, one more thing."), after=1.2)
    loop = VoiceLoop(conv, tiny, voice, ClockPlayer(voice.sample_rate))
    source.loop = loop
    bridge = AvatarBridge()
    bridge.follow(loop.events)
    thread = threading.Thread(target=loop.run, args=(source,),
                              kwargs={"max_turns": 2, "wait_playback": False}, daemon=True)

    # the render loop: offscreen, a small frame, drains the bridge's queue and never waits
    size = 160
    renderer = Renderer(build_face(), size, size, samples=0)
    vp = VIDEO_CAMERA.projection(1.0) @ VIDEO_CAMERA.view()
    closed = mouth_opening(renderer.render({"sil": 1.0}), mouth_box(Animator().frame(0).pose, size, vp))
    wide = mouth_opening(renderer.render({"aa": 1.0}), mouth_box(Animator().frame(0).pose, size, vp))
    animator = Animator()
    seen: list[tuple[float, State, int]] = []
    slowest = 0.0
    thread.start()
    try:
        while thread.is_alive() or bridge.clock() < bridge.speech_end + 0.5:
            t0 = time.perf_counter()
            now = bridge.clock()
            frame = animator.frame(now, bridge.events.drain())
            weights = dict(frame.weights, blink=0.0)
            seen.append((now, frame.state, mouth_opening(renderer.render(weights, frame.pose),
                                                         mouth_box(frame.pose, size, vp))))
            slowest = max(slowest, time.perf_counter() - t0)
            time.sleep(max(0.0, 0.05 - (time.perf_counter() - t0)))
            if now > 100:
                raise AssertionError("the session did not end")
    finally:
        thread.join(timeout=30)
        loop.close()
        bridge.stop(loop.events)
        renderer.release()
        conv.close()
        store.close()

    turns = loop.turns
    assert len(turns) == 2 and turns[0].interrupted, [t.summary() for t in turns]
    states = [s for k, (_, s, _) in enumerate(seen) if k == 0 or seen[k - 1][1] is not s]
    # (the very first frame may come before the loop's first event: idle until then)
    first = states.index(State.LISTENING)
    assert states[first:first + 3] == [State.LISTENING, State.THINKING, State.SPEAKING], states
    hush = next(e.at for e in bridge.log if isinstance(e, Hush))
    first_say = next(e for e in bridge.log if isinstance(e, Say))
    talking = [px for t, s, px in seen if first_say.at <= t < hush and s is State.SPEAKING]
    assert talking and max(talking) > closed + 0.4 * (wide - closed), (closed, wide, talking)
    # after the barge-in, until the coach starts thinking about the second question: quiet, listening
    next_thinking = next(e.at for e in bridge.log if isinstance(e, SetState) and e.at > hush
                         and e.state is State.THINKING)
    after = [(s, px) for t, s, px in seen if hush + 0.1 <= t < next_thinking]
    assert after and all(s is State.LISTENING for s, _ in after), after
    assert max(px for _, px in after) <= closed + 0.1 * (wide - closed), (closed, wide, after)
    assert slowest < 2.0  # a frame never waited on recognition, the model or the voice
