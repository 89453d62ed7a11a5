"""The coach's own face: geometry, morph targets, glTF export and loading user avatars."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from avatar.face import CONTROLS, EXPRESSIONS, LIP_POINTS, VISEMES, AvatarModel, build_face
from avatar.gltf import AvatarFileError, export_glb, load_avatar, read_gltf, target_names
from avatar.mapping import recipes_for
from avatar.mesh import Part


@pytest.fixture(scope="module")
def face() -> AvatarModel:
    return build_face()


def test_face_has_every_part_and_control(face: AvatarModel) -> None:
    names = {p.name for p in face.parts}
    assert {"head", "neck", "torso", "eye_l", "eye_r", "brow_l", "brow_r", "lips", "teeth", "hair"} <= names
    assert len(VISEMES) == 15 and set(EXPRESSIONS) == {"blink", "browRaise", "smile", "concern"}
    driven = {c for p in face.parts for c in p.targets}
    assert set(CONTROLS) - {"sil"} <= driven  # sil is the rest pose itself
    assert 5_000 < face.triangle_count < 30_000


def test_normals_are_unit_and_point_outwards(face: AvatarModel) -> None:
    head = next(p for p in face.parts if p.name == "head")
    length = np.linalg.norm(head.normals, axis=1)
    assert np.allclose(length, 1.0, atol=1e-3)
    outward = np.sum((head.positions - head.positions.mean(axis=0)) * head.normals, axis=1)
    assert (outward > 0).mean() > 0.99
    # smooth: neighbouring normals differ by little (no faceting seams)
    tri = head.indices.reshape(-1, 3)
    cos = np.sum(head.normals[tri[:, 0]] * head.normals[tri[:, 1]], axis=1)
    assert np.percentile(cos, 1) > 0.95


def _lip_gap(face: AvatarModel, control: str) -> float:
    """Vertical distance between the lips' inner edges at the middle of the mouth."""
    lips = next(p for p in face.parts if p.name == "lips")
    pos = lips.positions + lips.targets.get(control, (np.zeros_like(lips.positions),))[0]
    loop = LIP_POINTS  # points along the lips' centre line (the tube's columns)
    u = (np.arange(len(pos)) % loop) * 2 * np.pi / loop
    middle = np.abs(np.cos(u)) < 0.15
    upper, lower = pos[middle & (np.sin(u) > 0)], pos[middle & (np.sin(u) < 0)]
    return float(upper[:, 1].min() - lower[:, 1].max())


def test_open_visemes_open_the_mouth_and_closed_ones_close_it(face: AvatarModel) -> None:
    assert _lip_gap(face, "aa") > 0.012
    assert _lip_gap(face, "aa") > _lip_gap(face, "E") > _lip_gap(face, "ih") > _lip_gap(face, "PP")
    assert _lip_gap(face, "PP") < 0.0  # lips pressed: the two tubes overlap
    lips = next(p for p in face.parts if p.name == "lips")
    width = np.ptp(lips.positions[:, 0])
    assert np.ptp((lips.positions + lips.targets["ou"][0])[:, 0]) < 0.8 * width  # rounded
    assert np.ptp((lips.positions + lips.targets["E"][0])[:, 0]) > width  # spread


def test_blink_closes_the_upper_lid(face: AvatarModel) -> None:
    lid = next(p for p in face.parts if p.name == "lid_l")
    lowest_open = lid.positions[:, 1].min()
    lowest_closed = (lid.positions + lid.targets["blink"][0])[:, 1].min()
    assert lowest_closed < lowest_open - 0.008


def test_glb_round_trip_keeps_names_and_shapes(face: AvatarModel, tmp_path: Path) -> None:
    path = tmp_path / "coach.glb"
    size = export_glb(face, path)
    assert path.stat().st_size == size
    magic, version, length = struct.unpack_from("<III", path.read_bytes(), 0)
    assert (magic, version, length) == (0x46546C67, 2, size)
    doc, _ = read_gltf(path)
    assert doc["asset"]["version"] == "2.0"
    assert target_names(path) == list(CONTROLS)
    prims = doc["meshes"][0]["primitives"]
    assert len(prims) == len(face.parts) and all(len(p["targets"]) == len(CONTROLS) for p in prims)
    back = load_avatar(path)
    assert back.vertex_count == face.vertex_count and back.triangle_count == face.triangle_count
    lips = next(p for p in back.parts if p.name == "lips")
    original = next(p for p in face.parts if p.name == "lips")
    assert np.allclose(lips.targets["aa"][0], original.targets["aa"][0], atol=1e-6)
    assert np.allclose(lips.positions, original.positions, atol=1e-6)
    assert {"blink", "smile", "aa", "PP"} <= {c for p in back.parts for c in p.targets}
    assert back.head_weight == face.head_weight  # the head still turns and the body stays


def _glb_with_shapes(path: Path, names: list[str]) -> Path:
    """A small real glTF file (a quad) whose morph targets carry the given names."""
    face = Part("quad", np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float32),
                np.tile(np.array([0, 0, 1], dtype=np.float32), (4, 1)), np.ones((4, 4), dtype=np.float32),
                np.array([0, 1, 2, 0, 2, 3], dtype=np.uint32))
    for k, name in enumerate(names):
        d = np.zeros((4, 3), dtype=np.float32)
        d[:, 1] = -0.01 * (k + 1)
        face.targets[name] = (d, np.zeros((4, 3), dtype=np.float32))
    export_glb(AvatarModel("user", [face], tuple(names)), path)
    return path


ARKIT_MOUTH = ["jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmileLeft", "mouthSmileRight",
               "mouthStretchLeft", "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthPressLeft",
               "mouthPressRight", "mouthUpperUpLeft", "mouthUpperUpRight", "mouthLowerDownLeft",
               "mouthLowerDownRight", "tongueOut", "eyeBlinkLeft", "eyeBlinkRight", "browInnerUp"]


def test_user_avatar_with_arkit_shapes_is_mapped(tmp_path: Path) -> None:
    path = _glb_with_shapes(tmp_path / "arkit.glb", ARKIT_MOUTH)
    model = load_avatar(path)
    quad = model.parts[0]
    assert {"aa", "PP", "ou", "blink"} <= set(quad.targets)
    # aa = 0.75 jawOpen + 0.2 each lower-lip-down: the deltas add with those weights
    jaw, lo_l, lo_r = (-0.01 * (ARKIT_MOUTH.index(n) + 1) for n in ("jawOpen", "mouthLowerDownLeft",
                                                                    "mouthLowerDownRight"))
    assert quad.targets["aa"][0][0, 1] == pytest.approx(0.75 * jaw + 0.2 * lo_l + 0.2 * lo_r, abs=1e-6)


def test_user_avatar_with_ovr_visemes_is_mapped(tmp_path: Path) -> None:
    names = [f"viseme_{v}" for v in VISEMES] + ["eyeBlinkLeft", "eyeBlinkRight"]
    model = load_avatar(_glb_with_shapes(tmp_path / "rpm.glb", names))
    assert {"aa", "oh", "blink"} <= set(model.parts[0].targets)
    assert recipes_for(names)[0] == "ovr"


def test_bad_avatar_files_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(AvatarFileError, match="no avatar file"):
        load_avatar(tmp_path / "missing.glb")
    broken = tmp_path / "broken.glb"
    broken.write_bytes(b"glTF\x02\x00\x00\x00" + b"\xff" * 40)
    with pytest.raises(AvatarFileError, match="not a readable glTF"):
        load_avatar(broken)
    text = tmp_path / "notes.gltf"
    text.write_text("this is not json", encoding="utf-8")
    with pytest.raises(AvatarFileError, match="not a readable glTF"):
        load_avatar(text)
    plain = _glb_with_shapes(tmp_path / "plain.glb", ["Key 1", "Key 2"])
    with pytest.raises(AvatarFileError, match="no blend shapes the avatar can drive"):
        load_avatar(plain)
    missing_bin = tmp_path / "split.gltf"
    doc = {"asset": {"version": "2.0"}, "buffers": [{"uri": "x.bin", "byteLength": 4}]}
    missing_bin.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(AvatarFileError, match=r"needs x\.bin"):
        load_avatar(missing_bin)
