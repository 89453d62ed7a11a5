"""A floating caption of what the coach says, for the headset (and the window).

No font library ships with the project, so the caption uses a small 5x7 pixel font
drawn here (capitals, digits, common punctuation), scaled up and softened; it is a
reading aid under the avatar, not typography.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
from numpy.typing import NDArray

_GLYPHS = {
    "A": "01110 10001 10001 11111 10001 10001 10001", "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01111 10000 10000 10000 10000 10000 01111", "D": "11110 10001 10001 10001 10001 10001 11110",
    "E": "11111 10000 10000 11110 10000 10000 11111", "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01111 10000 10000 10011 10001 10001 01111", "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110", "J": "00111 00010 00010 00010 00010 10010 01100",
    "K": "10001 10010 10100 11000 10100 10010 10001", "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001", "N": "10001 11001 10101 10011 10001 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110", "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101", "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110", "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110", "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 10101 01010", "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 01010 00100 00100 00100 00100", "Z": "11111 00001 00010 00100 01000 10000 11111",
    "0": "01110 10011 10101 10101 10101 11001 01110", "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111", "3": "11110 00001 00001 01110 00001 00001 11110",
    "4": "00010 00110 01010 10010 11111 00010 00010", "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110", "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110", "9": "01110 10001 10001 01111 00001 00010 01100",
    ".": "00000 00000 00000 00000 00000 01100 01100", ",": "00000 00000 00000 00000 01100 00100 01000",
    "'": "00100 00100 01000 00000 00000 00000 00000", "?": "01110 10001 00001 00010 00100 00000 00100",
    "!": "00100 00100 00100 00100 00100 00000 00100", "-": "00000 00000 00000 11111 00000 00000 00000",
    ":": "00000 01100 01100 00000 01100 01100 00000", ";": "00000 01100 01100 00000 01100 00100 01000",
    "/": "00001 00010 00010 00100 01000 01000 10000", "%": "11001 11010 00010 00100 01000 01011 10011",
    " ": "00000 00000 00000 00000 00000 00000 00000",
}
FONT = {ch: np.array([[c == "1" for c in row] for row in rows.split()], dtype=bool)
        for ch, rows in _GLYPHS.items()}


def caption_lines(text: str, width: int = 34, max_lines: int = 3) -> list[str]:
    """The caption wrapped into a few short lines; a long reply shows its last lines."""
    lines = textwrap.wrap(" ".join(text.split()).upper(), width) or [""]
    return lines[-max_lines:]


def caption_image(text: str, width: int = 34, max_lines: int = 3, scale: int = 4) -> NDArray[np.uint8]:
    """RGBA pixels: light text on a soft translucent panel (rows top first)."""
    lines = caption_lines(text, width, max_lines)
    cell_w, cell_h = 6 * scale, 9 * scale
    w, h = width * cell_w + 4 * scale, len(lines) * cell_h + 4 * scale
    ink = np.zeros((h, w), dtype=bool)
    for row, line in enumerate(lines):
        x0 = (w - len(line) * cell_w) // 2
        y0 = 2 * scale + row * cell_h + scale
        for k, ch in enumerate(line):
            glyph = FONT.get(ch, FONT["?"] if ch.strip() else FONT[" "])
            big = np.kron(glyph, np.ones((scale, scale), dtype=bool))
            ink[y0:y0 + big.shape[0], x0 + k * cell_w:x0 + k * cell_w + big.shape[1]] |= big
    image = np.zeros((h, w, 4), dtype=np.uint8)
    image[..., :3] = (52, 60, 66)
    image[..., 3] = 150
    image[ink] = (250, 248, 242, 255)
    return image


CAPTION_VERTEX = """
#version 330 core
uniform mat4 u_view_proj;
in vec3 in_pos;
in vec2 in_uv;
out vec2 v_uv;
void main() { v_uv = in_uv; gl_Position = u_view_proj * vec4(in_pos, 1.0); }
"""
CAPTION_FRAGMENT = """
#version 330 core
uniform sampler2D u_text;
in vec2 v_uv;
out vec4 f_color;
void main() { f_color = texture(u_text, v_uv); }
"""


class CaptionLayer:
    """A panel floating in the room below the avatar's face, turned to the viewer's seat."""

    def __init__(self, ctx: Any, center: tuple[float, float, float] = (0.0, 0.98, 0.45),
                 width_m: float = 0.62) -> None:
        self.ctx = ctx
        self.center = np.asarray(center)
        self.width_m = width_m
        self.program = ctx.program(vertex_shader=CAPTION_VERTEX, fragment_shader=CAPTION_FRAGMENT)
        self._vbo = ctx.buffer(reserve=6 * 5 * 4)
        self.vao = ctx.vertex_array(self.program, [(self._vbo, "3f 2f", "in_pos", "in_uv")])
        self._text: str | None = None
        self._texture: Any = None

    def _update(self, text: str) -> None:
        image = caption_image(text)
        h, w, _ = image.shape
        if self._texture is not None:
            self._texture.release()
        self._texture = self.ctx.texture((w, h), 4, np.ascontiguousarray(image[::-1]).tobytes())
        self._texture.filter = (self.ctx.LINEAR, self.ctx.LINEAR)
        half_w, half_h = self.width_m / 2, self.width_m / 2 * h / w
        cx, cy, cz = self.center
        quad = np.array([[cx - half_w, cy - half_h, cz, 0, 0], [cx + half_w, cy - half_h, cz, 1, 0],
                         [cx + half_w, cy + half_h, cz, 1, 1], [cx - half_w, cy - half_h, cz, 0, 0],
                         [cx + half_w, cy + half_h, cz, 1, 1], [cx - half_w, cy + half_h, cz, 0, 1]],
                        dtype=np.float32)
        self._vbo.write(quad.tobytes())
        self._text = text

    def draw(self, text: str, view_proj: NDArray[np.float64]) -> None:
        """One more draw call, blended over the scene; nothing when the coach is quiet."""
        import moderngl

        if not text.strip():
            return
        if text != self._text:
            self._update(text)
        self.program["u_view_proj"].write(view_proj.astype("f4").T.tobytes())
        self._texture.use(0)
        self.ctx.enable(moderngl.BLEND)
        self.ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        self.ctx.disable(moderngl.CULL_FACE)
        self.vao.render()
        self.ctx.disable(moderngl.BLEND)
