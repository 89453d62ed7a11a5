"""glTF 2.0 binary (.glb) out and in, written by hand: the format is a JSON chunk and a data chunk.

Export writes our face with its morph targets named in `mesh.extras.targetNames`
(the convention three.js, Blender and Unity read). Import reads a user's .glb,
.gltf or .vrm, flattens the node hierarchy into world space, and turns the file's
blend shapes into our controls through `avatar.mapping`, so the rest of the avatar
code never sees the difference. Textures are not drawn: each material's base
colour is used.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from avatar.face import CONTROLS, AvatarModel
from avatar.mapping import VRM0_NAMES, recipes_for
from avatar.mesh import Part, smooth_normals

GLB_MAGIC = 0x46546C67
JSON_CHUNK = 0x4E4F534A
BIN_CHUNK = 0x004E4942
FLOAT, UINT, USHORT, UBYTE = 5126, 5125, 5123, 5121
_COMPONENT = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32,
              5126: np.float32}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


class AvatarFileError(Exception):
    """An avatar file is missing, broken, or has no blend shapes we can drive; the message says what to do."""


class _Writer:
    def __init__(self) -> None:
        self.blob = bytearray()
        self.views: list[dict[str, Any]] = []
        self.accessors: list[dict[str, Any]] = []

    def add(self, data: NDArray[Any], kind: str, component: int, target: int | None = None,
            bounds: bool = False) -> int:
        while len(self.blob) % 4:
            self.blob.append(0)
        raw = np.ascontiguousarray(data).tobytes()
        view: dict[str, Any] = {"buffer": 0, "byteOffset": len(self.blob), "byteLength": len(raw)}
        if target is not None:
            view["target"] = target
        self.blob += raw
        self.views.append(view)
        acc: dict[str, Any] = {"bufferView": len(self.views) - 1, "componentType": component,
                               "count": len(data), "type": kind}
        if bounds:
            acc["min"] = [float(x) for x in data.min(axis=0)]
            acc["max"] = [float(x) for x in data.max(axis=0)]
        self.accessors.append(acc)
        return len(self.accessors) - 1

    def zeros(self, count: int) -> int:
        """An accessor without a buffer view: the spec says it reads as zeros (no bytes spent)."""
        self.accessors.append({"componentType": FLOAT, "count": count, "type": "VEC3",
                               "min": [0.0, 0.0, 0.0], "max": [0.0, 0.0, 0.0]})
        return len(self.accessors) - 1


def export_glb(model: AvatarModel, path: Path) -> int:
    """Write the model as one mesh with a primitive per part; returns the file size in bytes."""
    w = _Writer()
    primitives = []
    materials = []
    for part in model.parts:
        attrs = {"POSITION": w.add(part.positions, "VEC3", FLOAT, 34962, bounds=True),
                 "NORMAL": w.add(part.normals, "VEC3", FLOAT, 34962),
                 "COLOR_0": w.add(part.colors, "VEC4", FLOAT, 34962)}
        weight = (model.head_weight or {}).get(part.name, 0.0)
        attrs["_HEAD_WEIGHT"] = w.add(np.full(part.vertex_count, weight, dtype=np.float32), "SCALAR", FLOAT,
                                      34962)
        targets = []
        for control in model.controls:
            if control in part.targets:
                dp, dn = part.targets[control]
                targets.append({"POSITION": w.add(dp, "VEC3", FLOAT, 34962, bounds=True),
                                "NORMAL": w.add(dn, "VEC3", FLOAT, 34962)})
            else:
                zero = w.zeros(part.vertex_count)
                targets.append({"POSITION": zero, "NORMAL": zero})
        materials.append({"name": part.name, "pbrMetallicRoughness": {
            "baseColorFactor": [1.0, 1.0, 1.0, 1.0], "metallicFactor": 0.0,
            "roughnessFactor": 0.35 if part.name.startswith(("eye", "lips", "teeth")) else 0.75}})
        primitives.append({"attributes": attrs, "indices": w.add(part.indices, "SCALAR", UINT, 34963),
                           "material": len(materials) - 1, "targets": targets, "extras": {"name": part.name}})
    doc = {
        "asset": {"version": "2.0", "generator": "avatar-health-coach avatar.face"},
        "scene": 0, "scenes": [{"nodes": [0]}],
        "nodes": [{"name": model.name, "mesh": 0}],
        "meshes": [{"name": model.name, "primitives": primitives, "weights": [0.0] * len(model.controls),
                    "extras": {"targetNames": list(model.controls)}}],
        "materials": materials, "accessors": w.accessors, "bufferViews": w.views,
        "buffers": [{"byteLength": len(w.blob)}],
    }
    text = json.dumps(doc, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    blob = bytes(w.blob) + b"\0" * (-len(w.blob) % 4)
    total = 12 + 8 + len(text) + 8 + len(blob)
    out = (struct.pack("<III", GLB_MAGIC, 2, total) + struct.pack("<II", len(text), JSON_CHUNK) + text
           + struct.pack("<II", len(blob), BIN_CHUNK) + blob)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out)
    return total


def read_gltf(path: Path) -> tuple[dict[str, Any], list[bytes]]:
    """The JSON document and its buffers from .glb/.vrm (binary) or .gltf (JSON + files or data URIs)."""
    if not path.is_file():
        raise AvatarFileError(f"no avatar file at {path}; give a .glb, .gltf or .vrm file")
    data = path.read_bytes()
    try:
        if data[:4] == b"glTF":
            _magic, version, length = struct.unpack_from("<III", data, 0)
            if version != 2:
                raise AvatarFileError(f"{path.name} is glTF {version}; only glTF 2.0 is supported")
            offset, doc, bin_chunk = 12, None, b""
            while offset + 8 <= min(length, len(data)):
                size, kind = struct.unpack_from("<II", data, offset)
                chunk = data[offset + 8:offset + 8 + size]
                if len(chunk) != size:
                    raise ValueError("truncated chunk")
                if kind == JSON_CHUNK:
                    doc = json.loads(chunk)
                elif kind == BIN_CHUNK:
                    bin_chunk = chunk
                offset += 8 + size
            if doc is None:
                raise ValueError("no JSON chunk")
        else:
            doc = json.loads(data)
            bin_chunk = b""
        buffers = []
        for k, buf in enumerate(doc.get("buffers", [])):
            uri = buf.get("uri")
            if uri is None:
                buffers.append(bin_chunk)
            elif uri.startswith("data:"):
                buffers.append(base64.b64decode(uri.split(",", 1)[1]))
            else:
                file = path.parent / uri
                if not file.is_file():
                    raise AvatarFileError(f"{path.name} needs {uri} (buffer {k}) next to it")
                buffers.append(file.read_bytes())
        return doc, buffers
    except AvatarFileError:
        raise
    except (ValueError, KeyError, IndexError, struct.error, UnicodeDecodeError) as exc:
        raise AvatarFileError(f"{path.name} is not a readable glTF 2.0 file ({exc}); "
                              "re-export it as .glb") from exc


def _accessor(doc: dict[str, Any], buffers: list[bytes], index: int) -> NDArray[Any]:
    acc = doc["accessors"][index]
    width = _WIDTH[acc["type"]]
    dtype = np.dtype(_COMPONENT[acc["componentType"]])
    count = acc["count"]
    if "bufferView" not in acc:
        out = np.zeros((count, width), dtype=dtype)
    else:
        view = doc["bufferViews"][acc["bufferView"]]
        blob = buffers[view.get("buffer", 0)]
        start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
        stride = view.get("byteStride", 0) or width * dtype.itemsize
        if stride == width * dtype.itemsize:
            out = np.frombuffer(blob, dtype=dtype, count=count * width, offset=start).reshape(count, width)
        else:
            rows = [np.frombuffer(blob, dtype=dtype, count=width, offset=start + k * stride)
                    for k in range(count)]
            out = np.stack(rows)
    if acc.get("normalized") and dtype.kind in "ui":
        out = out.astype(np.float32) / float(np.iinfo(dtype.name).max)
    if "sparse" in acc:
        sp = acc["sparse"]
        out = out.copy()
        iv = doc["bufferViews"][sp["indices"]["bufferView"]]
        idx = np.frombuffer(buffers[iv.get("buffer", 0)], dtype=_COMPONENT[sp["indices"]["componentType"]],
                            count=sp["count"],
                            offset=iv.get("byteOffset", 0) + sp["indices"].get("byteOffset", 0))
        vv = doc["bufferViews"][sp["values"]["bufferView"]]
        vals = np.frombuffer(buffers[vv.get("buffer", 0)], dtype=dtype, count=sp["count"] * width,
                             offset=vv.get("byteOffset", 0) + sp["values"].get("byteOffset", 0))
        out[idx.astype(np.int64)] = vals.reshape(-1, width)
    return out


def _node_matrix(node: dict[str, Any]) -> NDArray[np.float64]:
    if "matrix" in node:
        return np.asarray(node["matrix"], dtype=np.float64).reshape(4, 4).T
    t = np.asarray(node.get("translation", [0, 0, 0]), dtype=np.float64)
    x, y, z, w = node.get("rotation", [0, 0, 0, 1])
    r = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                  [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                  [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    s = np.asarray(node.get("scale", [1, 1, 1]), dtype=np.float64)
    m = np.identity(4)
    m[:3, :3] = r * s
    m[:3, 3] = t
    return m


def _mesh_nodes(doc: dict[str, Any]) -> list[tuple[int, NDArray[np.float64]]]:
    nodes = doc.get("nodes", [])
    scene = doc.get("scenes", [{"nodes": list(range(len(nodes)))}])[doc.get("scene", 0)]
    out: list[tuple[int, NDArray[np.float64]]] = []
    stack = [(n, np.identity(4)) for n in scene.get("nodes", [])]
    while stack:
        k, parent = stack.pop()
        node = nodes[k]
        world = parent @ _node_matrix(node)
        if "mesh" in node:
            out.append((node["mesh"], world))
        stack.extend((c, world) for c in node.get("children", []))
    return out


def _target_names(doc: dict[str, Any], mesh: dict[str, Any]) -> list[str]:
    names = (mesh.get("extras") or {}).get("targetNames")
    if not names and mesh.get("primitives"):
        names = (mesh["primitives"][0].get("extras") or {}).get("targetNames")
    count = len(mesh["primitives"][0].get("targets", [])) if mesh.get("primitives") else 0
    names = list(names or [])
    return names[:count] + [f"target{k}" for k in range(len(names), count)]


def _vrm_expressions(doc: dict[str, Any]) -> dict[str, list[tuple[int, int, float]]]:
    """VRM presets -> (mesh index, morph index, weight) binds, for VRM 0.x and 1.0."""
    out: dict[str, list[tuple[int, int, float]]] = {}
    ext = doc.get("extensions", {})
    if "VRMC_vrm" in ext:
        node_mesh = {k: n.get("mesh") for k, n in enumerate(doc.get("nodes", []))}
        for name, expr in ext["VRMC_vrm"].get("expressions", {}).get("preset", {}).items():
            out[name] = [(node_mesh[b["node"]], b["index"], float(b.get("weight", 1.0)))
                         for b in expr.get("morphTargetBinds", []) if node_mesh.get(b["node"]) is not None]
    elif "VRM" in ext:
        for group in ext["VRM"].get("blendShapeMaster", {}).get("blendShapeGroups", []):
            preset = VRM0_NAMES.get(str(group.get("presetName", "")).lower())
            if preset:
                out[preset] = [(b["mesh"], b["index"], float(b.get("weight", 100)) / 100.0)
                               for b in group.get("binds", [])]
    return out


def load_avatar(path: Path) -> AvatarModel:
    """A user's avatar with our controls as morph targets (mapped from OVR, ARKit or VRM shapes)."""
    doc, buffers = read_gltf(path)
    try:
        return _load(doc, buffers, path)
    except AvatarFileError:
        raise
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise AvatarFileError(f"{path.name} has inconsistent glTF data ({exc}); re-export it") from exc


def _load(doc: dict[str, Any], buffers: list[bytes], path: Path) -> AvatarModel:
    meshes = doc.get("meshes", [])
    placed = _mesh_nodes(doc)
    if not placed:
        raise AvatarFileError(f"{path.name} has no meshes in its scene")
    vrm = _vrm_expressions(doc)
    all_names = sorted({n for m, _ in placed for n in _target_names(doc, meshes[m])} | set(vrm))
    convention, recipes = recipes_for(all_names)
    if convention == "none":
        raise AvatarFileError(f"{path.name} has no blend shapes the avatar can drive (found "
                              f"{len(all_names)}: {', '.join(all_names[:8]) or 'none'}); it needs the 15 OVR "
                              "visemes (viseme_aa ...), ARKit's 52 face shapes (jawOpen ...) "
                              "or VRM expressions")
    parts: list[Part] = []
    two_sided: set[str] = set()
    head_weight: dict[str, float] = {}
    materials = doc.get("materials", [])
    for mesh_index, world in placed:
        mesh = meshes[mesh_index]
        names = _target_names(doc, mesh)
        normal_m = np.linalg.inv(world[:3, :3]).T
        for k, prim in enumerate(mesh.get("primitives", [])):
            if prim.get("mode", 4) != 4:
                continue
            attrs = prim["attributes"]
            pos = _accessor(doc, buffers, attrs["POSITION"]).astype(np.float64)
            idx = (_accessor(doc, buffers, prim["indices"]).reshape(-1).astype(np.uint32)
                   if "indices" in prim else np.arange(len(pos), dtype=np.uint32))
            world_pos = (pos @ world[:3, :3].T + world[:3, 3]).astype(np.float32)
            if "NORMAL" in attrs:
                nor = _accessor(doc, buffers, attrs["NORMAL"]).astype(np.float64) @ normal_m.T
                nor /= np.maximum(np.linalg.norm(nor, axis=1, keepdims=True), 1e-9)
                normals = nor.astype(np.float32)
            else:
                normals = smooth_normals(world_pos, idx)
            colors = _colors(doc, buffers, prim, len(pos))
            shapes: dict[str, NDArray[np.float64]] = {}
            for t, target in enumerate(prim.get("targets", [])):
                if "POSITION" in target and t < len(names):
                    shapes[names[t]] = _accessor(doc, buffers, target["POSITION"]).astype(np.float64)
            for preset, binds in vrm.items():
                for m, t, weight in binds:
                    targets = prim.get("targets", [])
                    if m == mesh_index and t < len(targets) and "POSITION" in targets[t]:
                        d = _accessor(doc, buffers, prim["targets"][t]["POSITION"]).astype(np.float64)
                        shapes[preset] = shapes.get(preset, 0.0) + weight * d
            name = str((prim.get("extras") or {}).get("name") or f"{mesh.get('name', 'mesh')}_{k}")
            if "material" in prim and materials[prim["material"]].get("doubleSided"):
                two_sided.add(name)
            part = Part(name, world_pos, normals, colors, idx)
            if "_HEAD_WEIGHT" in attrs:  # our own export: which parts turn with the head
                head_weight[name] = round(float(_accessor(doc, buffers, attrs["_HEAD_WEIGHT"]).mean()), 4)
            for control, recipe in recipes.items():
                delta = sum((w * shapes[n] for n, w in recipe.items() if n in shapes),
                            np.zeros_like(pos))
                if np.any(delta):
                    dp = (delta @ world[:3, :3].T).astype(np.float32)
                    dn = smooth_normals(world_pos + dp, idx) - smooth_normals(world_pos, idx)
                    part.targets[control] = (dp, dn)
            parts.append(part)
    if not any(part.targets for part in parts):
        raise AvatarFileError(f"{path.name}'s blend shapes are all empty; re-export it with shape keys")
    return AvatarModel(path.stem, parts, CONTROLS, head_weight or None, frozenset(two_sided))


def _colors(doc: dict[str, Any], buffers: list[bytes], prim: dict[str, Any], n: int) -> NDArray[np.float32]:
    if "COLOR_0" in prim["attributes"]:
        c = _accessor(doc, buffers, prim["attributes"]["COLOR_0"]).astype(np.float32)
        if c.shape[1] == 3:
            c = np.column_stack([c, np.ones(len(c), dtype=np.float32)])
        return np.ascontiguousarray(c)
    factor = [0.8, 0.8, 0.8, 1.0]
    if "material" in prim:
        mat = doc.get("materials", [])[prim["material"]]
        factor = mat.get("pbrMetallicRoughness", {}).get("baseColorFactor", factor)
    return np.tile(np.asarray(factor, dtype=np.float32), (n, 1))


def target_names(path: Path) -> list[str]:
    """The morph target names of the file's first mesh (what a viewer such as Blender would list)."""
    doc, _ = read_gltf(path)
    meshes = doc.get("meshes", [])
    return _target_names(doc, meshes[0]) if meshes else []
