"""Embedding with a content-hash cache, so the same text is never embedded twice.

Two levels: vectors already in the store (keyed by the hash of the embedded text) and an
in-process LRU, which also serves repeated queries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from mnemos.embedders.base import Embedder, Vectors, check_vectors
from mnemos.engine.text import content_hash
from mnemos.storage.base import Store, Vector

__all__ = ["EmbeddingService"]


class EmbeddingService:
    """Embeds through a cache.

    Args:
        embedder: The model.
        store: Where persisted vectors are looked up.
        lru_size: Vectors kept in process memory.
    """

    def __init__(self, embedder: Embedder, store: Store, lru_size: int = 20_000) -> None:
        self.embedder = embedder
        self.store = store
        self.lru_size = lru_size
        self._lru: OrderedDict[str, Vector] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _remember(self, key: str, vector: Vector) -> None:
        with self._lock:
            self._lru[key] = vector
            self._lru.move_to_end(key)
            while len(self._lru) > self.lru_size:
                self._lru.popitem(last=False)

    def _recall(self, key: str) -> Vector | None:
        with self._lock:
            vector = self._lru.get(key)
            if vector is not None:
                self._lru.move_to_end(key)
            return vector

    def clear(self) -> None:
        """Forget every cached vector held in process memory."""
        with self._lock:
            self._lru.clear()

    def _encode(self, texts: Sequence[str]) -> Vectors:
        raw = self.embedder.embed(list(texts))
        return check_vectors(raw, len(texts), self.embedder.dimension, self.embedder.id)

    def vectors_for(self, texts: Sequence[str]) -> tuple[list[str], dict[str, Vector]]:
        """Hashes for ``texts`` and the vectors that are not yet in the store.

        Returns:
            ``(hashes, new)``: one hash per text, and hash -> vector for each text whose
            vector the store does not hold yet (to be written with the memories).
        """
        hashes = [content_hash(t) for t in texts]
        unique = list(dict.fromkeys(hashes))
        stored = set(self.store.get_vectors(unique)) if unique else set()
        new: dict[str, Vector] = {}
        todo: dict[str, str] = {}
        for h, text in zip(hashes, texts, strict=True):
            if h in stored or h in new or h in todo:
                continue
            cached = self._recall(h)
            if cached is not None:
                new[h] = cached
            else:
                todo[h] = text
        self.hits += len(unique) - len(todo)
        self.misses += len(todo)
        if todo:
            encoded = self._encode(list(todo.values()))
            for h, vector in zip(todo, encoded, strict=True):
                new[h] = vector
                self._remember(h, vector)
        return hashes, new

    def query_vector(self, text: str) -> Vector:
        """The vector for a query, from the LRU when the same text was seen before."""
        key = content_hash(text)
        cached = self._recall(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        vector = np.ascontiguousarray(self._encode([text])[0])
        self._remember(key, vector)
        return vector
