"""Run inside the Monado chroot: a headless OpenXR session, both eyes read back on 'aa' and on 'PP'.

Writes OUT/eyes.npz: per captured eye its image, the mouth box and the pinned viseme,
for the host-side test to judge. Run by run_session.sh; not imported by the package.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from avatar.animation import Animator, Pose, Say
from avatar.bench import mouth_box
from avatar.face import build_face
from avatar.visemes import VisemeTrack
from avatar.voice import TimedPhoneme
from avatar.xr import run_headset

CAPTION = "A short walk after lunch is a lovely habit."
SWITCH = 24
"""Frames on 'aa', then as many on 'PP' (the null compositor paces at about 20 Hz)."""


def main(out: Path) -> None:
    def weights(frame: int, _seconds: float) -> dict[str, float]:
        return {"aa": 1.0} if frame < SWITCH else {"PP": 1.0}

    def capture(frame: int) -> bool:
        return frame in (SWITCH - 2, 2 * SWITCH - 2)

    animator = Animator()
    # the coach is speaking throughout, so the caption floats in view; the mouth is pinned per frame
    long_vowel = VisemeTrack([TimedPhoneme("ɑ", 0.0, 60.0)])
    animator.push([Say(0.0, long_vowel, CAPTION)])
    eyes = run_headset(build_face(), frames=2 * SWITCH, weights_for=weights, capture=capture,
                       animator=animator)
    arrays: dict[str, np.ndarray] = {}
    for k, eye in enumerate(eyes):
        h, w, _ = eye.image.shape
        viseme = "aa" if "aa" in eye.weights else "PP"
        arrays[f"image_{k}"] = eye.image
        arrays[f"box_{k}"] = np.asarray(mouth_box(Pose(), w, eye.view_proj, h))
        arrays[f"meta_{k}"] = np.asarray([eye.eye, 1 if viseme == "aa" else 0])
        arrays[f"view_proj_{k}"] = eye.view_proj
        arrays[f"lead_{k}"] = np.asarray([eye.display_lead, 1.0 if eye.lead_measured else 0.0])
    np.savez_compressed(out / "eyes.npz", **arrays)  # type: ignore[arg-type]
    print(f"captured {len(eyes)} eye images -> {out / 'eyes.npz'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
