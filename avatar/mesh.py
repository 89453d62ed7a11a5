"""Parametric surfaces as triangle meshes with smooth normals.

The avatar is built from a handful of closed or open grids (spheres, shells,
tubes, surfaces of revolution). Each grid wraps around in its second index so the
seam shares vertices and shades smoothly; poles are closed with a single vertex.
Morph targets are made by building the same grid twice with different parameters
and subtracting, so every builder here is deterministic in its vertex order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
U32 = NDArray[np.uint32]
Grid = NDArray[np.float64]
"""(rows, cols, 3) points; columns wrap around when the grid is closed."""


@dataclass
class Part:
    """One piece of the avatar: geometry, a colour per vertex, and morph deltas."""

    name: str
    positions: F32
    normals: F32
    colors: F32
    """(n, 4) linear RGBA."""
    indices: U32
    targets: dict[str, tuple[F32, F32]] = field(default_factory=dict)
    """Morph target name -> (position deltas, normal deltas), each (n, 3)."""

    @property
    def vertex_count(self) -> int:
        return len(self.positions)

    @property
    def triangle_count(self) -> int:
        return int(len(self.indices) // 3)


def grid_indices(rows: int, cols: int, wrap: bool) -> U32:
    """Two triangles per cell, counter-clockwise seen from outside (row = down, col = around)."""
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols if wrap else cols - 1), indexing="ij")
    a = r * cols + c
    b = r * cols + (c + 1) % cols
    d = (r + 1) * cols + c
    e = (r + 1) * cols + (c + 1) % cols
    tris = np.stack([a, d, b, b, d, e], axis=-1).reshape(-1, 3)
    return tris.astype(np.uint32).reshape(-1)


def with_poles(grid: Grid, top: NDArray[np.float64] | None, bottom: NDArray[np.float64] | None,
               ) -> tuple[NDArray[np.float64], U32]:
    """Flatten a wrapped grid and close its first/last rows with fan caps at the given poles."""
    rows, cols, _ = grid.shape
    points = [grid.reshape(-1, 3)]
    tris = [grid_indices(rows, cols, wrap=True).reshape(-1, 3)]
    next_index = rows * cols
    ring = np.arange(cols)
    if top is not None:
        points.append(top.reshape(1, 3))
        tris.append(np.stack([np.full(cols, next_index), ring, (ring + 1) % cols], axis=-1))
        next_index += 1
    if bottom is not None:
        last = (rows - 1) * cols
        points.append(bottom.reshape(1, 3))
        tris.append(np.stack([np.full(cols, next_index), last + (ring + 1) % cols, last + ring], axis=-1))
    return np.concatenate(points), np.concatenate(tris).astype(np.uint32).reshape(-1)


def smooth_normals(positions: NDArray[np.floating], indices: U32) -> F32:
    """Area-weighted vertex normals (shared vertices give smooth shading across cells)."""
    tri = indices.reshape(-1, 3)
    p = positions.astype(np.float64)
    face = np.cross(p[tri[:, 1]] - p[tri[:, 0]], p[tri[:, 2]] - p[tri[:, 0]])
    normals = np.zeros_like(p)
    for k in range(3):
        np.add.at(normals, tri[:, k], face)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    normals /= np.where(length > 1e-12, length, 1.0)
    return normals.astype(np.float32)


def sphere_grid(rows: int, cols: int, shape: Callable[[Grid], Grid],
                theta: tuple[float, float] = (0.0, np.pi)) -> Grid:
    """Unit directions on a latitude band (theta from +y), columns starting at +z, then `shape`.

    `shape` maps unit directions (rows, cols, 3) to surface points, which is how
    ellipsoids, the jaw taper and partial shells (hair, eyelids) are all one builder.
    """
    t = np.linspace(theta[0], theta[1], rows)
    phi = np.linspace(0.0, 2 * np.pi, cols, endpoint=False)
    tt, pp = np.meshgrid(t, phi, indexing="ij")
    unit = np.stack([np.sin(tt) * np.sin(pp), np.cos(tt), np.sin(tt) * np.cos(pp)], axis=-1)
    return shape(unit)


def closed_sphere(rows: int, cols: int, shape: Callable[[Grid], Grid]) -> tuple[NDArray[np.float64], U32]:
    eps = np.pi / (rows + 1)
    grid = sphere_grid(rows, cols, shape, (eps, np.pi - eps))
    top = shape(np.array([[[0.0, 1.0, 0.0]]]))[0, 0]
    bottom = shape(np.array([[[0.0, -1.0, 0.0]]]))[0, 0]
    return with_poles(grid, top, bottom)


def open_shell(rows: int, cols: int, shape: Callable[[Grid], Grid],
               edge: Callable[[NDArray[np.float64]], NDArray[np.float64]]) -> tuple[NDArray[np.float64], U32]:
    """A cap from the +y pole down to a polar angle that depends on the azimuth (hairline, lid edge)."""
    eps = np.pi / (rows * 4)
    phi = np.linspace(0.0, 2 * np.pi, cols, endpoint=False)
    limit = edge(phi)
    s = np.linspace(0.0, 1.0, rows)[:, None]
    tt = eps + (limit[None, :] - eps) * s
    pp = np.broadcast_to(phi[None, :], tt.shape)
    unit = np.stack([np.sin(tt) * np.sin(pp), np.cos(tt), np.sin(tt) * np.cos(pp)], axis=-1)
    top = shape(np.array([[[0.0, 1.0, 0.0]]]))[0, 0]
    return with_poles(shape(unit), top, None)


def tube(center: NDArray[np.float64], radius: NDArray[np.float64], sides: int,
         squash: tuple[float, float] = (1.0, 1.0), closed: bool = True) -> tuple[NDArray[np.float64], U32]:
    """A tube around a polyline (closed loop or open with rounded ends), radius per point.

    The cross-section lies in the plane spanned by +z (scaled by squash[0]) and the
    in-plane normal of the curve (scaled by squash[1]), which suits curves drawn on a
    face seen from the front: lips and brows.
    """
    n = len(center)
    tangent = np.roll(center, -1, axis=0) - np.roll(center, 1, axis=0)
    if not closed:
        tangent[0] = center[1] - center[0]
        tangent[-1] = center[-1] - center[-2]
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    forward = np.array([0.0, 0.0, 1.0])
    side = np.cross(tangent, forward)
    side /= np.maximum(np.linalg.norm(side, axis=1, keepdims=True), 1e-9)
    a = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    ring = (np.cos(a)[None, :, None] * forward[None, None, :] * squash[0]
            + np.sin(a)[None, :, None] * side[:, None, :] * squash[1])
    grid = center[:, None, :] + radius[:, None, None] * ring
    if closed:
        # rows = around the cross-section, cols = along the loop; both wrap
        g = np.transpose(grid, (1, 0, 2))
        rows, cols = sides, n
        idx = grid_indices(rows + 1, cols, wrap=True)
        pts = g.reshape(-1, 3)
        idx = np.where(idx >= rows * cols, idx - rows * cols, idx).astype(np.uint32)
        return pts, idx
    g = grid  # rows = along the curve, cols = around the cross-section (wraps)
    start = center[0] - tangent[0] * radius[0] * 0.5
    return with_poles(g, start, center[-1] + tangent[-1] * radius[-1] * 0.5)


def lathe(profile: NDArray[np.float64], cols: int, scale_x: float = 1.0, scale_z: float = 1.0,
          power: float = 2.0) -> tuple[NDArray[np.float64], U32]:
    """A surface of revolution from (radius, y) pairs, with a superellipse cross-section.

    power > 2 squares the section off (shoulders are broader than they are deep).
    """
    phi = np.linspace(0.0, 2 * np.pi, cols, endpoint=False)
    s, c = np.sin(phi), np.cos(phi)
    e = 2.0 / power
    sx = np.sign(s) * np.abs(s) ** e
    cz = np.sign(c) * np.abs(c) ** e
    r = profile[:, 0:1]
    y = np.broadcast_to(profile[:, 1:2], (len(profile), cols))
    grid = np.stack([r * sx[None, :] * scale_x, y, r * cz[None, :] * scale_z], axis=-1)
    return with_poles(grid, None, None)


def make_part(name: str, points: NDArray[np.float64], indices: U32,
              color: Callable[[NDArray[np.float64]], NDArray[np.float64]] | tuple[float, float, float],
              ) -> Part:
    pos = points.astype(np.float32)
    if callable(color):
        rgb = color(points)
    else:
        rgb = np.broadcast_to(np.asarray(color, dtype=np.float64), (len(points), 3))
    colors = np.concatenate([rgb, np.ones((len(points), 1))], axis=1).astype(np.float32)
    return Part(name, pos, smooth_normals(pos, indices), colors, indices.astype(np.uint32))


def srgb_to_linear(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    """Colours are chosen by eye in sRGB; glTF and the shader work in linear light."""
    def one(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else float(((c + 0.055) / 1.055) ** 2.4)
    return (one(rgb[0]), one(rgb[1]), one(rgb[2]))
