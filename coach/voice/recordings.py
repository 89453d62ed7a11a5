"""Real recorded speech with known words, for measuring speech-recognition accuracy.

Synthesised questions flatter a recogniser (clean, evenly paced, the same voice every
time), so the word error rate that matters is measured on people. Debian ships a few
short read-speech recordings with their transcripts in two packages: the pocketsphinx
test data (LibriVox audiobook sentences, spoken card names, a robot command) and
alsa-utils' channel-test voice. They are fetched from the Debian archive with
`apt-get download` (not installed) and unpacked into the coach's cache.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from coach.voice.audio import check_samples, load_audio


class RecordingsError(Exception):
    """The recordings cannot be fetched here; the message says what to do."""


@dataclass(frozen=True)
class Recording:
    package: str
    path: str
    """Inside the unpacked package."""
    words: str
    """What is said, as the package's own transcript gives it."""


_PS = "usr/share/pocketsphinx/test/data"
_ALSA = "usr/share/sounds/alsa"
RECORDINGS: tuple[Recording, ...] = (
    Recording("pocketsphinx-testdata", f"{_PS}/librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
              "and mister john dashwood had then leisure to consider how much there might be "
              "prudently in his power to do for them"),
    Recording("pocketsphinx-testdata", f"{_PS}/librivox/sense_and_sensibility_01_austen_64kb-0880.wav",
              "he was not an ill disposed young man"),
    Recording("pocketsphinx-testdata", f"{_PS}/librivox/sense_and_sensibility_01_austen_64kb-0890.wav",
              "unless to be rather cold hearted and rather selfish is to be ill disposed"),
    Recording("pocketsphinx-testdata", f"{_PS}/librivox/sense_and_sensibility_01_austen_64kb-0920.wav",
              "had he married a more amiable woman he might have been made still more "
              "respectable than he was"),
    Recording("pocketsphinx-testdata", f"{_PS}/librivox/sense_and_sensibility_01_austen_64kb-0930.wav",
              "he might even have been made amiable himself"),
    Recording("pocketsphinx-testdata", f"{_PS}/cards/001.wav", "ten of clubs"),
    Recording("pocketsphinx-testdata", f"{_PS}/cards/002.wav", "four queen of clubs"),
    Recording("pocketsphinx-testdata", f"{_PS}/cards/003.wav", "seven of clubs"),
    Recording("pocketsphinx-testdata", f"{_PS}/cards/004.wav", "five five"),
    Recording("pocketsphinx-testdata", f"{_PS}/cards/005.wav",
              "eight of spades four of clubs seven of hearts"),
    Recording("pocketsphinx-testdata", f"{_PS}/goforward.raw", "go forward ten meters"),
    *(Recording("alsa-utils", f"{_ALSA}/{name.replace(' ', '_')}.wav", name.lower())
      for name in ("Front Center", "Front Left", "Front Right", "Rear Center", "Rear Left",
                   "Rear Right", "Side Left", "Side Right")),
)
"""The pocketsphinx transcript of 0920 reads "a more a amiable": the reader's slip, kept
out here because a recogniser that drops a stutter is right to."""

PACKAGES = tuple(sorted({r.package for r in RECORDINGS}))


def fetch(cache: Path) -> Path:
    """Unpack the Debian packages into `cache` once; later calls reuse them."""
    done = cache / ".complete"
    if done.is_file():
        return cache
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise RecordingsError("the real recordings come from Debian packages, and apt-get/dpkg "
                              "are not available here; run the benchmark on Debian or Ubuntu")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(["apt-get", "download", *PACKAGES], cwd=tmp, check=True,
                           capture_output=True, text=True, timeout=300)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            raise RecordingsError(f"could not download {', '.join(PACKAGES)} from the Debian "
                                  f"archive ({detail.strip().splitlines()[-1] if detail.strip() else exc}); "
                                  "check the network to the archive and run `apt-get update`") from exc
        for deb in Path(tmp).glob("*.deb"):
            subprocess.run(["dpkg", "-x", str(deb), str(cache)], check=True, timeout=120)
    missing = [r.path for r in RECORDINGS if not (cache / r.path).is_file()]
    if missing:
        raise RecordingsError(f"the Debian packages no longer hold {missing[0]}; "
                              "update coach/voice/recordings.py for the new package layout")
    done.touch()
    return cache


def load(cache: Path, recording: Recording) -> NDArray[np.float32]:
    """16 kHz mono samples of one recording (the .raw files are headerless 16-bit PCM)."""
    path = cache / recording.path
    if path.suffix == ".raw":
        pcm = np.frombuffer(path.read_bytes(), dtype="<i2").astype(np.float32) / 32768.0
        return check_samples(pcm, path.name)
    return load_audio(path)
