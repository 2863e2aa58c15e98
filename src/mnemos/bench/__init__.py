"""The benchmark harness behind ``mnemos bench``: recall on LoCoMo and LongMemEval, speed,
knowledge operations (``truth``) and date resolution (``timex``).

mnemos is measured only through its public API (``Memory.add`` and ``Memory.search``), so
the harness keeps working, unchanged, as the recall engine changes. Baselines are built
from established libraries (bm25s, sentence-transformers), never from mnemos code, and
every system is scored by the same functions in :mod:`mnemos.bench.metrics`.

Modules:
    metrics: recall@k, NDCG, token-budget recall and speaker metrics on returned turns.
    baselines: BM25, BM25 with the previous turn, dense MiniLM and their RRF fusion.
    locomo: the LoCoMo harness (ingest turn by turn, ask every question, score).
    longmemeval: a LongMemEval reader and harness.
    speed: ingestion throughput and search latency at scale.
    synthetic: a deterministic generator of conversational text for the speed benchmark.
    measure: timers, percentiles, process memory and a timing wrapper for embedders.
    report: tables, charts and JSON.
    truth: the knowledge-operations corpus (updates, corrections, duplicates) and its scores.
    timex: date-resolution accuracy against LoCoMo's annotated temporal answers.

Needs the ``bench`` extra (``pip install 'mnemos[bench]'``).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from mnemos.errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, what: str) -> ModuleType:
    """Import an optional dependency of the harness, or say which extra provides it.

    Raises:
        MissingDependencyError: the module is not installed (names the ``bench`` extra).
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(what, "bench", module) from None
