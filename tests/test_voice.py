"""Speech in and out with the real bundled models: piper speaks, whisper listens."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from avatar.spoken_text import speakable
from avatar.voice import Voice, write_wav
from coach.voice.asr import Transcriber, whisper_language
from coach.voice.audio import AudioError, load_audio


def test_numbers_units_and_phone_numbers_are_said_naturally() -> None:
    assert speakable("Your BP was 140/90 today [1].") == \
        "Your blood pressure was one forty over ninety today."
    assert speakable("Keep sodium under 2,300 mg a day.") == \
        "Keep sodium under two thousand three hundred milligrams a day."
    assert speakable("Below 70 mg/dL is low.") == "Below seventy milligrams per deciliter is low."
    assert speakable("Call or text 988.") == "Call or text nine eight eight."
    assert speakable("Walk 20-30 minutes.") == "Walk twenty to thirty minutes."
    assert speakable("About 2.5 km") == "About two point five kilometers"


@pytest.mark.slow
def test_phoneme_times_cover_the_audio_exactly(voice: Voice, tmp_path: Path) -> None:
    spoken = list(voice.speak_all(["Hello Maggie.", "Your blood pressure was 140/90 today."]))
    assert spoken[0].start == 0.0 and spoken[1].start == pytest.approx(spoken[0].end)
    for s in spoken:
        assert s.phonemes[0].start == pytest.approx(s.start)
        assert s.phonemes[-1].end == pytest.approx(s.end)
        assert all(a.end == pytest.approx(b.start) for a, b in zip(s.phonemes, s.phonemes[1:], strict=False))
        assert sum(p.end - p.start for p in s.phonemes) == pytest.approx(s.duration)
    seconds = write_wav(tmp_path / "r.wav", spoken, voice.sample_rate)
    with wave.open(str(tmp_path / "r.wav")) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(seconds) == pytest.approx(spoken[-1].end)


@pytest.mark.slow
def test_round_trip_piper_to_whisper(voice: Voice, tiny: Transcriber, tmp_path: Path) -> None:
    question = "How much salt should I eat each day?"
    write_wav(tmp_path / "q.wav", [voice.speak(question)], voice.sample_rate)
    transcript = tiny.transcribe(load_audio(tmp_path / "q.wav"))
    words = transcript.text.lower()
    assert "salt" in words and "each day" in words, transcript.text


@pytest.mark.slow
def test_patient_vocabulary_helps_medicine_names(voice: Voice, tiny: Transcriber, tmp_path: Path) -> None:
    write_wav(tmp_path / "m.wav", [voice.speak("I forgot my metformin this morning.")], voice.sample_rate)
    transcript = tiny.transcribe(load_audio(tmp_path / "m.wav"), ["metformin", "amlodipine"])
    assert "metformin" in transcript.text.lower(), transcript.text


def _wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def test_the_profile_language_spares_whisper_the_guess() -> None:
    # Profiles hold "en", "en-GB" or "pt_BR"; Whisper wants "en" or "pt". An unknown code
    # means detecting, never a failed turn.
    assert whisper_language("en") == "en"
    assert whisper_language("en-GB") == "en"
    assert whisper_language("pt_BR") == "pt"
    assert whisper_language("CY") == "cy"
    assert whisper_language("klingon") is None
    assert whisper_language("") is None
    assert whisper_language(None) is None


def test_transcribe_refuses_an_unknown_language(home, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "coach.cli", "transcribe", str(tmp_path / "q.wav"),
                           "--language", "xx"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "not a language the speech model knows" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def test_bad_audio_gets_clear_messages(tmp_path: Path) -> None:
    cases = {
        "silent.wav": (_wav(tmp_path / "silent.wav", np.zeros(16000 * 2), 16000), "silent"),
        "empty.wav": ((tmp_path / "empty.wav"), "empty"),
        "text.wav": ((tmp_path / "text.wav"), "not a readable audio file"),
        "short.wav": (_wav(tmp_path / "short.wav", np.zeros(400), 16000), "ms of audio"),
        "truncated.wav": ((tmp_path / "truncated.wav"), "not a readable audio file|no audio|ms of audio"),
    }
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("this is not audio at all " * 50)
    full = _wav(tmp_path / "full.wav", 0.3 * np.sin(np.linspace(0, 2000, 32000)), 16000)
    (tmp_path / "truncated.wav").write_bytes(full.read_bytes()[:30])
    for name, (path, message) in cases.items():
        with pytest.raises(AudioError, match=message):
            load_audio(path)
        assert name


def test_8khz_stereo_is_resampled_to_16khz_mono(tmp_path: Path) -> None:
    tone = 0.3 * np.sin(np.linspace(0, 3000, 8000 * 2))
    stereo = np.repeat(tone, 2)
    samples = load_audio(_wav(tmp_path / "s.wav", stereo, 8000, channels=2))
    assert samples.ndim == 1 and len(samples) == pytest.approx(32000, abs=200)


def test_over_long_recording_is_refused_before_decoding(tmp_path: Path) -> None:
    long_path = _wav(tmp_path / "long.wav", np.full(8000 * 60 * 11, 0.1), 8000)
    with pytest.raises(AudioError, match="minutes"):
        load_audio(long_path)


@pytest.mark.slow
def test_talk_writes_reply_audio_and_timeline(home, voice: Voice, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    write_wav(tmp_path / "q.wav", [voice.speak("I walked to the park with my dog this morning.")],
              voice.sample_rate)
    env = os.environ.copy()
    run = [sys.executable, "-m", "coach.cli"]
    subprocess.run([*run, "patients", "add", "--name", "Ann Lee", "--condition", "hypertension"],
                   check=True, capture_output=True, env=env)
    proc = subprocess.run([*run, "talk", "--patient", "1", "--in", str(tmp_path / "q.wav"),
                           "--out", str(tmp_path / "r.wav"), "--timeline", str(tmp_path / "r.json"),
                           "--asr", "whisper-tiny.en", "--model", "smollm2-135m", "--json"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert "park" in result["transcript"].lower()
    timeline = json.loads((tmp_path / "r.json").read_text())
    with wave.open(str(tmp_path / "r.wav")) as w:
        seconds = w.getnframes() / w.getframerate()
    assert timeline["sentences"] and timeline["duration"] == pytest.approx(seconds, abs=1e-3)
    last = timeline["sentences"][-1]["phonemes"][-1]["end"]
    assert last == pytest.approx(seconds, abs=1e-3)
