"""Audio in: any file PyAV can decode, checked and turned into 16 kHz mono float32.

A patient's recording may be silent, cut off, in stereo or at 8 kHz, or not audio at
all; each case gets a message that says what to do, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

SAMPLE_RATE = 16_000
MAX_SECONDS = 10 * 60
"""A spoken turn is seconds to minutes; longer files are refused before decoding."""
MAX_BYTES = 200 * 1024 * 1024
SILENCE_RMS = 10 ** (-50 / 20)
"""Below -50 dBFS across the whole clip there is nothing to transcribe."""


class AudioError(Exception):
    """The audio cannot be used; the message names the file and what to do."""


def check_samples(samples: NDArray[np.float32], source: str) -> NDArray[np.float32]:
    if samples.size == 0:
        raise AudioError(f"{source}: no audio in it (empty or truncated); record the question again")
    seconds = samples.size / SAMPLE_RATE
    if seconds > MAX_SECONDS:
        raise AudioError(f"{source}: {seconds / 60:.0f} minutes of audio; a turn can be at most "
                         f"{MAX_SECONDS // 60} minutes, so split it")
    if seconds < 0.2:
        raise AudioError(f"{source}: only {seconds * 1000:.0f} ms of audio; record the question again")
    if float(np.sqrt(np.mean(np.square(samples)))) < SILENCE_RMS:
        raise AudioError(f"{source}: the recording is silent; check the microphone and try again")
    return samples


def load_audio(path: Path) -> NDArray[np.float32]:
    """Decode, downmix and resample to 16 kHz mono, then check it is usable speech audio."""
    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise AudioError(f"{path.name}: the file is empty")
    if size > MAX_BYTES:
        raise AudioError(f"{path.name}: {size // (1024 * 1024)} MB is too large for one spoken turn")
    duration = _container_seconds(path)
    if duration is not None and duration > MAX_SECONDS:
        raise AudioError(f"{path.name}: {duration / 60:.0f} minutes of audio; a turn can be at most "
                         f"{MAX_SECONDS // 60} minutes, so split it")
    from faster_whisper import decode_audio

    try:
        samples = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except Exception as exc:  # PyAV raises many kinds for non-audio and corrupt files
        raise AudioError(f"{path.name}: not a readable audio file ({type(exc).__name__}); "
                         "use wav, flac, mp3 or ogg") from None
    return check_samples(np.asarray(samples, dtype=np.float32), path.name)


def _container_seconds(path: Path) -> float | None:
    """The length the container declares, read without decoding (None if it does not say)."""
    try:
        import av

        with av.open(str(path)) as container:
            if container.duration is not None:
                return float(container.duration) / 1_000_000
            streams = [s for s in container.streams if s.type == "audio"]
            if not streams:
                raise AudioError(f"{path.name}: has no audio track")
    except AudioError:
        raise
    except Exception:
        return None
    return None

