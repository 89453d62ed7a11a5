"""A calm room for the coach to sit in: warm walls, a window's daylight, a plant, a shelf.

Low contrast on purpose: the face is what the patient should look at. All static
geometry in world space (metres), drawn with the avatar's shader.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from avatar.mesh import Part, closed_sphere, lathe, make_part, srgb_to_linear

WALL = srgb_to_linear((0.87, 0.81, 0.73))
WALL_LOW = srgb_to_linear((0.80, 0.72, 0.64))
FLOOR = srgb_to_linear((0.62, 0.50, 0.40))
WINDOW = srgb_to_linear((0.74, 0.82, 0.86))
FRAME = srgb_to_linear((0.95, 0.93, 0.88))
LEAF = srgb_to_linear((0.45, 0.60, 0.42))
LEAF_DARK = srgb_to_linear((0.33, 0.48, 0.34))
POT = srgb_to_linear((0.78, 0.55, 0.42))
WOOD = srgb_to_linear((0.70, 0.55, 0.42))
BOOKS = (srgb_to_linear((0.62, 0.70, 0.74)), srgb_to_linear((0.86, 0.74, 0.55)),
         srgb_to_linear((0.72, 0.58, 0.60)), srgb_to_linear((0.60, 0.68, 0.58)))
CHAIR = srgb_to_linear((0.56, 0.45, 0.40))

BACK_Z = -1.6


def box(name: str, center: tuple[float, float, float], size: tuple[float, float, float],
        color: tuple[float, float, float] | NDArray[np.float64]) -> Part:
    """Six flat-shaded faces (a vertex per face corner so edges stay crisp)."""
    c = np.asarray(center, dtype=np.float64)
    h = np.asarray(size, dtype=np.float64) / 2
    faces = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            n = np.zeros(3)
            n[axis] = sign
            u = np.zeros(3)
            u[(axis + 1) % 3] = 1.0
            v = np.cross(n, u)
            corners = [c + h * (n + a * u + b * v) for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
            faces.append(corners)
    pts = np.asarray(faces, dtype=np.float64).reshape(-1, 3)
    quad = np.array([0, 1, 2, 0, 2, 3])
    idx = np.concatenate([quad + 4 * k for k in range(6)]).astype(np.uint32)
    part = make_part(name, pts, idx, tuple(float(x) for x in np.asarray(color)[:3]))  # type: ignore[arg-type]
    normals = np.repeat(np.asarray([[0, 0, 0]] * 6, dtype=np.float32), 4, axis=0)
    for k in range(6):
        axis, sign = divmod(k, 2)
        normals[4 * k:4 * k + 4, axis] = 1.0 if sign else -1.0
    part.normals = normals
    return part


def _wall() -> Part:
    """The back wall as a fine grid so its colour can fall off softly towards the floor."""
    xs = np.linspace(-3.0, 3.0, 13)
    ys = np.linspace(0.0, 3.0, 13)
    xx, yy = np.meshgrid(xs, ys, indexing="ij")
    pts = np.stack([xx, yy, np.full_like(xx, BACK_Z)], axis=-1).reshape(-1, 3)
    n = len(ys)
    idx = []
    for i in range(len(xs) - 1):
        for j in range(n - 1):
            a, b, c, d = i * n + j, (i + 1) * n + j, (i + 1) * n + j + 1, i * n + j + 1
            idx += [a, b, c, a, c, d]
    t = np.clip(pts[:, 1] / 2.2, 0, 1)[:, None]
    colors = np.asarray(WALL_LOW) * (1 - t) + np.asarray(WALL) * t
    return make_part("wall", pts, np.asarray(idx, dtype=np.uint32), lambda _p: colors)


def _plant(x: float, z: float) -> list[Part]:
    parts = [make_part("pot", *lathe(np.array([[0.0, 0.0], [0.13, 0.0], [0.16, 0.34], [0.17, 0.36],
                                                 [0.0, 0.36]]), 32), POT)]
    parts[0].positions += np.array([x, 0.0, z], dtype=np.float32)
    rng = np.random.default_rng(7)
    for k in range(14):
        angle = rng.uniform(0, 2 * np.pi)
        lift = rng.uniform(0.35, 1.0)
        radius = np.array([0.05, 0.16, 0.022]) * rng.uniform(0.8, 1.2)
        tilt = rng.uniform(0.3, 0.9)
        spread = 0.12 * tilt
        center = np.array([x + np.cos(angle) * spread, 0.36 + lift * 0.55, z + np.sin(angle) * spread])
        ca, sa = np.cos(angle), np.sin(angle)
        rot = np.array([[ca, 0, -sa], [0, 1, 0], [sa, 0, ca]]) @ np.array(
            [[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])

        def shape(unit: NDArray[np.float64], r: NDArray[np.float64] = radius, m: NDArray[np.float64] = rot,
                  c: NDArray[np.float64] = center) -> NDArray[np.float64]:
            return np.asarray((unit * r) @ m.T + c)

        color = LEAF if k % 2 else LEAF_DARK
        parts.append(make_part(f"leaf{k}", *closed_sphere(8, 12, shape), color))
    return parts


def build_room() -> list[Part]:
    parts = [_wall(),
             box("floor", (0.0, -0.01, 0.0), (6.0, 0.02, 6.0), FLOOR),
             box("ceiling", (0.0, 2.7, 0.0), (6.0, 0.02, 6.0), WALL),
             box("left_wall", (-2.2, 1.5, 0.0), (0.02, 3.0, 6.0), WALL),
             box("right_wall", (2.2, 1.5, 0.0), (0.02, 3.0, 6.0), WALL),
             box("window", (-0.85, 1.45, BACK_Z + 0.01), (0.9, 1.0, 0.01), WINDOW),
             box("frame_top", (-0.85, 1.97, BACK_Z + 0.03), (0.98, 0.05, 0.04), FRAME),
             box("frame_bottom", (-0.85, 0.93, BACK_Z + 0.05), (1.02, 0.05, 0.09), FRAME),
             box("frame_left", (-1.32, 1.45, BACK_Z + 0.03), (0.05, 1.06, 0.04), FRAME),
             box("frame_right", (-0.38, 1.45, BACK_Z + 0.03), (0.05, 1.06, 0.04), FRAME),
             box("frame_mid", (-0.85, 1.45, BACK_Z + 0.03), (0.03, 1.0, 0.03), FRAME),
             box("shelf", (0.85, 1.25, BACK_Z + 0.12), (0.9, 0.03, 0.24), WOOD),
             box("chair_back", (0.0, 0.78, -0.25), (0.50, 0.52, 0.06), CHAIR)]
    for k, (dx, height) in enumerate(((0.0, 0.24), (0.05, 0.2), (0.10, 0.26), (0.15, 0.22), (0.22, 0.18))):
        parts.append(box(f"book{k}", (0.55 + dx, 1.265 + height / 2, BACK_Z + 0.13),
                         (0.045, height, 0.17), BOOKS[k % len(BOOKS)]))
    parts += _plant(1.0, BACK_Z + 0.45)
    return parts
