"""Where the coach's voice goes: the speakers, or a clock when there are none.

Playback runs on its own thread (or the sound card's callback) so the voice loop can
stop it at once when the patient starts to speak (barge-in). Both players keep what
was actually heard, which is what an interrupted reply is stored with.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import numpy as np
from numpy.typing import NDArray


class Player(Protocol):
    def play(self, samples: NDArray[np.float32]) -> None:
        """Queue audio after what is already queued; returns at once."""
        ...

    def stop(self) -> None:
        """Drop everything queued and fall silent now."""
        ...

    @property
    def busy(self) -> bool:
        """True while queued audio remains to be heard."""
        ...

    def heard_seconds(self) -> float:
        ...

    def close(self) -> None: ...


class ClockPlayer:
    """Plays to no device, in real time: for tests, benchmarks and machines with no sound card."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._lock = threading.Lock()
        self._queued = 0.0
        """Seconds of audio queued but not yet heard."""
        self._since = time.perf_counter()
        self._heard = 0.0
        self.stopped_at: float | None = None

    def _advance(self) -> None:
        now = time.perf_counter()
        played = min(self._queued, now - self._since)
        self._queued -= played
        self._heard += played
        self._since = now

    def play(self, samples: NDArray[np.float32]) -> None:
        with self._lock:
            self._advance()
            self._queued += len(samples) / self.sample_rate

    def stop(self) -> None:
        with self._lock:
            self._advance()
            self._queued = 0.0
            self.stopped_at = time.perf_counter()

    @property
    def busy(self) -> bool:
        with self._lock:
            self._advance()
            return self._queued > 0

    def heard_seconds(self) -> float:
        with self._lock:
            self._advance()
            return self._heard

    def close(self) -> None:
        self.stop()


class SpeakerPlayer:
    """The default output device through sounddevice (optional: only live use needs it)."""

    def __init__(self, sample_rate: int, device: str | int | None = None) -> None:
        from coach.voice.audio import AudioError

        try:
            import sounddevice
        except (ImportError, OSError) as exc:
            raise AudioError("spoken replies need the sounddevice package and PortAudio: "
                             "pip install sounddevice, and apt-get install libportaudio2") from exc
        self.sample_rate = sample_rate
        self._lock = threading.Lock()
        self._buffer = np.zeros(0, dtype=np.float32)
        self._heard = 0
        try:
            self._stream = sounddevice.OutputStream(samplerate=sample_rate, channels=1, dtype="float32",
                                                    device=device, callback=self._callback)
            self._stream.start()
        except Exception as exc:  # PortAudio reports a missing device in several ways
            raise AudioError(f"no speaker found ({exc}); plug one in or choose --device") from None

    def _callback(self, out: NDArray[np.float32], frames: int, _time: object, _status: object) -> None:
        with self._lock:
            n = min(frames, len(self._buffer))
            out[:n, 0] = self._buffer[:n]
            out[n:, 0] = 0.0
            self._buffer = self._buffer[n:]
            self._heard += n

    def play(self, samples: NDArray[np.float32]) -> None:
        with self._lock:
            self._buffer = np.concatenate([self._buffer, samples.astype(np.float32)])

    def stop(self) -> None:
        with self._lock:
            self._buffer = np.zeros(0, dtype=np.float32)

    @property
    def busy(self) -> bool:
        with self._lock:
            return len(self._buffer) > 0

    def heard_seconds(self) -> float:
        with self._lock:
            return self._heard / self.sample_rate

    def close(self) -> None:
        self.stop()
        self._stream.stop()
        self._stream.close()
