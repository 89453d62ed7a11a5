"""The renderer offscreen (EGL, llvmpipe without a GPU), the PNG and MP4 writers, the CLI."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from avatar.animation import Pose
from avatar.bench import mouth_box, mouth_opening
from avatar.face import AvatarModel, build_face
from avatar.render import VIDEO_CAMERA, Renderer, RenderError, write_png
from avatar.video import VideoError, perform, render_performance
from avatar.voice import SpokenSentence, TimedPhoneme
from coach.config import Settings

COACH = [sys.executable, "-m", "coach.cli"]


@pytest.fixture(scope="module")
def face() -> AvatarModel:
    return build_face()


@pytest.fixture(scope="module")
def renderer(face: AvatarModel) -> Renderer:
    return Renderer(face, 256, 256, samples=0)


def test_avatar_is_in_view_against_the_room(renderer: Renderer) -> None:
    image = renderer.render({})
    assert image.shape == (256, 256, 3)
    middle = image[96:160, 96:160].reshape(-1, 3).astype(int)
    skin = (middle[:, 0] > 170) & (middle[:, 0] > middle[:, 2] + 25)  # warm, light: the face
    assert skin.mean() > 0.6
    corners = np.stack([image[2, 2], image[2, -3], image[-3, 2], image[-3, -3]]).astype(int)
    assert np.all(np.abs(corners - image[128, 128].astype(int)).sum(axis=1) > 20)  # the room, not the face


def test_mouth_opens_on_aa_and_closes_on_pp(renderer: Renderer) -> None:
    vp = VIDEO_CAMERA.projection(1.0) @ VIDEO_CAMERA.view()
    box = mouth_box(Pose(), 256, vp)
    open_area = mouth_opening(renderer.render({"aa": 1.0}), box)
    closed_area = mouth_opening(renderer.render({"PP": 1.0}), box)
    half = mouth_opening(renderer.render({"aa": 0.5, "PP": 0.5}), box)
    assert open_area > 100 and closed_area < 0.1 * open_area
    assert closed_area < half < open_area  # morphing blends, it does not switch


def test_head_turns_but_the_body_stays(renderer: Renderer) -> None:
    ahead = renderer.render({}).astype(int)
    turned = renderer.render({}, Pose(yaw=0.3)).astype(int)
    face_rows = np.abs(ahead[60:150] - turned[60:150]).sum()
    body_rows = np.abs(ahead[235:] - turned[235:]).sum()
    assert face_rows > 20 * max(body_rows, 1)


def test_png_is_a_valid_file(renderer: Renderer, tmp_path: Path) -> None:
    path = tmp_path / "frame.png"
    image = renderer.render({"E": 1.0})
    write_png(path, image)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (256, 256)
    length = struct.unpack(">I", data[33:37])[0]
    raw = zlib.decompress(data[41:41 + length])
    assert len(raw) == 256 * (256 * 3 + 1)


def _sentence(phonemes: list[tuple[str, float]], rate: int = 22050) -> SpokenSentence:
    out, t = [], 0.0
    for ph, dur in phonemes:
        out.append(TimedPhoneme(ph, t, t + dur))
        t += dur
    n = round(t * rate)
    audio = (0.2 * np.sin(np.arange(n) * 2 * np.pi * 180 / rate)).astype(np.float32)
    return SpokenSentence("Mama.", "Mama.", audio, rate, 0.0, out)


def test_mp4_has_video_and_the_audio(face: AvatarModel, tmp_path: Path) -> None:
    import av

    sentence = _sentence([("m", 0.1), ("ɑ", 0.25), ("m", 0.1), ("ə", 0.15), (".", 0.1)])
    performance = perform([sentence], 22050)
    out = tmp_path / "talk.mp4"
    frames = render_performance(performance, out, size=128, fps=20, model=face)
    assert frames == int(np.ceil(performance.duration * 20))
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        assert (video.codec_context.name, audio.codec_context.name) == ("h264", "aac")
        assert video.width == 128 and audio.sample_rate == 22050
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded == frames
    with av.open(str(out)) as container:
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert abs(len(samples) / 22050 - performance.duration) < 0.1
    assert np.abs(samples).max() > 0.1  # the voice is there, not silence


def test_timeline_that_does_not_match_the_audio_is_refused() -> None:
    sentence = _sentence([("m", 0.1), ("ɑ", 0.2)])
    broken = SpokenSentence(sentence.text, sentence.spoken, sentence.audio[:1000], 22050, 0.0,
                            sentence.phonemes)
    with pytest.raises(VideoError, match="does not match the audio"):
        perform([broken], 22050)
    with pytest.raises(VideoError, match="nothing to say"):
        perform([], 22050)


def test_window_without_a_display_says_what_to_do(face: AvatarModel, monkeypatch: pytest.MonkeyPatch) -> None:
    from avatar.window import run_window

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(RenderError, match=r"no display.*coach avatar render"):
        run_window(face)


def _run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run([*COACH, *args], capture_output=True, text=True, timeout=600, env=env)
    if ok:
        assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_cli_export_and_clear_errors(home: Settings, tmp_path: Path) -> None:
    for cmd in (["avatar", "render"], ["avatar", "export"], ["avatar", "view"], ["vr"], ["bench", "avatar"]):
        assert "Example" in _run(*cmd, "--help").stdout, cmd
    out = tmp_path / "coach.glb"
    data = json.loads(_run("avatar", "export", "--out", str(out), "--json").stdout)
    assert out.is_file() and data["bytes"] == out.stat().st_size and "aa" in data["morph_targets"]
    view = _run("avatar", "view", ok=False)
    assert view.returncode == 1 and "no display" in view.stderr
    bad = tmp_path / "bad.vrm"
    bad.write_bytes(b"not a model")
    broken = _run("avatar", "view", "--avatar", str(bad), ok=False)
    assert broken.returncode == 1 and "not a readable glTF" in broken.stderr


@pytest.mark.slow
def test_cli_render_speaks_with_the_real_voice(home: Settings, tmp_path: Path) -> None:
    import av

    out = tmp_path / "talk.mp4"
    data = json.loads(_run("avatar", "render", "--text", "Good morning, Maggie.", "--out", str(out),
                           "--size", "128", "--fps", "15", "--json").stdout)
    assert data["phonemes"] > 10 and data["frames"] > 15
    with av.open(str(out)) as container:
        assert {s.type for s in container.streams} == {"video", "audio"}


@pytest.mark.slow
def test_demo_video_uses_the_spoken_reply(home: Settings) -> None:
    """The demo's reply (wav + timeline, as the spoken turn writes them) becomes demo/reply.mp4."""
    import av

    import coach.cli.main  # noqa: F401  (the CLI registers its commands first, as when run)
    from avatar.voice import Voice, write_wav
    from coach.cli.avatar import demo_reply_video
    from coach.cli.context import TTS_VOICE, Context
    from tests.conftest import model_path

    voice = Voice(model_path(TTS_VOICE))
    sentences = list(voice.speak_all(["Well done, Maggie.", "Three walks this week."]))
    demo = home.home / "demo"
    write_wav(demo / "reply.wav", sentences, voice.sample_rate)
    (demo / "reply.json").write_text(json.dumps({"sentences": [s.timeline() for s in sentences]}),
                                     encoding="utf-8")
    ctx = type("Ctx", (), {"obj": Context(home)})()
    out = demo_reply_video(ctx)  # type: ignore[arg-type]
    assert out == demo / "reply.mp4"
    with av.open(str(out)) as container:
        audio = container.streams.audio[0]
        seconds = float(audio.duration * audio.time_base) if audio.duration else 0.0
    assert abs(seconds - (sentences[-1].end + 1.0)) < 0.2  # the reply plus lead-in and tail


def test_caption_wraps_into_a_few_readable_lines() -> None:
    from avatar.caption import FONT, caption_image, caption_lines

    text = "A short walk after lunch is a lovely habit to keep, Maggie. " * 3
    lines = caption_lines(text, width=34, max_lines=3)
    assert len(lines) == 3 and all(len(line) <= 34 for line in lines)
    assert lines[-1].endswith("MAGGIE.")  # a long reply shows its latest words
    image = caption_image("Hello 140/90!", scale=2)
    ink = image[..., 3] == 255
    assert ink.sum() > 40 and image.shape[0] == 9 * 2 + 4 * 2
    assert set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,?!") <= set(FONT)
