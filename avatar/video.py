"""Offscreen to MP4: the avatar saying something, with the voice's audio muxed in (PyAV).

The frames are rendered on the audio's clock (frame k shows time k / fps), so the
mouth in the file is where the animation put it against the sound, which is what
`coach bench avatar` measures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from avatar.animation import Animator, Event, Frame, Say, SetState, State
from avatar.face import AvatarModel, build_face
from avatar.render import Renderer, write_png
from avatar.visemes import DEFAULT_LEAD, openness
from avatar.voice import SpokenSentence, Voice

LEAD_IN = 0.4
"""Seconds of quiet before the first word: the face settles, the viewer looks."""
TAIL = 0.6


class VideoError(Exception):
    """The video cannot be written; the message says what to do."""


def write_mp4(path: Path, frames: Iterable[NDArray[np.uint8]], fps: int, width: int, height: int,
              audio: NDArray[np.float32] | None = None, sample_rate: int = 22050) -> int:
    """H.264 video plus AAC audio; returns the number of video frames written."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        container = av.open(str(path), mode="w")
    except Exception as exc:
        raise VideoError(f"cannot write {path}: {exc}; pick a writable folder") from exc
    count = 0
    with container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height = width, height
        video.pix_fmt = "yuv420p"
        video.options = {"crf": "20", "preset": "veryfast"}
        sound = None
        if audio is not None:
            sound = container.add_stream("aac", rate=sample_rate, layout="mono")
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            for packet in video.encode(frame):
                container.mux(packet)
            count += 1
        for packet in video.encode(None):
            container.mux(packet)
        if sound is not None and audio is not None:
            block = 1024
            pts = 0
            for start in range(0, len(audio), block):
                chunk = np.ascontiguousarray(audio[start:start + block], dtype=np.float32).reshape(1, -1)
                aframe = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                aframe.sample_rate = sample_rate
                aframe.pts = pts
                aframe.time_base = Fraction(1, sample_rate)
                pts += chunk.shape[1]
                for packet in sound.encode(aframe):
                    container.mux(packet)
            for packet in sound.encode(None):
                container.mux(packet)
    return count


@dataclass
class Performance:
    """A spoken utterance laid out for rendering: audio with lead-in, and the animation events."""

    sentences: list[SpokenSentence]
    audio: NDArray[np.float32]
    sample_rate: int
    say: Say
    duration: float

    @property
    def caption(self) -> str:
        return self.say.caption


def perform(sentences: list[SpokenSentence], sample_rate: int) -> Performance:
    """Place sentences (one clock, from `Voice.speak_all`) after a short lead-in."""
    if not sentences:
        raise VideoError("nothing to say: give some text")
    start = sentences[0].start
    pad = np.zeros(round(LEAD_IN * sample_rate), dtype=np.float32)
    body = np.concatenate([s.audio for s in sentences])
    for s in sentences:
        timed = s.phonemes[-1].end - s.start if s.phonemes else 0.0
        if s.phonemes and abs(timed - s.duration) > 0.05:
            raise VideoError("the phoneme timeline does not match the audio "
                             f"({s.duration:.2f} s of audio for {timed:.2f} s of timings in {s.text[:40]!r})")
    tail = np.zeros(round(TAIL * sample_rate), dtype=np.float32)
    audio = np.concatenate([pad, body, tail])
    shifted = [SpokenSentence(s.text, s.spoken, s.audio, s.sample_rate, s.start - start,
                              [type(p)(p.phoneme, p.start - start, p.end - start) for p in s.phonemes])
               for s in sentences]
    say = Say.from_sentences(LEAD_IN, shifted)
    return Performance(shifted, audio, sample_rate, say, len(audio) / sample_rate)


def animate(performance: Performance, fps: int, lead: float = DEFAULT_LEAD, seed: int = 1,
            ) -> list[Frame]:
    animator = Animator(lead=lead, seed=seed)
    animator.push([SetState(0.0, State.IDLE), performance.say])
    n = int(np.ceil(performance.duration * fps))
    return [animator.frame(k / fps) for k in range(n)]


def render_performance(performance: Performance, out: Path, size: int = 512, fps: int = 30,
                       lead: float = DEFAULT_LEAD, model: AvatarModel | None = None,
                       progress: Callable[[int, int], None] | None = None, still: Path | None = None,
                       ) -> int:
    """Render and write the MP4 (and, if asked, a PNG of one open-mouthed frame mid-speech)."""
    frames = animate(performance, fps, lead)
    renderer = Renderer(model or build_face(), size, size)
    pick = _mid_speech(frames, performance, fps) if still is not None else -1

    def images() -> Iterable[NDArray[np.uint8]]:
        for k, f in enumerate(frames):
            if progress is not None:
                progress(k + 1, len(frames))
            image = renderer.render(f.weights, f.pose)
            if k == pick and still is not None:
                write_png(still, image)
            yield image

    try:
        return write_mp4(out, images(), fps, size, size, performance.audio, performance.sample_rate)
    finally:
        renderer.release()


def _mid_speech(frames: list[Frame], performance: Performance, fps: int) -> int:
    """An open-mouthed, eyes-open frame near the middle of the speech (for a still)."""
    middle = (performance.say.at + performance.say.end) / 2
    best, score = 0, -1.0
    for k, f in enumerate(frames):
        if f.weights.get("blink", 0.0) > 0.05:
            continue
        s = openness(f.weights) - abs(k / fps - middle) * 0.2
        if s > score:
            best, score = k, s
    return best


def speak_to_video(voice: Voice, text: str, out: Path, size: int = 512, fps: int = 30,
                   lead: float = DEFAULT_LEAD, progress: Callable[[int, int], None] | None = None,
                   still: Path | None = None) -> Performance:
    """Say `text` with the piper voice and write the avatar saying it to `out`."""
    if not text.strip():
        raise VideoError("nothing to say: give some text")
    sentences = list(voice.speak_all([text]))
    performance = perform(sentences, voice.sample_rate)
    render_performance(performance, out, size, fps, lead, progress=progress, still=still)
    return performance


def load_spoken(timeline: Path, wav: Path, max_sentences: int | None = None) -> list[SpokenSentence]:
    """Sentences back from a spoken reply's wav and its timeline JSON (as `coach talk` writes them)."""
    import json
    import wave

    from avatar.voice import TimedPhoneme

    try:
        data = json.loads(timeline.read_text(encoding="utf-8"))
        with wave.open(str(wav), "rb") as f:
            rate = f.getframerate()
            pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    except (OSError, ValueError, EOFError, wave.Error) as exc:
        raise VideoError(f"cannot read the spoken reply ({exc}); run `coach talk` again") from exc
    audio = pcm.astype(np.float32) / 32767.0
    out: list[SpokenSentence] = []
    for s in data.get("sentences", [])[:max_sentences]:
        a, b = round(s["start"] * rate), round(s["end"] * rate)
        if b > len(audio) + rate // 20:
            raise VideoError("the timeline runs past the end of the audio: they are not from the same reply")
        phonemes = [TimedPhoneme(p["p"], p["start"], p["end"]) for p in s["phonemes"]]
        out.append(SpokenSentence(s["text"], s.get("spoken", s["text"]), audio[a:b], rate, s["start"],
                                  phonemes))
    return out


def render_events(events: list[Event], duration: float, out: Path, audio: NDArray[np.float32],
                  sample_rate: int, size: int = 512, fps: int = 30, model: AvatarModel | None = None,
                  progress: Callable[[int, int], None] | None = None) -> int:
    """A recorded session (timed avatar events on one clock from 0) to MP4 with its audio.

    The animator sees the events exactly as a live render loop would have; frames are
    taken at k / fps, so the file plays back as the session happened.
    """
    if duration <= 0:
        raise VideoError("the session is empty: nothing was said")
    animator = Animator()
    animator.push(list(events))
    n = int(np.ceil(duration * fps))
    renderer = Renderer(model or build_face(), size, size)

    def images() -> Iterable[NDArray[np.uint8]]:
        for k in range(n):
            if progress is not None:
                progress(k + 1, n)
            f = animator.frame(k / fps)
            yield renderer.render(f.weights, f.pose)

    try:
        return write_mp4(out, images(), fps, size, size, audio, sample_rate)
    finally:
        renderer.release()
