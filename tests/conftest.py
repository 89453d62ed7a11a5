"""Shared fixtures: a throwaway COACH_HOME per test, and the real assembled models.

`make test` runs `coach models` first, so the real models are in the normal
cache; tests read them from there and write databases to temporary homes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from coach.config import Settings, load_settings
from coach.provision import ProvisionError, require

MODELS_DIR = load_settings().models_dir


def model_path(name: str) -> Path:
    try:
        return require(MODELS_DIR, name)
    except ProvisionError as exc:
        pytest.fail(f"{exc} (make test assembles models before running tests)")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings for a fresh install whose models are the shared, real ones."""
    for var in [v for v in os.environ if v.startswith("COACH_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("COACH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COACH_MODELS_PATH", str(MODELS_DIR))
    # Detached note writers would outlive the test that started them; one test turns them on.
    monkeypatch.setenv("COACH_NOTES_AFTER_SESSION", "off")
    yield load_settings()


@pytest.fixture(scope="session")
def triage():  # type: ignore[no-untyped-def]
    from coach.cli.context import TRIAGE_EMBEDDER, open_triage

    model_path(TRIAGE_EMBEDDER)
    return open_triage(load_settings())


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    """The knowledge base's embedder (MiniLM), loaded once."""
    from knowledge.embeddings import Embedder

    return Embedder(model_path("minilm-l6"))


@pytest.fixture(scope="session")
def retriever(embedder, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A real index of the shipped articles, built once per test run."""
    from knowledge.index import build_index, open_index
    from knowledge.retriever import HybridRetriever

    path = tmp_path_factory.mktemp("kb") / "index.sqlite"
    build_index(path, embedder, "minilm-l6")
    return HybridRetriever(index=open_index(path, embedder, "minilm-l6"))


@pytest.fixture(scope="session")
def voice():  # type: ignore[no-untyped-def]
    """The bundled piper voice, loaded once."""
    from avatar.voice import Voice

    return Voice(model_path("piper-joe"))


@pytest.fixture(scope="session")
def tiny():  # type: ignore[no-untyped-def]
    """whisper tiny.en, the light speech model, loaded once."""
    from coach.voice.asr import Transcriber

    return Transcriber(model_path("whisper-tiny.en"))
