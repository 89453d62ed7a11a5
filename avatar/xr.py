"""The headset: an OpenXR session (pyopenxr) drawing the same scene into each eye's swapchain.

Headless machines use EGL through `XR_MNDX_egl_enable` (Monado supports it), so the
session runs without a display, and the images can be read back to check what each
eye saw. The viewer sits across the room from the avatar at conversational distance;
the head pose from the runtime moves the views and turns the avatar's gaze.
"""

from __future__ import annotations

import ctypes
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avatar.animation import Animator, EventQueue, Frame, LookAt
from avatar.caption import CaptionLayer
from avatar.face import AvatarModel
from avatar.render import Renderer, RenderError

VIEWER = np.array([0.0, 1.20, 1.20])
"""Where the viewer's head starts in the room: seated, 1.2 m in front of the avatar."""


class HeadsetError(RenderError):
    """No OpenXR runtime, or it refused the session; the message says what to do."""


def _pose_matrix(position: Any, orientation: Any) -> NDArray[np.float64]:
    x, y, z, w = orientation.x, orientation.y, orientation.z, orientation.w
    m = np.identity(4)
    m[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                 [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                 [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
    m[:3, 3] = [position.x, position.y, position.z]
    return m


def fov_projection(fov: Any, near: float = 0.05, far: float = 20.0) -> NDArray[np.float64]:
    """An asymmetric frustum from OpenXR's four half-angles."""
    left, right = math.tan(fov.angle_left), math.tan(fov.angle_right)
    up, down = math.tan(fov.angle_up), math.tan(fov.angle_down)
    m = np.zeros((4, 4))
    m[0, 0] = 2 / (right - left)
    m[0, 2] = (right + left) / (right - left)
    m[1, 1] = 2 / (up - down)
    m[1, 2] = (up + down) / (up - down)
    m[2, 2] = -(far + near) / (far - near)
    m[2, 3] = -2 * far * near / (far - near)
    m[3, 2] = -1.0
    return m


@dataclass
class EyeImage:
    eye: int
    image: NDArray[np.uint8]
    view_proj: NDArray[np.float64]
    weights: dict[str, float] = field(default_factory=dict)
    display_lead: float = 0.0
    """Seconds from drawing this frame to its predicted display time (see `DisplayClock`)."""
    lead_measured: bool = False
    """True when the lead came from the runtime's clock, False when one display period was assumed."""


class DisplayClock:
    """How far ahead of now a frame will reach the eyes, by the runtime's own clock.

    The mouth must be posed for the moment the frame is seen, not the moment it is drawn:
    with a frame or two in flight that is 10-40 ms, most of the 45 ms lip-sync budget.
    `XR_KHR_convert_timespec_time` gives the runtime's "now" to subtract from the frame's
    predicted display time; a runtime without it gets one display period as the estimate.
    """

    EXTENSION = "XR_KHR_convert_timespec_time"

    def __init__(self, xr: Any, instance: Any) -> None:
        self._xr, self._instance = xr, instance
        try:
            address = xr.get_instance_proc_addr(instance, "xrConvertTimespecTimeToTimeKHR")
            self._convert: Any = ctypes.cast(address, xr.PFN_xrConvertTimespecTimeToTimeKHR)
        except Exception:  # not enabled or not offered: fall back to the display period
            self._convert = None

    def lead(self, frame_state: Any) -> tuple[float, bool]:
        """(seconds until this frame is displayed, whether the runtime's clock said so)."""
        if self._convert is not None:
            ns = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            spec = self._xr.timespec(ns // 1_000_000_000, ns % 1_000_000_000)
            now = self._xr.Time()
            if self._convert(self._instance, ctypes.byref(spec), ctypes.byref(now)) >= 0:
                lead = (int(frame_state.predicted_display_time) - int(now.value)) / 1e9
                return min(max(lead, 0.0), 0.25), True
        return int(frame_state.predicted_display_period) / 1e9, False


def run_headset(model: AvatarModel, frames: int = 0,
                weights_for: Callable[[int, float], dict[str, float] | None] | None = None,
                capture: Callable[[int], bool] | None = None, animator: Animator | None = None,
                events: EventQueue | None = None, epoch: float | None = None,
                until: Callable[[], bool] | None = None) -> list[EyeImage]:
    """Run the session for `frames` frames (0: until the runtime ends it or `until()` is true).

    With `epoch` (a perf_counter() reading) the render clock is perf_counter() - epoch,
    the clock whoever fills `events` places speech on, plus the frame's lead to its
    predicted display time; without it, the runtime's predicted display time from the
    first frame.

    `weights_for(frame, seconds)` may override the animator's morph weights (tests
    pin a viseme); frames for which `capture(frame)` is true are read back, both eyes.
    """
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    try:
        import moderngl
        import xr
        from xr.utils.gl import ContextObject
        from xr.utils.gl.egl_util import EGLOffscreenContextProvider
    except Exception as exc:  # the loader, PyOpenGL or EGL missing
        raise HeadsetError(f"cannot load OpenXR ({exc}); install pyopenxr and Mesa's EGL") from exc
    anim = animator or Animator()
    captured: list[EyeImage] = []
    try:
        provider = EGLOffscreenContextProvider()
        extensions = [xr.KHR_OPENGL_ENABLE_EXTENSION_NAME, xr.MNDX_EGL_ENABLE_EXTENSION_NAME]
        offered = {p.extension_name.decode() if isinstance(p.extension_name, bytes) else p.extension_name
                   for p in xr.enumerate_instance_extension_properties()}
        if DisplayClock.EXTENSION in offered:
            extensions.append(DisplayClock.EXTENSION)
        context = ContextObject(
            context_provider=provider,
            instance_create_info=xr.InstanceCreateInfo(enabled_extension_names=extensions),
            reference_space_create_info=xr.ReferenceSpaceCreateInfo(
                reference_space_type=xr.ReferenceSpaceType.LOCAL),
        )
        with context:
            provider.make_current()
            ctx = moderngl.create_context(require=330)
            renderer = Renderer(model, 0, 0, ctx=ctx)
            caption = CaptionLayer(ctx)
            clock = DisplayClock(xr, context.instance)
            start: int | None = None
            origin: NDArray[np.float64] | None = None
            for count, frame_state in enumerate(context.frame_loop()):
                t_ns = int(frame_state.predicted_display_time)
                start = t_ns if start is None else start
                lead, measured = clock.lead(frame_state)
                seconds = (t_ns - start) / 1e9 if epoch is None else time.perf_counter() - epoch + lead
                if events is not None:
                    anim.push(events.drain())
                frame: Frame | None = None
                for eye, view in enumerate(context.view_loop(frame_state)):
                    head = _pose_matrix(view.pose.position, view.pose.orientation)
                    if origin is None:  # recentre: where the head is at the start is the seat
                        origin = head[:3, 3].copy()
                    head[:3, 3] += VIEWER - origin
                    if frame is None:
                        hx, hy, hz = (float(v) for v in head[:3, 3])
                        frame = anim.frame(seconds, [LookAt(seconds, (hx, hy, hz))])
                        pinned = weights_for(count, seconds) if weights_for is not None else None
                        if pinned is not None:
                            frame.weights = pinned
                    view_m: NDArray[np.float64] = np.asarray(np.linalg.inv(head), dtype=np.float64)
                    projection = fov_projection(view.fov)
                    fbo = ctx.detect_framebuffer()
                    w, h = fbo.size
                    renderer.draw(frame.weights, frame.pose, view_m, projection, fbo, (0, 0, w, h))
                    caption.draw(frame.caption, projection @ view_m)
                    if capture is not None and capture(count):
                        data = fbo.read(viewport=(0, 0, w, h), components=3, alignment=1)
                        image = np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)[::-1].copy()
                        captured.append(EyeImage(eye, image, projection @ view_m, dict(frame.weights),
                                                 lead, measured))
                if (frames and count + 1 >= frames) or (until is not None and until()):
                    break
    except HeadsetError:
        raise
    except Exception as exc:
        raise HeadsetError(f"the OpenXR session failed ({exc}); check that a runtime is running "
                           "(monado-service, SteamVR) and XR_RUNTIME_JSON points at it") from exc
    return captured
