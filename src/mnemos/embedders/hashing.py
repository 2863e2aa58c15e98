"""A deterministic feature-hashing embedder: no model, no dependencies.

It captures word overlap, not meaning, so it is meant for tests and for storage-only use;
recall quality needs a real model such as the default ``minilm``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mnemos.embedders.base import Vectors
from mnemos.engine.text import analyze, content_hash

__all__ = ["HashEmbedder"]


class HashEmbedder:
    """Signed feature hashing of stemmed terms and character trigrams, L2-normalised.

    Args:
        dimension: Length of each vector.
    """

    def __init__(self, dimension: int = 64, **_: object) -> None:
        if dimension < 8:
            raise ValueError("dimension must be at least 8")
        self.dimension = dimension
        self.id = f"hash-v1-{dimension}"
        self.calls = 0
        self.texts_embedded = 0

    def _features(self, text: str) -> list[str]:
        terms = analyze(text)
        grams = [t[i : i + 3] for t in terms for i in range(max(1, len(t) - 2))]
        return terms + grams

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed texts into hashed, normalised vectors."""
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in self._features(text):
                digest = int(content_hash(feature)[:8], 16)
                sign = 1.0 if digest & 1 else -1.0
                out[row, (digest >> 1) % self.dimension] += sign
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
            else:
                out[row, 0] = 1.0
        return out
