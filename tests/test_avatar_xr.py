"""The headset against a real OpenXR runtime: Monado (null compositor, simulated HMD) in a trixie chroot.

The chroot is built once by avatar/xr_runtime/build_chroot.sh and cached under the user
cache; the session client runs inside it with the project's source bind-mounted and
wheels downloaded here. Skips, saying why, only where the chroot cannot be built.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from avatar.bench import mouth_opening

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "avatar" / "xr_runtime"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "avatar-health-coach"
WHEELS = ("moderngl==5.13.0", "glcontext==3.1.0", "pyopenxr==1.1.6501", "PyOpenGL==3.1.10", "glfw==2.11.0")


def _chroot() -> Path:
    if os.geteuid() != 0:
        pytest.skip("building the Monado chroot needs root (debootstrap and chroot)")
    proc = subprocess.run([str(SCRIPTS / "build_chroot.sh"), str(CACHE / "monado-trixie")],
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        pytest.skip(f"the Monado chroot cannot be built here: {proc.stderr.strip()[-300:]}")
    return CACHE / "monado-trixie"


def _wheels() -> Path:
    folder = CACHE / "xr-wheels-cp313"
    if len(list(folder.glob("*.whl"))) < len(WHEELS):
        folder.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                               "--only-binary=:all:",
                               "--python-version", "3.13", "--implementation", "cp",
                               "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64",
                               "-d", str(folder), *WHEELS], capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            pytest.skip(f"cannot fetch the session client's wheels for the chroot: {proc.stderr[-300:]}")
    return folder


@pytest.fixture(scope="module")
def eyes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    root, wheels = _chroot(), _wheels()
    out = tmp_path_factory.mktemp("xr")
    proc = subprocess.run([str(SCRIPTS / "run_session.sh"), str(root), str(REPO), str(out), str(wheels)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    with np.load(out / "eyes.npz") as data:
        return {k: data[k] for k in data.files}


def _captures(eyes: dict[str, np.ndarray]) -> list[tuple[int, bool, np.ndarray, tuple[int, int, int, int]]]:
    out = []
    for k in range(len([n for n in eyes if n.startswith("image_")])):
        eye, is_aa = (int(x) for x in eyes[f"meta_{k}"])
        box = tuple(int(x) for x in eyes[f"box_{k}"])
        out.append((eye, bool(is_aa), eyes[f"image_{k}"], box))  # type: ignore[arg-type]
    return out


def test_avatar_is_in_view_in_both_eyes(eyes: dict[str, np.ndarray]) -> None:
    captures = _captures(eyes)
    assert {c[0] for c in captures} == {0, 1} and len(captures) == 4
    for _eye, _aa, image, (x0, y0, x1, y1) in captures:
        h, w, _ = image.shape
        assert 0 < x0 < x1 < w and 0 < y0 < y1 < h  # the mouth projects inside the eye's image
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        half = max(4, (x1 - x0))
        face = image[max(0, cy - 3 * half):cy, max(0, cx - half):cx + half].reshape(-1, 3).astype(int)
        skin = (face[:, 0] > 170) & (face[:, 0] > face[:, 2] + 25)
        assert skin.mean() > 0.4, "no face above the mouth in this eye"
    left = next(c for c in captures if c[0] == 0 and c[1])
    right = next(c for c in captures if c[0] == 1 and c[1])
    assert left[3][0] != right[3][0]  # two viewpoints: stereo, not one image twice


def test_mouth_open_on_aa_and_closed_on_pp(eyes: dict[str, np.ndarray]) -> None:
    for eye in (0, 1):
        shots = {aa: mouth_opening(img, box) for e, aa, img, box in _captures(eyes) if e == eye}
        assert shots[True] >= 4, f"eye {eye}: the mouth did not open on 'aa' ({shots})"
        assert shots[False] <= shots[True] // 3, f"eye {eye}: the mouth did not close on 'PP' ({shots})"


def test_caption_floats_below_the_face_in_both_eyes(eyes: dict[str, np.ndarray]) -> None:
    for _eye, _aa, image, (x0, y0, x1, y1) in _captures(eyes):
        h = image.shape[0]
        below = image[y1 + 2:min(h, y1 + 20 * (y1 - y0)), max(0, x0 - 12 * (x1 - x0)):x1 + 12 * (x1 - x0)]
        pixels = below.reshape(-1, 3).astype(int)
        panel = (pixels.max(axis=1) < 110) & (np.abs(pixels[:, 0] - pixels[:, 2]) < 25)  # dark grey
        text = pixels.min(axis=1) > 225  # near-white letters
        assert panel.sum() > 30 and text.sum() > 5, "no caption under the avatar"


def test_frames_are_posed_for_their_predicted_display_time(eyes: dict[str, np.ndarray]) -> None:
    leads = [eyes[name] for name in eyes if name.startswith("lead_")]
    assert leads
    for lead, measured in leads:
        # Monado offers XR_KHR_convert_timespec_time: the lead is read off its clock, and a
        # frame is seen within a few display periods (the null compositor paces at about 20 Hz)
        assert measured == 1.0
        assert 0.0 < lead < 0.25, lead
