"""The desktop window (glfw) with the same scene, and finding an OpenXR runtime.

The window is the fallback when there is no headset; when there is no display
either, the message says so and points at `coach avatar render`, which needs none.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from avatar.animation import Animator, EventQueue
from avatar.caption import CaptionLayer
from avatar.face import AvatarModel
from avatar.render import VIDEO_CAMERA, Renderer, RenderError


def openxr_runtime() -> str | None:
    """The active OpenXR runtime's name (from XR_RUNTIME_JSON or the standard manifest), else None."""
    candidates = [os.environ.get("XR_RUNTIME_JSON", "")]
    config = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    candidates += [str(config / "openxr/1/active_runtime.json"), "/etc/xdg/openxr/1/active_runtime.json"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            try:
                data = json.loads(Path(candidate).read_text(encoding="utf-8"))
                return str(data.get("runtime", {}).get("name") or candidate)
            except (OSError, ValueError):
                continue
    return None


def run_window(model: AvatarModel, seconds: float = 0.0, events: EventQueue | None = None,
               width: int = 900, height: int = 900, epoch: float | None = None,
               until: Callable[[], bool] | None = None) -> int:
    """Show the avatar until the window closes (or `seconds` pass, or `until()` is true).

    `epoch` is the perf_counter() reading that is time 0 on the render clock, so that
    whoever fills `events` can place them on it; returns frames drawn.
    """
    import glfw

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise RenderError("no display to open a window on (DISPLAY is not set); "
                          "render to video instead: coach avatar render --text \"...\" --out talk.mp4")
    if not glfw.init():
        raise RenderError("cannot start glfw on this display; render to video instead: coach avatar render")
    try:
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
        glfw.window_hint(glfw.SAMPLES, 4)
        window = glfw.create_window(width, height, "Sam, your health coach", None, None)
        if not window:
            raise RenderError("the display refused an OpenGL 3.3 window; update the graphics driver "
                              "or render to video: coach avatar render")
        glfw.make_context_current(window)
        glfw.swap_interval(1)
        import moderngl

        ctx = moderngl.create_context(require=330)
        renderer = Renderer(model, 0, 0, ctx=ctx)
        caption = CaptionLayer(ctx, center=(0.0, 1.02, 0.30), width_m=0.30)
        animator = Animator()
        queue = events or EventQueue()
        start = time.perf_counter() if epoch is None else epoch
        opened = time.perf_counter()
        frames = 0
        while not glfw.window_should_close(window):
            now = time.perf_counter() - start
            if (seconds and time.perf_counter() - opened > seconds) or (until is not None and until()):
                break
            if glfw.get_key(window, glfw.KEY_ESCAPE) == glfw.PRESS:
                break
            w, h = glfw.get_framebuffer_size(window)
            frame = animator.frame(now, queue.drain())
            view, projection = VIDEO_CAMERA.view(), VIDEO_CAMERA.projection(w / max(h, 1))
            renderer.draw(frame.weights, frame.pose, view, projection, ctx.screen, (0, 0, w, h))
            caption.draw(frame.caption, projection @ view)
            glfw.swap_buffers(window)
            glfw.poll_events()
            frames += 1
        return frames
    finally:
        glfw.terminate()
