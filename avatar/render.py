"""One renderer for every output: moderngl, OpenGL 3.3 core, the avatar in its room.

Morphing runs on the CPU (numpy adds the few active targets' deltas each frame and
uploads positions and normals), which keeps the shader plain and works the same on
llvmpipe, a desktop GPU or a headset's swapchain. The scene is two draw calls: the
avatar (one merged mesh) and the room.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avatar.animation import Pose
from avatar.face import NECK_PIVOT, AvatarModel
from avatar.mesh import F32, Part
from avatar.room import build_room


class RenderError(Exception):
    """No OpenGL context could be made (no GPU, no EGL, no display); the message says what to do."""


VERTEX = """
#version 330 core
uniform mat4 u_view_proj;
uniform mat4 u_head;
uniform vec3 u_offset;
in vec3 in_pos;
in vec3 in_normal;
in vec4 in_color;
in vec2 in_aux;
out vec3 v_pos;
out vec3 v_normal;
out vec4 v_color;
out float v_spec;
void main() {
    vec3 turned = (u_head * vec4(in_pos, 1.0)).xyz;
    vec3 p = mix(in_pos, turned, in_aux.x) + u_offset * in_aux.x;
    vec3 n = normalize(mix(in_normal, mat3(u_head) * in_normal, in_aux.x));
    v_pos = p;
    v_normal = n;
    v_color = in_color;
    v_spec = in_aux.y;
    gl_Position = u_view_proj * vec4(p, 1.0);
}
"""

FRAGMENT = """
#version 330 core
uniform vec3 u_eye;
uniform float u_fog;
uniform vec2 u_viewport;
in vec3 v_pos;
in vec3 v_normal;
in vec4 v_color;
in float v_spec;
out vec4 f_color;

vec3 light(vec3 n, vec3 v, vec3 dir, vec3 color, float wrap) {
    float d = max((dot(n, dir) + wrap) / (1.0 + wrap), 0.0);
    vec3 h = normalize(dir + v);
    float s = pow(max(dot(n, h), 0.0), 48.0) * v_spec;
    return color * (d * v_color.rgb + s);
}

void main() {
    vec3 n = normalize(v_normal);
    vec3 v = normalize(u_eye - v_pos);
    if (dot(n, v) < -0.2) n = -n;
    vec3 sky = vec3(0.36, 0.37, 0.40);
    vec3 ground = vec3(0.20, 0.17, 0.15);
    vec3 c = mix(ground, sky, n.y * 0.5 + 0.5) * v_color.rgb;
    c += light(n, v, normalize(vec3(-0.55, 0.55, 0.65)), vec3(1.55, 1.38, 1.18), 0.40);
    c += light(n, v, normalize(vec3(0.7, 0.15, 0.55)), vec3(0.30, 0.33, 0.38), 0.3);
    float rim = pow(1.0 - max(dot(n, v), 0.0), 3.0);
    c += rim * vec3(0.22, 0.20, 0.18) * v_color.rgb;
    float dist = length(u_eye - v_pos);
    c = mix(c, vec3(0.62, 0.57, 0.52), clamp((dist - 1.2) * u_fog, 0.0, 0.55));
    c = c / (1.0 + 0.12 * c);
    vec2 q = gl_FragCoord.xy / u_viewport - 0.5;
    c *= 1.0 - 0.35 * dot(q, q);  // a soft vignette draws the eye to the face
    f_color = vec4(pow(clamp(c, 0.0, 1.0), vec3(1.0 / 2.2)), 1.0);
}
"""

AVATAR_VERTEX = """
#version 330 core
uniform mat4 u_view_proj;
uniform mat4 u_head;
uniform vec3 u_offset;
uniform vec3 u_eye;
uniform float u_fog;
in vec3 in_pos;
in vec3 in_normal;
in vec4 in_color;
in vec2 in_aux;
out vec3 v_pos;
out vec3 v_normal;
out vec3 v_linear;
out vec3 v_srgb;
out float v_spec;

const vec3 KEY = vec3(-0.55, 0.55, 0.65) / 1.0136567;  // normalised
const vec3 FILL = vec3(0.7, 0.15, 0.55) / 0.9027735;

void main() {
    vec3 turned = (u_head * vec4(in_pos, 1.0)).xyz;
    vec3 p = mix(in_pos, turned, in_aux.x) + u_offset * in_aux.x;
    vec3 n = normalize(mix(in_normal, mat3(u_head) * in_normal, in_aux.x));
    vec3 v = normalize(u_eye - p);
    if (dot(n, v) < -0.2) n = -n;
    vec3 base = in_color.rgb;
    vec3 c = mix(vec3(0.20, 0.17, 0.15), vec3(0.36, 0.37, 0.40), n.y * 0.5 + 0.5) * base;
    c += vec3(1.55, 1.38, 1.18) * max((dot(n, KEY) + 0.40) / 1.40, 0.0) * base;
    c += vec3(0.30, 0.33, 0.38) * max((dot(n, FILL) + 0.30) / 1.30, 0.0) * base;
    float rim = 1.0 - max(dot(n, v), 0.0);
    c += rim * rim * rim * vec3(0.22, 0.20, 0.18) * base;
    if (in_aux.y <= 0.15) {  // (GLOSSY) the faint sheen of skin and hair: per vertex is enough
        c += vec3(1.55, 1.38, 1.18) * pow(max(dot(n, normalize(KEY + v)), 0.0), 48.0) * in_aux.y;
        c += vec3(0.30, 0.33, 0.38) * pow(max(dot(n, normalize(FILL + v)), 0.0), 48.0) * in_aux.y;
    }
    c = mix(c, vec3(0.62, 0.57, 0.52), clamp((length(u_eye - p) - 1.2) * u_fog, 0.0, 0.55));
    v_linear = c;
    c = c / (1.0 + 0.12 * c);
    v_srgb = pow(clamp(c, 0.0, 1.0), vec3(1.0 / 2.2));
    v_pos = p;
    v_normal = n;
    v_spec = in_aux.y;
    gl_Position = u_view_proj * vec4(p, 1.0);
}
"""

MATTE_FRAGMENT = """
#version 330 core
uniform vec2 u_viewport;
in vec3 v_srgb;
out vec4 f_color;

void main() {
    // lit, fogged, tone mapped and encoded per vertex; the vignette in encoded space
    // ((1 - 0.35 x) ^ (1 / 2.2) is within 0.5 % of 1 - 0.159 x here)
    vec2 q = gl_FragCoord.xy / u_viewport - 0.5;
    f_color = vec4(v_srgb * (1.0 - 0.159 * dot(q, q)), 1.0);
}
"""

GLOSSY_FRAGMENT = """
#version 330 core
uniform vec3 u_eye;
uniform vec2 u_viewport;
in vec3 v_pos;
in vec3 v_normal;
in vec3 v_linear;
in float v_spec;
out vec4 f_color;

const vec3 KEY = vec3(-0.55, 0.55, 0.65) / 1.0136567;
const vec3 FILL = vec3(0.7, 0.15, 0.55) / 0.9027735;

void main() {
    vec3 n = normalize(v_normal);
    vec3 v = normalize(u_eye - v_pos);
    vec3 c = v_linear;
    c += vec3(1.55, 1.38, 1.18) * pow(max(dot(n, normalize(KEY + v)), 0.0), 48.0) * v_spec;
    c += vec3(0.30, 0.33, 0.38) * pow(max(dot(n, normalize(FILL + v)), 0.0), 48.0) * v_spec;
    c = c / (1.0 + 0.12 * c);
    vec2 q = gl_FragCoord.xy / u_viewport - 0.5;
    c *= 1.0 - 0.35 * dot(q, q);
    f_color = vec4(pow(clamp(c, 0.0, 1.0), vec3(1.0 / 2.2)), 1.0);
}
"""


@dataclass(frozen=True)
class Camera:
    eye: tuple[float, float, float] = (0.0, 1.19, 0.84)
    target: tuple[float, float, float] = (0.0, 1.165, 0.0)
    fov_deg: float = 27.0
    near: float = 0.05
    far: float = 20.0

    def view(self) -> NDArray[np.float64]:
        return look_at(np.asarray(self.eye), np.asarray(self.target), np.array([0.0, 1.0, 0.0]))

    def projection(self, aspect: float) -> NDArray[np.float64]:
        return perspective(self.fov_deg, aspect, self.near, self.far)


VIDEO_CAMERA = Camera()
"""Head and shoulders, as on a video call."""


def look_at(eye: NDArray[np.float64], target: NDArray[np.float64], up: NDArray[np.float64],
            ) -> NDArray[np.float64]:
    f = target - eye
    f /= np.linalg.norm(f)
    s = np.cross(f, up)
    s /= np.linalg.norm(s)
    u = np.cross(s, f)
    m = np.identity(4)
    m[0, :3], m[1, :3], m[2, :3] = s, u, -f
    m[:3, 3] = -m[:3, :3] @ eye
    return m


def perspective(fov_deg: float, aspect: float, near: float, far: float) -> NDArray[np.float64]:
    f = 1.0 / math.tan(math.radians(fov_deg) / 2)
    m = np.zeros((4, 4))
    m[0, 0], m[1, 1] = f / aspect, f
    m[2, 2], m[2, 3] = (far + near) / (near - far), 2 * far * near / (near - far)
    m[3, 2] = -1.0
    return m


def head_matrix(yaw: float, pitch: float, roll: float) -> NDArray[np.float64]:
    """Rotation about the top of the neck (yaw about y, then pitch, then roll)."""
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    r = ry @ rx @ rz
    m = np.identity(4)
    m[:3, :3] = r
    m[:3, 3] = NECK_PIVOT - r @ NECK_PIVOT
    return m


TWO_SIDED = frozenset({"hair", "collar", "lips", "mouth", "teeth", "lid_l", "lid_r", "lowlid_l", "lowlid_r"})
"""Open shells and thin parts whose inner side can show (hair around the head's outline)."""

SPECULAR = {"eye_l": 0.9, "eye_r": 0.9, "lips": 0.25, "teeth": 0.3, "hair": 0.12, "tongue": 0.3}
GLOSSY = 0.15
"""Parts shinier than this get per-pixel highlights; the rest (skin, hair) a per-vertex sheen."""


class Morpher:
    """The avatar's merged vertices and dense morph deltas; `apply` gives one frame's geometry."""

    def __init__(self, model: AvatarModel) -> None:
        self.controls = model.controls
        # one-sided (closed, culled) parts first, then the open or thin ones drawn from both sides;
        # within each, matte parts, then glossy ones (their own shader: highlights per pixel)
        both = TWO_SIDED | model.two_sided

        def group(p: Part) -> tuple[bool, bool]:
            return p.name in both, SPECULAR.get(p.name, 0.05) > GLOSSY

        parts = sorted(model.parts, key=group)  # stable: the model's order within a group
        self.groups: list[tuple[bool, bool, int, int]] = []
        """(two-sided, glossy, first index, index count) for each draw call."""
        first = 0
        for key in sorted({group(p) for p in parts}):
            count = sum(len(p.indices) for p in parts if group(p) == key)
            self.groups.append((key[0], key[1], first, count))
            first += count
        self.base_pos = np.concatenate([p.positions for p in parts]).astype(np.float32)
        self.base_nor = np.concatenate([p.normals for p in parts]).astype(np.float32)
        n = len(self.base_pos)
        self.deltas: dict[str, tuple[F32, F32, slice]] = {}
        offsets = np.cumsum([0] + [p.vertex_count for p in parts])
        for control in self.controls:
            touched = [(k, p) for k, p in enumerate(parts) if control in p.targets]
            if not touched:
                continue
            lo, hi = int(offsets[touched[0][0]]), int(offsets[touched[-1][0] + 1])
            dp = np.zeros((hi - lo, 3), dtype=np.float32)
            dn = np.zeros((hi - lo, 3), dtype=np.float32)
            for k, p in touched:
                a = int(offsets[k]) - lo
                dp[a:a + p.vertex_count] = p.targets[control][0]
                dn[a:a + p.vertex_count] = p.targets[control][1]
            self.deltas[control] = (dp, dn, slice(lo, hi))
        self._frame = np.empty((n, 6), dtype=np.float32)
        weights = model.head_weight or {}
        self.aux = np.concatenate([
            np.column_stack([np.full(p.vertex_count, weights.get(p.name, 0.0)),
                             np.full(p.vertex_count, SPECULAR.get(p.name, 0.05))]) for p in parts
        ]).astype(np.float32)
        self.colors = np.concatenate([p.colors for p in parts]).astype(np.float32)
        self.indices = np.concatenate([p.indices + off for p, off in zip(parts, offsets[:-1], strict=True)]
                                      ).astype(np.uint32)

    def apply(self, weights: dict[str, float]) -> F32:
        """(n, 6) positions and normals for these weights (normals renormalised in the shader)."""
        frame = self._frame
        frame[:, :3] = self.base_pos
        frame[:, 3:] = self.base_nor
        for control, w in weights.items():
            if abs(w) < 1e-4 or control not in self.deltas:
                continue
            dp, dn, where = self.deltas[control]
            frame[where, :3] += w * dp
            frame[where, 3:] += w * dn
        return frame


def create_context(headless: bool = True) -> Any:
    """An OpenGL 3.3 core context: EGL offscreen (llvmpipe when there is no GPU) or the current window's."""
    import moderngl

    try:
        if headless:
            return moderngl.create_standalone_context(backend="egl", require=330)  # type: ignore[arg-type]
        return moderngl.create_context(require=330)
    except Exception as exc:
        raise RenderError(f"cannot create an OpenGL 3.3 context ({exc}); install Mesa's EGL "
                          "(apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri) or update the GPU driver"
                          ) from exc


def _static_part_arrays(parts: list[Part]) -> tuple[F32, U32Like]:
    vert = []
    idx = []
    offset = 0
    for p in parts:
        aux = np.column_stack([np.zeros(p.vertex_count), np.full(p.vertex_count, 0.03)])
        vert.append(np.column_stack([p.positions, p.normals, p.colors, aux]))
        idx.append(p.indices + offset)
        offset += p.vertex_count
    return np.concatenate(vert).astype(np.float32), np.concatenate(idx).astype(np.uint32)


U32Like = NDArray[np.uint32]


class Renderer:
    """Draws the avatar (and its room) into an offscreen framebuffer or any framebuffer given."""

    def __init__(self, model: AvatarModel, width: int = 1024, height: int = 1024, ctx: Any = None,
                 samples: int = 4, room: bool = True) -> None:
        self.ctx = ctx if ctx is not None else create_context()
        self.width, self.height = width, height
        self.morpher = Morpher(model)
        ctx = self.ctx
        # the room is lit per pixel (large flat faces); the avatar's dense mesh per vertex, with
        # per-pixel highlights only on its glossy parts: most of llvmpipe's time is fragments
        self.program = ctx.program(vertex_shader=VERTEX, fragment_shader=FRAGMENT)
        self.matte_program = ctx.program(vertex_shader=AVATAR_VERTEX, fragment_shader=MATTE_FRAGMENT)
        self.glossy_program = ctx.program(vertex_shader=AVATAR_VERTEX, fragment_shader=GLOSSY_FRAGMENT)
        m = self.morpher
        self._dyn = ctx.buffer(reserve=m.base_pos.nbytes * 2, dynamic=True)
        static = np.column_stack([m.colors, m.aux]).astype(np.float32)
        self._static = ctx.buffer(static.tobytes())
        self._ibo = ctx.buffer(m.indices.tobytes())
        layout = [(self._dyn, "3f 3f", "in_pos", "in_normal"), (self._static, "4f 2f", "in_color", "in_aux")]
        self.avatar_vaos = {glossy: ctx.vertex_array(program, layout, index_buffer=self._ibo,
                                                     index_element_size=4)
                            for glossy, program in ((False, self.matte_program), (True, self.glossy_program))}
        self.room_vao = None
        self.room_triangles = 0
        if room:
            verts, idx = _static_part_arrays(build_room())
            self._room_vbo = ctx.buffer(verts.tobytes())
            self._room_ibo = ctx.buffer(idx.tobytes())
            self.room_vao = ctx.vertex_array(self.program, [(self._room_vbo, "3f 3f 4f 2f", "in_pos",
                                                             "in_normal", "in_color", "in_aux")],
                                             index_buffer=self._room_ibo, index_element_size=4)
            self.room_triangles = len(idx) // 3
        self.avatar_triangles = len(m.indices) // 3
        self.samples = samples
        self._fbo = self._resolve = self._background = None
        self._background_camera: Camera | None = None
        if width and height:
            self._make_targets(samples)

    def _make_targets(self, samples: int) -> None:
        ctx = self.ctx
        size = (self.width, self.height)
        try:
            color = ctx.renderbuffer(size, 4, samples=samples)
            depth = ctx.depth_renderbuffer(size, samples=samples)
        except Exception:
            samples = 0
            color = ctx.renderbuffer(size, 4)
            depth = ctx.depth_renderbuffer(size)
        self.samples = samples
        self._fbo = ctx.framebuffer(color_attachments=[color], depth_attachment=depth)
        self._background = ctx.framebuffer(color_attachments=[ctx.renderbuffer(size, 4, samples=samples)],
                                           depth_attachment=ctx.depth_renderbuffer(size, samples=samples))
        resolve = ctx.framebuffer(color_attachments=[ctx.renderbuffer(size, 4)]) if samples else None
        self._resolve = resolve or self._fbo

    @property
    def draw_calls(self) -> int:
        return len(self.morpher.groups) + (1 if self.room_vao is not None else 0)

    @property
    def triangles(self) -> int:
        return self.avatar_triangles + self.room_triangles

    def draw(self, weights: dict[str, float], pose: Pose, view: NDArray[np.float64],
             projection: NDArray[np.float64], framebuffer: Any = None,
             viewport: tuple[int, int, int, int] | None = None, room: bool = True, avatar: bool = True,
             clear: bool = True) -> None:
        """Draw one frame with these morph weights and head pose into `framebuffer` (default: offscreen)."""
        import moderngl

        ctx = self.ctx
        fbo = framebuffer if framebuffer is not None else self._fbo
        if fbo is None:
            raise RenderError("this renderer has no offscreen target: give a framebuffer")
        fbo.use()
        if viewport is not None:
            ctx.viewport = viewport
        else:
            ctx.viewport = (0, 0, self.width, self.height)
        ctx.enable(moderngl.DEPTH_TEST)
        if clear:
            fbo.clear(0.80, 0.74, 0.67, 1.0, depth=1.0)
        if avatar:
            self._dyn.write(self.morpher.apply(weights).tobytes())
        vp = (projection @ view).astype("f4")
        inv = np.linalg.inv(view)
        head = head_matrix(pose.yaw, pose.pitch, pose.roll).astype("f4").T.tobytes()
        eye = tuple(float(x) for x in inv[:3, 3])
        _, _, vw, vh = ctx.viewport
        values = {"u_eye": eye, "u_viewport": (float(max(vw, 1)), float(max(vh, 1))),
                  "u_offset": (0.0, pose.rise, 0.0), "u_fog": 0.18}
        for prog in (self.program, self.matte_program, self.glossy_program):
            prog["u_view_proj"].write(vp.T.tobytes())
            prog["u_head"].write(head)
            for name, value in values.items():
                if name in prog:  # the compiler drops what a shader does not use
                    prog[name].value = value
        if avatar:
            # first, so the room behind it fails the depth test early; closed parts wind outwards,
            # so their hidden halves are culled and cost no shading
            for two_sided, glossy, first, count in self.morpher.groups:
                if two_sided:
                    ctx.disable(moderngl.CULL_FACE)
                else:
                    ctx.enable(moderngl.CULL_FACE)
                self.avatar_vaos[glossy].render(vertices=count, first=first)
            ctx.disable(moderngl.CULL_FACE)
        if room and self.room_vao is not None:
            self.room_vao.render()

    def render(self, weights: dict[str, float], pose: Pose | None = None, camera: Camera = VIDEO_CAMERA,
               ) -> NDArray[np.uint8]:
        """One offscreen frame as (height, width, 3) sRGB bytes, top row first."""
        view, projection = camera.view(), camera.projection(self.width / self.height)
        if self.room_vao is not None and self._background is not None:
            # the camera is fixed for video: the room is drawn once and copied under every frame
            if self._background_camera != camera:
                self.draw({}, Pose(), view, projection, self._background, avatar=False)
                self._background_camera = camera
            assert self._fbo is not None
            self._fbo.clear(depth=1.0)
            self.ctx.copy_framebuffer(self._fbo, self._background)
            self.draw(weights, pose or Pose(), view, projection, room=False, clear=False)
        else:
            self.draw(weights, pose or Pose(), view, projection)
        if self.samples:
            self.ctx.copy_framebuffer(self._resolve, self._fbo)
        assert self._resolve is not None
        data = self._resolve.read(components=3, alignment=1)
        return np.frombuffer(data, dtype=np.uint8).reshape(self.height, self.width, 3)[::-1]

    def release(self) -> None:
        self.ctx.release()


def write_png(path: Any, image: NDArray[np.uint8]) -> None:
    """A PNG without an imaging library (zlib and a few chunk headers are all it takes)."""
    import struct
    import zlib
    from pathlib import Path

    h, w, _ = image.shape
    raw = b"".join(b"\x00" + image[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(png)
