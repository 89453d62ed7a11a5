"""From piper's timed IPA phonemes to mouth shapes (OVR visemes) at any instant.

Each phoneme becomes a segment with a viseme mix; neighbouring segments cross-fade
over eased ramps centred on their shared boundary, so the weights always sum to one
and never jump. On top of that, coarticulation as speakers do it: consonants made
inside the mouth (k, n, t, r) borrow the jaw of the nearest vowel, very short vowels
undershoot, and lip rounding starts ahead of a rounded vowel.

The viseme groups follow the Oculus/Meta OVR lipsync reference (15 visemes); the
IPA assignments are ours, for espeak-ng's English phoneme set that piper speaks.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

from avatar.voice import TimedPhoneme

IPA_TO_VISEME: dict[str, str] = {
    **dict.fromkeys("pbm", "PP"),
    **dict.fromkeys("fv", "FF"),
    **dict.fromkeys("θð", "TH"),
    **dict.fromkeys("tdlɾʔ", "DD"),
    **dict.fromkeys("kgŋxɡ", "kk"),
    **dict.fromkeys("ʃʒʧʤ", "CH"),
    **dict.fromkeys("szç", "SS"),
    **dict.fromkeys("nɲ", "nn"),
    **dict.fromkeys("ɹrɻʁw", "RR"),
    **dict.fromkeys("aɑæɐʌɒ", "aa"),
    **dict.fromkeys("ɛeɜɝəɚ", "E"),
    **dict.fromkeys("iɪjᵻy", "ih"),
    **dict.fromkeys("oɔ", "oh"),
    **dict.fromkeys("uʊ", "ou"),
    "h": "sil",
}
"""One IPA symbol -> viseme. Symbols not listed (stress, length, ties) join a neighbour."""

PAUSES = frozenset(" .,;:!?—–-…\"'()")
"""Piper gives pauses and punctuation their own durations: the mouth rests there."""
JOIN_NEXT = frozenset("ˈˌ")
"""Stress marks belong to the following vowel."""
JOIN_PREVIOUS = frozenset("ːˑ̃͡")
"""Length marks and combining signs lengthen what came before."""

VOWELS = frozenset({"aa", "E", "ih", "oh", "ou"})
HIDDEN = {"kk": 0.45, "nn": 0.45, "DD": 0.35, "RR": 0.2}
"""Share of a tongue-made consonant's shape taken from the nearest vowel (the lips barely move)."""
ROUNDED = frozenset({"oh", "ou"})

DEFAULT_RAMP = 0.065
"""Half-width of a cross-fade in seconds; shorter where a segment is short."""
DEFAULT_LEAD = 0.0
"""Seconds the picture runs ahead of the sound (positive: mouth moves first). Headsets with
display latency can raise it; ITU-R BT.1359 finds sound ahead by more than about 45 ms,
or behind by more than about 125 ms, detectable."""


def viseme_for(phoneme: str) -> str | None:
    """The viseme of one piper symbol; None where it only modifies a neighbour."""
    if phoneme in PAUSES or not phoneme.strip():
        return "sil"
    if phoneme in JOIN_NEXT or phoneme in JOIN_PREVIOUS:
        return None
    return IPA_TO_VISEME.get(phoneme[0])


@dataclass
class Segment:
    viseme: str
    start: float
    end: float
    mix: dict[str, float] = field(default_factory=dict)
    """What the mouth shows during this segment (mostly `viseme`, partly its neighbours)."""

    @property
    def duration(self) -> float:
        return self.end - self.start


def segments(phonemes: Iterable[TimedPhoneme]) -> list[Segment]:
    """Merge modifiers into their phoneme, and runs of one viseme into one segment."""
    out: list[Segment] = []
    pending_start: float | None = None
    for ph in phonemes:
        v = viseme_for(ph.phoneme)
        if v is None:
            if ph.phoneme in JOIN_NEXT:
                pending_start = ph.start if pending_start is None else pending_start
            elif out:
                out[-1].end = ph.end
            else:
                pending_start = ph.start if pending_start is None else pending_start
            continue
        start = pending_start if pending_start is not None else ph.start
        pending_start = None
        if out and out[-1].viseme == v:
            out[-1].end = ph.end
        else:
            if out and out[-1].end < start:
                out.append(Segment("sil", out[-1].end, start))
            out.append(Segment(v, start, ph.end))
    return out


def _coarticulate(segs: list[Segment]) -> None:
    for k, seg in enumerate(segs):
        mix = {seg.viseme: 1.0}
        share = HIDDEN.get(seg.viseme)
        if share:
            neighbours = [s for s in (segs[k + 1] if k + 1 < len(segs) else None,
                                      segs[k - 1] if k > 0 else None) if s is not None and s.viseme in VOWELS]
            if neighbours:
                mix = {seg.viseme: 1.0 - share}
                mix[neighbours[0].viseme] = mix.get(neighbours[0].viseme, 0.0) + share
        if seg.viseme in VOWELS and seg.duration < 0.07:
            mix = {v: w * max(0.6, seg.duration / 0.07) for v, w in mix.items()}
        if seg.viseme not in VOWELS and seg.viseme not in ("sil", "PP", "FF"):
            ahead = next((s for s in segs[k + 1:k + 3] if s.viseme in VOWELS), None)
            if ahead is not None and ahead.viseme in ROUNDED and ahead.start - seg.end < 0.15:
                mix["ou"] = mix.get("ou", 0.0) + 0.3
        seg.mix = mix


def _ramp(x: float) -> float:
    """0 before -1, 1 after +1, eased (smoothstep) in between."""
    if x <= -1.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    t = (x + 1.0) / 2.0
    return t * t * (3.0 - 2.0 * t)


class VisemeTrack:
    """Viseme weights at any time of one utterance, on the utterance's clock."""

    def __init__(self, phonemes: Iterable[TimedPhoneme], ramp: float = DEFAULT_RAMP) -> None:
        self.segments = segments(phonemes)
        _coarticulate(self.segments)
        self._starts = [s.start for s in self.segments]
        n = len(self.segments)
        # the half-width at boundary k (between segment k-1 and k); the first and last fade from rest
        self._half = [0.0] * (n + 1)
        for k in range(n + 1):
            left = self.segments[k - 1].duration if k > 0 else ramp * 2
            right = self.segments[k].duration if k < n else ramp * 2
            self._half[k] = max(1e-3, min(ramp, 0.5 * left, 0.5 * right))
        self.duration = self.segments[-1].end if self.segments else 0.0

    def _boundary(self, k: int) -> float:
        return self.segments[k].start if k < len(self.segments) else self.segments[-1].end

    def weights(self, t: float) -> dict[str, float]:
        """Viseme weights at t seconds; outside the utterance the mouth rests (sil)."""
        if not self.segments:
            return {"sil": 1.0}
        i = bisect.bisect_right(self._starts, t) - 1
        out: dict[str, float] = {}
        total = 0.0
        for k in (i - 1, i, i + 1):
            if not 0 <= k < len(self.segments):
                continue
            up = _ramp((t - self._boundary(k)) / self._half[k])
            down = _ramp((t - self._boundary(k + 1)) / self._half[k + 1])
            w = up * (1.0 - down)
            if w <= 0.0:
                continue
            total += w
            for v, share in self.segments[k].mix.items():
                out[v] = out.get(v, 0.0) + w * share
        rest = max(0.0, 1.0 - total)
        if rest > 0:
            out["sil"] = out.get("sil", 0.0) + rest
        return out

    def viseme_at(self, t: float) -> str:
        """The segment's own viseme at t (what the sound is), for measuring against the picture."""
        i = bisect.bisect_right(self._starts, t) - 1
        if 0 <= i < len(self.segments) and t < self.segments[i].end:
            return self.segments[i].viseme
        return "sil"


def openness(weights: dict[str, float]) -> float:
    """How open the jaw is for these weights (0..1), from the viseme shapes' jaw settings."""
    from avatar.face import TARGET_PARAMS

    return sum(w * TARGET_PARAMS[v].jaw for v, w in weights.items() if v in TARGET_PARAMS)
