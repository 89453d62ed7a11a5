"""Sentence embeddings from the bundled MiniLM model, loaded from a local folder only.

Both the knowledge index and the coach's triage classifier embed text with the
same model, so it lives here and is loaded once per process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from knowledge.batching import length_groups

_LOCK = threading.Lock()
_CACHE: dict[Path, Any] = {}


class EmbedderError(Exception):
    pass


class Embedder:
    """Unit-length embeddings, so a dot product is cosine similarity."""

    def __init__(self, model_dir: Path) -> None:
        if not (model_dir / "model.safetensors").is_file():
            raise EmbedderError(
                f"no embedding model in {model_dir}; run `coach models minilm-l6`"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        with _LOCK:
            if model_dir not in _CACHE:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                hf_logging.set_verbosity_error()

                _CACHE[model_dir] = SentenceTransformer(
                    str(model_dir), device="cpu", local_files_only=True
                )
        self._model = _CACHE[model_dir]
        self.dim = int(self._model.get_embedding_dimension())

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> NDArray[np.float32]:
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Encoded in groups of similar length: a batch is padded to its longest text.
        for group in length_groups(texts, max_batch=batch_size):
            vectors = self._model.encode(
                [texts[i] for i in group], batch_size=batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )
            out[group] = np.asarray(vectors, dtype=np.float32)
        return out

