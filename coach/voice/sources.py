"""Where live speech comes from: a recording, a raw PCM stream, or the microphone.

Every source yields 16 kHz mono float32 frames of `vad.FRAME` samples, as they
arrive, so that the rest of the voice loop is the same for a file in a test, the
headset client's PCM stream and a microphone on the desk.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np
from numpy.typing import NDArray

from coach.voice.audio import SAMPLE_RATE, AudioError, load_audio
from coach.voice.vad import FRAME

MAX_PCM_RATE = 192_000


class AudioSource(Protocol):
    name: str

    def frames(self) -> Iterator[NDArray[np.float32]]:
        """Frames of `FRAME` samples, 16 kHz mono, in arrival order; ends when the source does."""
        ...


def _framed(chunks: Iterator[NDArray[np.float32]]) -> Iterator[NDArray[np.float32]]:
    pending = np.zeros(0, dtype=np.float32)
    for chunk in chunks:
        pending = np.concatenate([pending, chunk])
        while len(pending) >= FRAME:
            yield pending[:FRAME]
            pending = pending[FRAME:]


def _resample(samples: NDArray[np.float32], rate: int) -> NDArray[np.float32]:
    if rate == SAMPLE_RATE:
        return samples
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate, SAMPLE_RATE)
    return np.asarray(resample_poly(samples, SAMPLE_RATE // g, rate // g), dtype=np.float32)


class FileSource:
    """A recording, optionally paced in real time (as if someone were saying it now)."""

    def __init__(self, path: Path, realtime: bool = False, trailing_silence_s: float = 2.0) -> None:
        self.name = path.name
        self.samples = load_audio(path)
        self.realtime = realtime
        self.trailing = np.zeros(int(trailing_silence_s * SAMPLE_RATE), dtype=np.float32)

    def frames(self) -> Iterator[NDArray[np.float32]]:
        # Trailing silence lets the end of the turn be heard the way it would be live.
        audio = np.concatenate([self.samples, self.trailing])
        start = time.perf_counter()
        for n, frame in enumerate(_framed(iter([audio]))):
            if self.realtime:
                delay = start + n * FRAME / SAMPLE_RATE - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            yield frame


class PcmSource:
    """Raw little-endian 16-bit PCM from a pipe or socket (the headset client sends this)."""

    def __init__(self, stream: BinaryIO, rate: int = SAMPLE_RATE, channels: int = 1,
                 name: str = "pcm stream", read_bytes: int = 4096) -> None:
        if not 8000 <= rate <= MAX_PCM_RATE:
            raise AudioError(f"{name}: a sample rate of {rate} Hz is not supported; use 8000-192000")
        if channels not in (1, 2):
            raise AudioError(f"{name}: {channels} channels; send mono or stereo")
        self.stream, self.rate, self.channels, self.name = stream, rate, channels, name
        self.read_bytes = read_bytes - read_bytes % (2 * channels)

    def _chunks(self) -> Iterator[NDArray[np.float32]]:
        leftover = b""
        width = 2 * self.channels
        while True:
            data = self.stream.read(self.read_bytes)
            if not data:
                return
            data = leftover + data
            cut = len(data) - len(data) % width
            data, leftover = data[:cut], data[cut:]
            pcm = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
            if self.channels == 2:
                pcm = pcm.reshape(-1, 2).mean(axis=1)
            yield _resample(pcm, self.rate)

    def frames(self) -> Iterator[NDArray[np.float32]]:
        yield from _framed(self._chunks())


class MicSource:
    """The default input device, through sounddevice (optional: only live use needs it)."""

    def __init__(self, device: str | int | None = None) -> None:
        try:
            import sounddevice
        except (ImportError, OSError) as exc:
            raise AudioError("live microphone input needs the sounddevice package and PortAudio: "
                             "pip install sounddevice, and apt-get install libportaudio2") from exc
        self._sd = sounddevice
        self.device = device
        try:
            info = sounddevice.query_devices(device, kind="input")
        except Exception as exc:  # PortAudio reports a missing device in several ways
            raise AudioError(f"no microphone found ({exc}); plug one in or choose --device") from None
        self.name = str(info["name"])
        self.rate = int(info["default_samplerate"])

    def frames(self) -> Iterator[NDArray[np.float32]]:
        q: queue.Queue[NDArray[np.float32]] = queue.Queue()

        def callback(data: NDArray[np.float32], _frames: int, _time: object, _status: object) -> None:
            q.put(data[:, 0].copy())

        with self._sd.InputStream(samplerate=self.rate, channels=1, dtype="float32",
                                  device=self.device, callback=callback):
            def chunks() -> Iterator[NDArray[np.float32]]:
                while True:
                    yield _resample(q.get(), self.rate)

            yield from _framed(chunks())
