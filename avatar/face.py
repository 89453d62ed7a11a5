"""Sam, the coach's own face: a stylised head and shoulders built from parameters.

No clearly licensed human avatar with mouth shapes ships in a registry package, so
the face is made here. Every part is a function of a small set of facial
parameters (jaw, lip shape, lids, brows, gaze); a morph target is the same build
at a viseme's or expression's parameters minus the neutral build, so mouth shapes
stay consistent with each other and the whole model is reproducible from code.

Units are metres; +y up, +z towards the viewer (glTF's convention). The head's
centre sits at seated eye height so a viewer 1.2 m away meets its eyes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from avatar.mesh import (
    F32,
    Grid,
    Part,
    closed_sphere,
    grid_indices,
    lathe,
    make_part,
    open_shell,
    smooth_normals,
    srgb_to_linear,
    tube,
)

VISEMES: tuple[str, ...] = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR",
                            "aa", "E", "ih", "oh", "ou")
"""The 15 Oculus/OVR visemes, in their usual order."""
EXPRESSIONS: tuple[str, ...] = ("blink", "browRaise", "smile", "concern")
GAZE: tuple[str, ...] = ("lookLeft", "lookRight", "lookUp", "lookDown")
CONTROLS: tuple[str, ...] = VISEMES + EXPRESSIONS + GAZE
"""Every morph target the animation drives, for our face and for mapped user avatars."""

HEAD_CENTER = np.array([0.0, 1.22, 0.0])
"""World position of the head's centre (seated eye height is about 1.2 m)."""
NECK_PIVOT = HEAD_CENTER + np.array([0.0, -0.10, -0.01])
"""Head turns and nods pivot here (top of the neck)."""

RY = 0.108
LIP_POINTS = 56
MOUTH_Y = -0.047
EYE_X, EYE_Y, EYE_R = 0.031, 0.012, 0.0145
HINGE = np.array([0.0, 0.004, -0.004])
"""The jaw's hinge (head frame), near the ears, so an open jaw swings down and back."""


def _rgb(srgb: tuple[float, float, float]) -> NDArray[np.float64]:
    return np.asarray(srgb_to_linear(srgb))


SKIN = _rgb((0.91, 0.72, 0.60))
BLUSH = _rgb((0.93, 0.60, 0.55))
LIPS = _rgb((0.80, 0.54, 0.51))
HAIR = _rgb((0.40, 0.28, 0.21))
BROWS = _rgb((0.33, 0.23, 0.17))
LASH = _rgb((0.20, 0.14, 0.11))
SWEATER = _rgb((0.50, 0.65, 0.62))
COLLAR = _rgb((0.93, 0.90, 0.84))
TEETH = _rgb((0.95, 0.94, 0.90))
MOUTH = _rgb((0.30, 0.09, 0.10))
TONGUE = _rgb((0.78, 0.40, 0.42))
SCLERA = _rgb((0.96, 0.95, 0.93))
IRIS = _rgb((0.42, 0.30, 0.20))
IRIS_RIM = _rgb((0.25, 0.18, 0.12))
PUPIL = _rgb((0.04, 0.03, 0.03))


@dataclass(frozen=True)
class FaceParams:
    """What the face is doing; zero everywhere is the neutral, relaxed face."""

    jaw: float = 0.0
    """0 closed .. 1 wide open (about 15 degrees)."""
    width: float = 0.0
    """Mouth corners out (+) for E and SS; rounding pulls them in."""
    round: float = 0.0
    """Lips rounded and pushed forward (oh, ou, RR)."""
    press: float = 0.0
    """Lips pressed together (PP)."""
    tuck: float = 0.0
    """Lower lip up under the upper teeth (FF)."""
    upper_raise: float = 0.0
    """Upper lip lifted to show the teeth (FF, SS, CH)."""
    tongue: float = 0.0
    """Tongue tip forward between the teeth (TH)."""
    corner: float = 0.0
    """Mouth corners up (+, smile) or down (-, concern)."""
    cheek: float = 0.0
    lid: float = 0.0
    """0 open .. 1 closed."""
    lid_lower: float = 0.0
    """Lower lids up (a smile's squint)."""
    brow: float = 0.0
    brow_inner: float = 0.0
    gaze_x: float = 0.0
    """Eyes turn to the avatar's left (+) / right (-), radians."""
    gaze_y: float = 0.0


TARGET_PARAMS: dict[str, FaceParams] = {
    "sil": FaceParams(),
    "PP": FaceParams(press=1.0),
    "FF": FaceParams(jaw=0.12, tuck=1.0, upper_raise=0.45),
    "TH": FaceParams(jaw=0.28, tongue=1.0, width=0.1),
    "DD": FaceParams(jaw=0.30, width=0.12),
    "kk": FaceParams(jaw=0.36, width=0.05),
    "CH": FaceParams(jaw=0.18, round=0.45, upper_raise=0.35),
    "SS": FaceParams(jaw=0.08, width=0.30, upper_raise=0.35),
    "nn": FaceParams(jaw=0.22, width=0.05),
    "RR": FaceParams(jaw=0.24, round=0.55),
    "aa": FaceParams(jaw=1.0, width=0.05),
    "E": FaceParams(jaw=0.52, width=0.30),
    "ih": FaceParams(jaw=0.34, width=0.32, corner=0.15),
    "oh": FaceParams(jaw=0.68, round=0.70),
    "ou": FaceParams(jaw=0.28, round=1.0),
    "blink": FaceParams(lid=1.0),
    "browRaise": FaceParams(brow=1.0),
    "smile": FaceParams(corner=1.0, width=0.25, cheek=1.0, lid_lower=0.6),
    "concern": FaceParams(brow_inner=1.0, corner=-0.35, width=-0.08),
    "lookLeft": FaceParams(gaze_x=0.35),
    "lookRight": FaceParams(gaze_x=-0.35),
    "lookUp": FaceParams(gaze_y=0.25),
    "lookDown": FaceParams(gaze_y=-0.25),
}


def _rx(y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Half-width of the head at height y: a rounded skull narrowing to a soft jaw."""
    yn = np.clip(y / RY, -1.0, 1.0)
    below = np.maximum(0.0, -yn)
    return np.asarray(0.079 * (1.0 - 0.24 * below ** 1.7) * (1.0 + 0.03 * np.exp(-((yn + 0.25) / 0.25) ** 2)))


def _rz(y: NDArray[np.float64]) -> NDArray[np.float64]:
    yn = np.clip(y / RY, -1.0, 1.0)
    return np.asarray(0.090 * (1.0 - 0.10 * np.maximum(0.0, -yn) ** 2.2))


def _head_shape(unit: Grid) -> Grid:
    y = unit[..., 1] * RY
    return np.stack([unit[..., 0] * _rx(y), y, unit[..., 2] * _rz(y)], axis=-1)


def face_z(x: NDArray[np.float64] | float, y: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """Depth of the front of the (undeformed) head at (x, y): where decals like the lips sit."""
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    inside = 1.0 - (ya / RY) ** 2 - (xa / _rx(ya)) ** 2
    return np.asarray(_rz(ya) * np.sqrt(np.maximum(inside, 0.0)))


def _jaw_rotate(points: NDArray[np.float64], angle: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """Swing points about the jaw hinge by angle (radians, per point or one for all)."""
    a = np.asarray(angle, dtype=np.float64)
    rel = points - HINGE
    c, s = np.cos(a), np.sin(a)
    y = rel[..., 1] * c - rel[..., 2] * s
    z = rel[..., 1] * s + rel[..., 2] * c
    return np.stack([points[..., 0], y + HINGE[1], z + HINGE[2]], axis=-1)


def _smoothstep(e0: float, e1: float, x: NDArray[np.float64]) -> NDArray[np.float64]:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return np.asarray(t * t * (3 - 2 * t))


def jaw_angle(p: FaceParams) -> float:
    return 0.26 * p.jaw


def _lip_geometry(p: FaceParams) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Centre line of the lips (upper half then lower half around u), tube radii, lower-lip weights."""
    u = np.linspace(0.0, 2 * np.pi, LIP_POINTS, endpoint=False)
    s, c = np.sin(u), np.cos(u)
    upper = s > 0
    half_width = 0.0245 * (1.0 + 0.16 * p.width - 0.36 * p.round) + 0.001 * p.cheek
    r_mid = np.where(upper, 0.0037, 0.0047) * (1.0 + 0.25 * p.round - 0.12 * p.press)
    r = 0.0018 + (r_mid - 0.0018) * np.abs(s) ** 0.6
    h_up = 0.0032 - 0.0012 * p.press + 0.0040 * p.upper_raise + 0.0012 * p.jaw + 0.0012 * p.round
    h_lo = 0.0040 - 0.0012 * p.press - 0.0055 * p.tuck + 0.0010 * p.round
    bow = 0.0009 * np.exp(-((u - np.pi / 2) / 0.35) ** 2) - 0.0006 * np.exp(-((u - np.pi / 2) / 0.12) ** 2)
    corner_lift = (0.0055 * max(p.corner, 0.0) + 0.0030 * min(p.corner, 0.0)) * np.abs(c) ** 3
    x = half_width * c
    y = MOUTH_Y + np.where(upper, h_up * s + bow, h_lo * s) + corner_lift
    forward = (0.0020 + 0.0075 * p.round) * np.abs(s) ** 1.5 - 0.0025 * p.tuck * (~upper) * np.abs(s)
    z = face_z(x, y) + 0.0034 + forward
    points = np.stack([x, y, z], axis=-1)
    lower_weight = np.where(upper, 0.0, np.abs(s) ** 0.8)
    points = _jaw_rotate(points, jaw_angle(p) * lower_weight)
    return points, r, lower_weight


def _lips(p: FaceParams) -> tuple[NDArray[np.float64], NDArray[np.uint32]]:
    center, radius, _ = _lip_geometry(p)
    return tube(center, radius, sides=10, squash=(0.75, 1.0))


def _mouth_inside(p: FaceParams) -> tuple[NDArray[np.float64], NDArray[np.uint32]]:
    """The dark of the open mouth: a fan inside the lips' centre line, just in front of the face."""
    center, _, _ = _lip_geometry(p)
    ring = center.copy()
    ring[:, 2] = face_z(ring[:, 0], ring[:, 1]) + 0.0016
    ring = _jaw_rotate(ring, 0.0)
    mid = ring.mean(axis=0)
    pts = np.concatenate([mid[None, :], ring])
    n = len(ring)
    k = np.arange(n)
    tris = np.stack([np.zeros(n, dtype=np.int64), 1 + (k + 1) % n, 1 + k], axis=-1)
    return pts, tris.astype(np.uint32).reshape(-1)


def _band(x0: float, x1: float, top: float, bottom: float, lift: float, cols: int = 28,
          ) -> NDArray[np.float64]:
    """A slightly curved strip in front of the face (a row of teeth), rows top to bottom."""
    x = np.linspace(x0, x1, cols)
    rows = []
    for k, (y, dz) in enumerate(((top, 0.0), ((top + bottom) / 2, 0.0007), (bottom, 0.0))):
        yy = np.full(cols, y) + lift * (np.abs(x) / max(abs(x0), abs(x1))) ** 2 * (k > 0)
        rows.append(np.stack([x, yy, face_z(x, MOUTH_Y) + 0.0024 + dz], axis=-1))
    return np.stack(rows)


def _teeth(p: FaceParams) -> tuple[NDArray[np.float64], NDArray[np.uint32]]:
    w = 0.0185 * (1.0 + 0.1 * p.width - 0.2 * p.round)
    upper = _band(-w, w, MOUTH_Y + 0.0050, MOUTH_Y - 0.0040, 0.0015)
    lower = _band(-w * 0.9, w * 0.9, MOUTH_Y - 0.0058, MOUTH_Y + 0.0010, -0.0010)
    lower = _jaw_rotate(lower.reshape(-1, 3), jaw_angle(p)).reshape(lower.shape)
    rows, cols, _ = upper.shape
    idx = grid_indices(rows, cols, wrap=False)
    pts = np.concatenate([upper.reshape(-1, 3), lower.reshape(-1, 3)])
    return pts, np.concatenate([idx, idx + rows * cols]).astype(np.uint32)


def _tongue(p: FaceParams) -> tuple[NDArray[np.float64], NDArray[np.uint32]]:
    center = np.array([0.0, MOUTH_Y - 0.0060 + 0.0050 * p.tongue, 0.0])
    center[2] = float(face_z(0.0, center[1])) + 0.0019 + 0.0030 * p.tongue
    radii = np.array([0.0125, 0.0050, 0.0012])

    def shape(unit: Grid) -> Grid:
        return np.asarray(center + unit * radii)

    pts, idx = closed_sphere(8, 14, shape)
    return _jaw_rotate(pts, jaw_angle(p)), idx


def _head(p: FaceParams) -> tuple[NDArray[np.float64], NDArray[np.uint32]]:
    pts, idx = closed_sphere(50, 68, _head_shape)
    x, y, z = pts[:, 0], pts[:, 1], pts[:, 2]
    front = _smoothstep(0.0, 0.04, z)
    # the chin and lower face swing with the jaw; the blend runs from the mouth line down
    below = _smoothstep(MOUTH_Y + 0.004, MOUTH_Y - 0.012, y) * _smoothstep(0.075, 0.035, np.abs(x))
    pts = _jaw_rotate(pts, jaw_angle(p) * below * front)
    # cheeks lift and fill a little in a smile
    cheek = np.exp(-(((np.abs(x) - 0.036) / 0.016) ** 2 + ((y + 0.022) / 0.016) ** 2)) * front
    pts[:, 1] += 0.0028 * p.cheek * cheek
    pts[:, 2] += 0.0018 * p.cheek * cheek
    # the philtrum and the skin around the mouth follow the lips forward when they round
    around = np.exp(-((x / 0.022) ** 2 + ((y - MOUTH_Y) / 0.014) ** 2)) * front
    pts[:, 2] += 0.0030 * p.round * around
    return pts, idx


def _head_colors(points: NDArray[np.float64]) -> NDArray[np.float64]:
    x, y = points[:, 0], points[:, 1] - HEAD_CENTER[1]
    blush = np.exp(-(((np.abs(x) - 0.040) / 0.018) ** 2 + ((y + 0.020) / 0.015) ** 2)) * (points[:, 2] > 0)
    color = SKIN * (1 - 0.45 * blush[:, None]) + BLUSH * 0.45 * blush[:, None]
    # a little painted-in shade: under the jaw, at the temples under the hair, round the eyes
    under = _smoothstep(-0.075, -0.105, y)
    eyes = np.exp(-(((np.abs(x) - EYE_X) / 0.016) ** 2 + ((y - EYE_Y) / 0.012) ** 2)) * (points[:, 2] > 0)
    shade = 1.0 - 0.22 * under - 0.06 * eyes
    return np.asarray(color * shade[:, None])


def _nose() -> tuple[NDArray[np.float64], NDArray[np.uint32]]:
    y0 = -0.018
    z0 = float(face_z(0.0, y0))

    def shape(unit: Grid) -> Grid:
        # a soft wedge: narrow at the bridge, rounder at the tip
        t = (unit[..., 1] + 1.0) / 2.0
        rx = 0.0105 * (1.0 - 0.45 * t)
        pts = np.stack([unit[..., 0] * rx, unit[..., 1] * 0.020 + y0,
                        z0 - 0.006 + np.maximum(unit[..., 2], -0.2) * (0.0115 - 0.005 * t)], axis=-1)
        return np.asarray(pts)

    return closed_sphere(14, 22, shape)


def _eye(side: float, p: FaceParams) -> tuple[NDArray[np.float64], NDArray[np.uint32], NDArray[np.float64]]:
    """An eyeball whose rings centre on the iris, turned by the gaze; returns colours too."""
    center = np.array([side * EYE_X, EYE_Y, float(face_z(EYE_X, EYE_Y)) - 0.0085])

    def shape(unit: Grid) -> Grid:
        # sphere built around +y, turned so the pole (the pupil) looks along +z
        d = np.stack([unit[..., 0], -unit[..., 2], unit[..., 1]], axis=-1)
        return np.asarray(d * EYE_R)

    pts, idx = closed_sphere(20, 24, shape)
    angle = np.arccos(np.clip(pts[:, 2] / EYE_R, -1, 1))
    # a soft catchlight from the key light (upper left), painted on the cornea
    catch = np.exp(-(((pts[:, 0] / EYE_R + 0.30) / 0.13) ** 2 + ((pts[:, 1] / EYE_R - 0.30) / 0.13) ** 2))
    col = np.where((angle < 0.20)[:, None], PUPIL,
                   np.where((angle < 0.46)[:, None],
                            IRIS + (IRIS_RIM - IRIS) * _smoothstep(0.30, 0.46, angle)[:, None], SCLERA))
    col = col + (np.ones(3) - col) * (0.85 * catch * (pts[:, 2] > 0))[:, None]
    gx, gy = p.gaze_x, p.gaze_y
    ry = np.array([[np.cos(gx), 0, np.sin(gx)], [0, 1, 0], [-np.sin(gx), 0, np.cos(gx)]])
    rx = np.array([[1, 0, 0], [0, np.cos(gy), -np.sin(gy)], [0, np.sin(gy), np.cos(gy)]])
    pts = pts @ (rx @ ry).T
    return pts + center, idx, col


def _lid(side: float, p: FaceParams, upper: bool) -> tuple[NDArray[np.float64], NDArray[np.uint32],
                                                           NDArray[np.float64]]:
    center = np.array([side * EYE_X, EYE_Y, float(face_z(EYE_X, EYE_Y)) - 0.0085])
    radius = EYE_R * 1.07
    if upper:
        rest, closed = 1.17, 1.98
        edge_angle = rest + (closed - rest) * p.lid - 0.10 * p.brow
    else:
        rest = np.pi - 2.20
        edge_angle = rest + 0.25 * p.lid_lower + 0.35 * p.lid

    def edge(phi: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.full_like(phi, edge_angle)

    def shape(unit: Grid) -> Grid:
        d = unit if upper else unit * np.array([1.0, -1.0, 1.0])
        return np.asarray(d * radius + center)

    pts, idx = open_shell(8, 24, shape, edge)
    rel_y = (pts[:, 1] - center[1]) / radius
    rim = np.abs(np.arccos(np.clip(rel_y if upper else -rel_y, -1, 1)) - edge_angle) < 0.16
    front = pts[:, 2] > center[2]
    col = np.where((rim & front & upper)[:, None], LASH, SKIN * 0.97)
    return pts, idx, col


def _brow(side: float, p: FaceParams) -> tuple[NDArray[np.float64], NDArray[np.uint32]]:
    t = np.linspace(0.0, 1.0, 18)
    x = side * (EYE_X - 0.015 + 0.035 * t)
    inner = 1.0 - t
    y = (EYE_Y + 0.022 + 0.0042 * np.sin(np.pi * t ** 0.8) - 0.001 * t
         + 0.0045 * p.brow + 0.0045 * p.brow_inner * inner ** 1.5 - 0.0007 * p.brow_inner * t)
    x = x - side * 0.0018 * p.brow_inner * inner
    z = face_z(x, y) + 0.0012
    center = np.stack([x, y, z], axis=-1)
    radius = 0.0018 + 0.0016 * np.sin(np.pi * (0.15 + 0.7 * t)) * (1.0 - 0.35 * t)
    return tube(center, radius, sides=10, squash=(0.45, 1.0), closed=False)


def _hair() -> tuple[NDArray[np.float64], NDArray[np.uint32]]:
    def edge(phi: NDArray[np.float64]) -> NDArray[np.float64]:
        back = ((1.0 - np.cos(phi)) / 2.0) ** 0.9
        # a soft fringe swept to one side, temples, and a fuller back
        fringe = 0.16 * np.exp(-((phi - 0.35) / 0.45) ** 2) - 0.10 * np.exp(-((phi + 0.55) / 0.25) ** 2)
        return np.asarray(0.84 + 0.95 * back + fringe)

    def shape(unit: Grid) -> Grid:
        base = _head_shape(unit)
        puff = (1.06 + 0.11 * np.maximum(unit[..., 1], 0.0) ** 1.2 + 0.05 * np.maximum(-unit[..., 2], 0)
                + 0.05 * np.abs(unit[..., 0]) * (unit[..., 1] > -0.2))
        return np.asarray(base * puff[..., None] + np.array([0.0, 0.004, -0.002]))

    return open_shell(22, 68, shape, edge)


def _ear(side: float) -> tuple[NDArray[np.float64], NDArray[np.uint32]]:
    c = np.array([side * 0.077, -0.010, -0.008])

    def shape(unit: Grid) -> Grid:
        return np.asarray(unit * np.array([0.008, 0.021, 0.013]) + c)

    return closed_sphere(10, 16, shape)


def _neck() -> tuple[NDArray[np.float64], NDArray[np.uint32]]:
    profile = np.array([[0.047, -0.050], [0.048, -0.095], [0.050, -0.125], [0.056, -0.150]])
    pts, idx = lathe(profile, 48)
    return pts + np.array([0.0, 0.0, -0.014]), idx


def _torso() -> tuple[NDArray[np.float64], NDArray[np.uint32]]:
    profile = np.array([[0.052, -0.168], [0.078, -0.176], [0.112, -0.186], [0.140, -0.198], [0.158, -0.214],
                        [0.165, -0.245], [0.170, -0.280], [0.172, -0.340], [0.170, -0.520]])
    pts, idx = lathe(profile, 96, scale_x=1.0, scale_z=0.55, power=2.25)
    return pts + np.array([0.0, 0.036, -0.022]), idx


def _collar() -> tuple[NDArray[np.float64], NDArray[np.uint32]]:
    a = np.linspace(0.0, 2 * np.pi, 48, endpoint=False)
    ring = np.stack([0.058 * np.sin(a), -0.135 + 0.010 * np.cos(a), 0.047 * np.cos(a) - 0.016], axis=-1)
    return tube(ring, np.full(48, 0.0075), sides=10, squash=(1.0, 1.0))


@dataclass
class AvatarModel:
    """Parts with morph targets, in world space, ready to export or draw."""

    name: str
    parts: list[Part]
    controls: tuple[str, ...] = CONTROLS
    head_weight: dict[str, float] | None = None
    """How much each part follows the head's turns (0 body .. 1 head); None means none move."""
    two_sided: frozenset[str] = frozenset()
    """Parts drawn from both sides besides the renderer's own list (glTF `doubleSided` materials)."""

    @property
    def triangle_count(self) -> int:
        return sum(p.triangle_count for p in self.parts)

    @property
    def vertex_count(self) -> int:
        return sum(p.vertex_count for p in self.parts)


Built = tuple[NDArray[np.float64], NDArray[np.uint32], NDArray[np.float64] | None]
Builder = Callable[[FaceParams], Built]
Color = tuple[float, float, float] | Callable[[NDArray[np.float64]], NDArray[np.float64]]


def _no_color(fn: Callable[[FaceParams], tuple[NDArray[np.float64], NDArray[np.uint32]]]) -> Builder:
    def build(p: FaceParams) -> Built:
        pts, idx = fn(p)
        return pts, idx, None
    return build


def _static(fn: Callable[[], tuple[NDArray[np.float64], NDArray[np.uint32]]]) -> Builder:
    cache = fn()

    def build(_p: FaceParams) -> Built:
        return cache[0], cache[1], None
    return build


def _builders() -> list[tuple[str, Builder, Color, float]]:
    """(part name, builder, colour, head weight)."""
    def rgb(c: NDArray[np.float64]) -> tuple[float, float, float]:
        return (float(c[0]), float(c[1]), float(c[2]))

    def eye(side: float) -> Builder:
        def build(p: FaceParams) -> Built:
            return _eye(side, p)
        return build

    def lid(side: float, upper: bool) -> Builder:
        def build(p: FaceParams) -> Built:
            return _lid(side, p, upper)
        return build

    def brow(side: float) -> Builder:
        return _no_color(lambda p: _brow(side, p))

    return [
        ("torso", _static(_torso), rgb(SWEATER), 0.0),
        ("collar", _static(_collar), rgb(COLLAR), 0.0),
        ("neck", _static(_neck), rgb(SKIN * 0.93), 0.4),
        ("head", _no_color(_head), _head_colors, 1.0),
        ("nose", _static(_nose), rgb(SKIN * 0.99 + BLUSH * 0.01), 1.0),
        ("ear_l", _static(lambda: _ear(1.0)), rgb(SKIN * 0.93), 1.0),
        ("ear_r", _static(lambda: _ear(-1.0)), rgb(SKIN * 0.93), 1.0),
        ("hair", _static(_hair), rgb(HAIR), 1.0),
        ("mouth", _no_color(_mouth_inside), rgb(MOUTH), 1.0),
        ("tongue", _no_color(_tongue), rgb(TONGUE), 1.0),
        ("teeth", _no_color(_teeth), rgb(TEETH), 1.0),
        ("lips", _no_color(_lips), rgb(LIPS), 1.0),
        ("eye_l", eye(1.0), rgb(SCLERA), 1.0),
        ("eye_r", eye(-1.0), rgb(SCLERA), 1.0),
        ("lid_l", lid(1.0, True), rgb(SKIN), 1.0),
        ("lid_r", lid(-1.0, True), rgb(SKIN), 1.0),
        ("lowlid_l", lid(1.0, False), rgb(SKIN), 1.0),
        ("lowlid_r", lid(-1.0, False), rgb(SKIN), 1.0),
        ("brow_l", brow(1.0), rgb(BROWS), 1.0),
        ("brow_r", brow(-1.0), rgb(BROWS), 1.0),
    ]


def build_face(name: str = "Sam") -> AvatarModel:
    """Build every part at rest and at each control's parameters; targets are the differences."""
    neutral = FaceParams()
    parts: list[Part] = []
    weights: dict[str, float] = {}
    for part_name, builder, color, head_weight in _builders():
        pts, idx, vertex_colors = builder(neutral)
        world = pts + HEAD_CENTER
        fixed: Color = color
        if vertex_colors is not None:
            own = np.asarray(vertex_colors)

            def fixed(_p: NDArray[np.float64], c: NDArray[np.float64] = own) -> NDArray[np.float64]:
                return c
        part = make_part(part_name, world, idx, fixed)
        _orient_outward(part)
        for control in CONTROLS:
            moved, _, _ = builder(TARGET_PARAMS[control])
            delta = (moved - pts).astype(np.float32)
            if not np.any(np.abs(delta) > 1e-7):
                continue
            normals = smooth_normals((moved + HEAD_CENTER).astype(np.float32), part.indices)
            part.targets[control] = (delta, (normals - part.normals).astype(np.float32))
        parts.append(part)
        weights[part_name] = head_weight
    return AvatarModel(name, parts, CONTROLS, weights)


def _orient_outward(part: Part) -> None:
    """Make normals point away from the part's own inside (winding differs between builders)."""
    center = part.positions.mean(axis=0)
    outward = float(np.mean(np.sum((part.positions - center) * part.normals, axis=1)))
    if part.name in ("lips", "collar", "mouth", "teeth"):
        # thin or flat parts: they face the viewer (+z) on the whole
        outward = float(np.mean(part.normals[:, 2]))
    if outward < 0:
        part.indices = part.indices.reshape(-1, 3)[:, ::-1].reshape(-1).copy()
        part.normals = smooth_normals(part.positions, part.indices)


def face_at(model: AvatarModel, weights: dict[str, float]) -> list[tuple[Part, F32, F32]]:
    """Each part's morphed positions and normals for these control weights (CPU morphing)."""
    out = []
    for part in model.parts:
        pos = part.positions.copy()
        nor = part.normals.copy()
        for control, w in weights.items():
            if w and control in part.targets:
                dp, dn = part.targets[control]
                pos += w * dp
                nor += w * dn
        out.append((part, pos, nor))
    return out


def params_for(control: str) -> FaceParams:
    return replace(TARGET_PARAMS[control])
