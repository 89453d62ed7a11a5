"""Measuring the avatar: lip sync read back from rendered frames, and frame times.

Lip sync is judged on pixels, not on the animation's own numbers: every frame is
rendered, the open mouth's dark area is counted inside a box around the mouth, and
each change of mouth shape is timed where that area crosses half-way between the
two shapes' own areas. The offset to the phoneme's onset in the audio is the
figure (negative: the picture is early). ITU-R BT.1359 puts the detectability of
sound ahead of picture at about 45 ms.
"""

from __future__ import annotations

import itertools
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avatar.animation import Pose
from avatar.face import HEAD_CENTER, MOUTH_Y, TARGET_PARAMS, VISEMES, AvatarModel, build_face, face_z
from avatar.render import VIDEO_CAMERA, Renderer, head_matrix
from avatar.video import Performance, animate
from avatar.visemes import DEFAULT_LEAD

SENTENCES = (
    "Hello Maggie, it is good to see you again.",
    "A short walk after lunch is a lovely habit to keep.",
    "Please check your blood pressure before breakfast.",
    "If your knees ache, try a slower pace and a softer path.",
    "We can plan next week's walks together.",
)


def mouth_opening(image: NDArray[np.uint8], box: tuple[int, int, int, int]) -> int:
    """Pixels inside the box that show the inside of the mouth (dark red) or teeth (near white)."""
    x0, y0, x1, y1 = box
    roi = image[y0:y1, x0:x1].astype(np.int16)
    r, g, b = roi[..., 0], roi[..., 1], roi[..., 2]
    dark = (r < 130) & (g < 70) & (b < 80)
    teeth = (roi.min(axis=-1) > 185) & (roi.max(axis=-1) - roi.min(axis=-1) < 40)
    return int(np.count_nonzero(dark | teeth))


def mouth_box(pose: Pose, size: int, view_proj: NDArray[np.float64], height: int | None = None,
              ) -> tuple[int, int, int, int]:
    """A box around the mouth on screen (size x height pixels), following the head's motion."""
    width, height = size, height or size
    center = HEAD_CENTER + np.array([0.0, MOUTH_Y - 0.006, float(face_z(0.0, MOUTH_Y))])
    world = head_matrix(pose.yaw, pose.pitch, pose.roll) @ np.append(center, 1.0)
    world[1] += pose.rise
    clip = view_proj @ world
    x = (clip[0] / clip[3] * 0.5 + 0.5) * width
    y = (1.0 - (clip[1] / clip[3] * 0.5 + 0.5)) * height
    # about 5 cm by 4 cm around the mouth, in pixels at this distance
    half_w = max(2, int(abs(view_proj[0, 0]) * 0.025 / clip[3] * width / 2))
    half_h = max(2, int(abs(view_proj[1, 1]) * 0.020 / clip[3] * height / 2))
    return (max(0, int(x) - half_w), max(0, int(y) - half_h),
            min(width, int(x) + half_w), min(height, int(y) + half_h))


@dataclass
class LipSync:
    offsets: list[float] = field(default_factory=list)
    """Rendered onset minus phoneme onset, seconds, one per measured change of mouth shape."""
    candidates: int = 0

    def summary(self) -> dict[str, Any]:
        if not self.offsets:
            return {"events": 0, "candidates": self.candidates}
        ms = np.asarray(self.offsets) * 1000
        return {"events": len(ms), "candidates": self.candidates,
                "p95_abs_ms": round(float(np.percentile(np.abs(ms), 95)), 1),
                "median_ms": round(float(np.median(ms)), 1),
                "mean_abs_ms": round(float(np.mean(np.abs(ms))), 1), "target_p95_ms": 45.0}


def _crossing(times: NDArray[np.float64], values: NDArray[np.float64], level: float, near: float,
              window: float) -> float | None:
    """The time nearest `near` where `values` crosses `level` (linear between frames)."""
    best: float | None = None
    above = values >= level
    for k in np.flatnonzero(above[1:] != above[:-1]):
        t0, t1, v0, v1 = times[k], times[k + 1], values[k], values[k + 1]
        t = t0 + (level - v0) / (v1 - v0) * (t1 - t0) if v1 != v0 else t0
        if abs(t - near) <= window and (best is None or abs(t - near) < abs(best - near)):
            best = float(t)
    return best


def measure_lip_sync(performances: list[Performance], size: int = 384, fps: int = 60,
                     lead: float = DEFAULT_LEAD, model: AvatarModel | None = None,
                     progress: Callable[[int, int], None] | None = None) -> LipSync:
    renderer = Renderer(model or build_face(), size, size, samples=0)
    camera = VIDEO_CAMERA
    vp = camera.projection(1.0) @ camera.view()
    still = Pose()
    area = {v: mouth_opening(renderer.render({v: 1.0}, still), mouth_box(still, size, vp)) for v in VISEMES}
    span = max(area.values()) - min(area.values())
    result = LipSync()
    total = sum(int(np.ceil(p.duration * fps)) for p in performances)
    done = 0
    try:
        for perf in performances:
            frames = animate(perf, fps, lead)
            times = np.arange(len(frames)) / fps
            values = np.empty(len(frames))
            for k, f in enumerate(frames):
                weights = {v: w for v, w in f.weights.items() if v in TARGET_PARAMS}
                weights["blink"] = 0.0  # a blink does not change the mouth; keep the frame comparable
                values[k] = mouth_opening(renderer.render(weights, f.pose), mouth_box(f.pose, size, vp))
                done += 1
                if progress is not None:
                    progress(done, total)
            segs = perf.say.track.segments
            for a, b in itertools.pairwise(segs):
                level_a = sum(w * area.get(v, 0) for v, w in a.mix.items())
                level_b = sum(w * area.get(v, 0) for v, w in b.mix.items())
                if abs(level_b - level_a) < 0.35 * span or min(a.duration, b.duration) < 0.04:
                    continue
                result.candidates += 1
                onset = perf.say.at + b.start
                t = _crossing(times, values, (level_a + level_b) / 2, onset, 0.12)
                if t is not None:
                    result.offsets.append(t - onset)
    finally:
        renderer.release()
    return result


def measure_frames(size: int = 1024, frames: int = 90, model: AvatarModel | None = None,
                   samples: int = 0) -> dict[str, Any]:
    """Frame times offscreen with morphing every frame (speech-like weights), including readback.

    The room is drawn once and copied under each frame (the camera is fixed offscreen);
    the morph (numpy) is timed on its own as well.
    """
    renderer = Renderer(model or build_face(), size, size, samples=samples)
    rng = np.random.default_rng(0)
    vis = list(VISEMES)
    morph_ms: list[float] = []
    total_ms: list[float] = []
    cpu_ms: list[float] = []
    try:
        renderer.render({"aa": 1.0})  # warm up shaders, buffers and the cached room
        for k in range(frames):
            a, b = vis[int(rng.integers(len(vis)))], vis[int(rng.integers(len(vis)))]
            w = {a: 0.6, b: 0.4, "smile": 0.15, "blink": float(k % 40 == 0)}
            pose = Pose(yaw=0.03 * np.sin(k / 10), pitch=0.02 * np.cos(k / 13))
            t0 = time.perf_counter()
            renderer.morpher.apply(w)
            t1, c1 = time.perf_counter(), time.process_time()
            renderer.render(w, pose)
            t2, c2 = time.perf_counter(), time.process_time()
            cpu_ms.append((c2 - c1) * 1000)
            morph_ms.append((t1 - t0) * 1000)
            total_ms.append((t2 - t1) * 1000)
        info = renderer.ctx.info
        return {
            "size": f"{size}x{size}", "frames": frames, "msaa": renderer.samples,
            "renderer": str(info.get("GL_RENDERER", "?")), "cpu_cores": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "draw_calls": renderer.draw_calls, "triangles": renderer.triangles,
            "avatar_triangles": renderer.avatar_triangles, "morph_targets": len(renderer.morpher.deltas),
            "frame_ms_p50": round(statistics.median(total_ms), 1),
            "frame_ms_p95": round(float(np.percentile(total_ms, 95)), 1),
            "frame_ms_p99": round(float(np.percentile(total_ms, 99)), 1),
            "fps": round(1000.0 / statistics.mean(total_ms), 1),
            "morph_ms_p50": round(statistics.median(morph_ms), 2),
            # CPU time of this process (llvmpipe's threads included) per frame: what the frame
            # costs regardless of other load; spread over the cores it bounds the fps alone
            "cpu_ms_p50": round(statistics.median(cpu_ms), 1),
            "fps_if_alone": round(1000.0 / (statistics.median(cpu_ms) / max(1, os.cpu_count() or 1)), 1),
            "target_fps": 30,
        }
    finally:
        renderer.release()
