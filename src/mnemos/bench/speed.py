"""How fast mnemos ingests and recalls, measured through its public API.

Two parts, each with same-run baselines on the same machine:

- **Scale** (first, so that process memory is not inflated by the language model): one
  store and one user scope (the worst case: every search scans the whole scope) grows
  through ``Memory.add``, a batch of turns per call, until it holds each size in
  memories; at each size, search latency over realistic questions, the store's size on
  disk and the process's memory. The store is grown with the default embedder; for an
  embedder too slow to grow a large store, a deterministic ``hash`` embedder (384
  dimensions by default, MiniLM's) can stand in: the vector scan costs the same, but the
  query encode does not, so the embedder's single-query encode latency is measured on its
  own and reported beside search latency. Baseline: a flat numpy scan (N x dimension float32
  matrix-vector product and top-10 ``argpartition``) at each size.
- **Ingestion**: synthetic turns added with the default embedder into a fresh store, end
  to end, one turn per ``add``, one session per ``add``, and one turn per
  ``add(wait=False)`` (timed until the last queued turn is derived), with the share of that
  time spent embedding (measured by wrapping the embedder, not by looking inside the
  engine). Baseline: the raw rate at which sentence-transformers encodes the same texts
  (MiniLM on torch, batch 64). The four are measured in turn, for a few rounds, and
  reported as medians (each ratio as the median of the rounds' ratios).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mnemos._version import __version__
from mnemos.bench.measure import (
    CpuMeter,
    TimedEmbedder,
    file_bytes,
    machine,
    process_memory,
    reset_peak_memory,
)
from mnemos.bench.metrics import mean, percentiles
from mnemos.bench.synthetic import ConversationGenerator, SyntheticTurn
from mnemos.embedders import create_embedder, embedder_from_settings
from mnemos.errors import InvalidInputError
from mnemos.settings import Settings

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["SpeedOptions", "numpy_scan_latency", "run_speed"]


@dataclass(frozen=True, slots=True)
class SpeedOptions:
    """What to measure.

    Attributes:
        turns: Turns ingested one by one in the ingestion part.
        sizes: Store sizes (memories in one user scope) at which search is measured; the
            store grows turn batch by turn batch until it holds at least that many.
        queries: Questions asked at each size (and encoded for encode latency).
        embedder: The embedder for the ingestion part, for query-encode latency and (unless
            ``scale_embedder`` is ``hash``) for the scale store.
        scale_embedder: ``same`` (the embedder above) or ``hash`` (a deterministic hash
            embedder of ``scale_dimension``, for embedders too slow to grow a large store).
        scale_dimension: Dimension of the hash embedder, when it is used.
        batch: Messages per ``add`` call while growing the scale store.
        encode_baseline: Also time sentence-transformers encoding the ingestion texts: in
            batches of 64 (its fastest), and one text per call as turns arrive one by one.
        single_texts: Texts encoded one per call in each round (the first ones; a rate per
            text, so a sample keeps the run short).
        seed: Seed of the synthetic conversation.
        rounds: Rounds of the ingestion part (each: a turn per add, a session per add, a turn per
            add(wait=False), the raw encoder), reported as medians.
    """

    turns: int = 2000
    sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    queries: int = 200
    embedder: str = "minilm-static"
    scale_embedder: str = "same"
    scale_dimension: int = 384
    batch: int = 1000
    encode_baseline: bool = True
    single_texts: int = 400
    seed: int = 0
    rounds: int = 3


def _ms(seconds: Sequence[float]) -> dict[str, float | None]:
    values = [s * 1000 for s in seconds]
    return {**percentiles(values), "mean": mean(values)}


def numpy_scan_latency(
    size: int, dimension: int, queries: int, *, seed: int = 0, k: int = 10
) -> dict[str, float | None]:
    """Latency of the simplest exact vector search: a flat float32 scan with top-``k``.

    The matrix holds random unit vectors: the cost of a scan does not depend on them.
    """
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((size, dimension), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    probes = rng.standard_normal((queries, dimension), dtype=np.float32)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    took = []
    top = min(k, size)
    for probe in probes:
        started = time.perf_counter()
        scores = matrix @ probe
        best = np.argpartition(-scores, top - 1)[:top]
        best = best[np.argsort(-scores[best])]
        took.append(time.perf_counter() - started)
    del matrix
    return _ms(took)


def _scale(
    options: SpeedOptions, questions: list[str], tmp: Path, progress: Progress | None
) -> list[dict[str, Any]]:
    from mnemos.memory import Memory

    sizes = sorted(set(options.sizes))
    embedder = TimedEmbedder(
        create_embedder("hash", dimension=options.scale_dimension)
        if options.scale_embedder == "hash"
        else embedder_from_settings(Settings.load(), options.embedder)
    )
    path = tmp / "scale.db"
    stream = ConversationGenerator(options.seed + 1).iter_turns()
    rows: list[dict[str, Any]] = []
    task = None
    if progress is not None:
        task = progress.add_task("growing one scope (memories)", total=sizes[-1])
    with Memory(path, embedder=embedder) as mem:
        turns = memories = 0
        for size in sizes:
            reset_peak_memory()
            embedder.reset()
            started = time.perf_counter()
            turns_before = turns
            while memories < size:
                # About 1.7 memories come from a turn: ask for fewer turns near the target.
                want = max(1, min(options.batch, (size - memories) // 2))
                batch = list(islice(stream, want))
                result = mem.add(
                    [
                        {"role": "user", "name": t.speaker, "content": t.text, "at": t.at}
                        for t in batch
                    ],
                    user_id="scale",
                    session_id=f"session_{batch[0].session}",
                )
                turns += len(batch)
                memories += len(result.memories)
                if progress is not None and task is not None:
                    progress.update(task, completed=min(memories, sizes[-1]))
            grown = time.perf_counter() - started
            growth = turns - turns_before
            stats = mem.stats(user_id="scale")
            first = time.perf_counter()
            mem.search("warm up: what happened last week?", user_id="scale", limit=10)
            first_ms = (time.perf_counter() - first) * 1000
            took = []
            for question in questions:
                began = time.perf_counter()
                mem.search(question, user_id="scale", limit=10)
                took.append(time.perf_counter() - began)
            memory = process_memory()
            rows.append(
                {
                    "size": size,
                    "memories": stats.memories,
                    "turns": stats.episodes,
                    "grow_seconds": grown,
                    "grow_turns_per_s": growth / grown if grown else None,
                    "grow_embed_share": embedder.seconds / grown if grown else None,
                    "first_search_ms": first_ms,
                    "search_ms": _ms(took),
                    # The slowest questions, to see what a latency tail is made of.
                    "slowest_ms": [
                        {"question": q, "ms": round(t * 1000, 2)}
                        for t, q in sorted(zip(took, questions, strict=True), reverse=True)[:10]
                    ],
                    "numpy_scan_ms": numpy_scan_latency(
                        stats.memories, stats.dimension, len(questions), seed=options.seed
                    ),
                    "store_bytes": file_bytes(path),
                    "rss_bytes": memory["rss"],
                    "peak_rss_bytes": memory["peak"],
                }
            )
    return rows


def _ingest(
    path: Path,
    turns: Sequence[SyntheticTurn],
    embedder: TimedEmbedder,
    mode: str,
    progress: Progress | None,
) -> tuple[float, int]:
    """Seconds to add the turns into a fresh store: one turn per ``add`` (``turn``), one
    session per ``add`` (``session``), or one turn per ``add(wait=False)`` (``queued``),
    timed until every queued turn is derived; and the active memories it then holds."""
    from mnemos.memory import Memory

    task = None
    if progress is not None:
        how = _MODES[mode]
        task = progress.add_task(f"ingesting ({embedder.id}, {how})", total=len(turns))
    if mode == "session":
        calls = [list(group) for _, group in groupby(turns, key=lambda t: t.session)]
    else:
        calls = [[t] for t in turns]
    with Memory(path, embedder=embedder) as mem:
        mem.warm_up()  # the word tables load once per process, before the clock starts
        embedder.reset()
        started = time.perf_counter()
        for call in calls:
            mem.add(
                [{"role": "user", "name": t.speaker, "content": t.text, "at": t.at} for t in call],
                user_id="ingest",
                session_id=f"session_{call[0].session}",
                wait=mode != "queued",
            )
            if progress is not None and task is not None:
                progress.advance(task, len(call))
        mem.settle()  # the clock stops when every turn's memories are written
        took = time.perf_counter() - started
        stats = mem.stats()
        return took, stats.memories_by_status.get("active", 0)


_MODES = {
    "turn": "a turn per add",
    "session": "a session per add",
    "queued": "a turn per add(wait=False)",
}


def _ingestion(
    options: SpeedOptions,
    questions: list[str],
    tmp: Path,
    progress: Progress | None,
    model: Any,
) -> dict[str, Any]:
    from mnemos.memory import Memory

    turns = ConversationGenerator(options.seed).turns(options.turns)
    texts = [t.text for t in turns]
    embedder = TimedEmbedder(embedder_from_settings(Settings.load(), options.embedder))
    warm = time.perf_counter()
    embedder.inner.embed(["warm up"])  # load the model before the clock starts
    warmup_s = time.perf_counter() - warm
    with Memory(tmp / "warm-up.db", embedder=embedder) as mem:
        warmup_s += mem.warm_up()  # and the word tables that derivation reads
    encode_took = []
    for question in questions:
        began = time.perf_counter()
        embedder.inner.embed([question])
        encode_took.append(time.perf_counter() - began)
    st = None
    if options.encode_baseline:
        from mnemos.bench.baselines import load_minilm

        st = model if model is not None else load_minilm()
        st.encode(["warm up"], show_progress_bar=False)
    # Each round measures mnemos a turn per add, then a session per add (how an agent
    # hands over a finished conversation, or an import: one transaction and one encode
    # batch per session), then a turn per add(wait=False) (turns stored as they come,
    # derived in batches), then the raw encoder, so that a machine that speeds up or slows
    # down during the run moves them all: rates are medians over the rounds, and each
    # ratio is the median of the rounds' own ratios.
    rounds: list[dict[str, Any]] = []
    for r in range(options.rounds):
        embedder.reset()
        seconds, active = _ingest(tmp / f"ingest-{r}.db", turns, embedder, "turn", progress)
        embed_seconds = embedder.seconds
        embedder.reset()
        batched, session_active = _ingest(
            tmp / f"ingest-sessions-{r}.db", turns, embedder, "session", progress
        )
        session_embed = embedder.seconds
        embedder.reset()
        queued, queued_active = _ingest(
            tmp / f"ingest-queued-{r}.db", turns, embedder, "queued", progress
        )
        row: dict[str, Any] = {
            "seconds": seconds,
            "turns_per_s": len(turns) / seconds,
            "embed_share": embed_seconds / seconds,
            "active_memories": active,
            "session_seconds": batched,
            "session_turns_per_s": len(turns) / batched,
            "session_embed_share": session_embed / batched,
            "session_active_memories": session_active,
            "queued_seconds": queued,
            "queued_turns_per_s": len(turns) / queued,
            "queued_embed_share": embedder.seconds / queued,
            "queued_active_memories": queued_active,
        }
        if st is not None:
            began = time.perf_counter()
            st.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
            encode_s = time.perf_counter() - began
            row["encode_texts_per_s"] = len(texts) / encode_s
            row["ingest_over_encode"] = row["turns_per_s"] / row["encode_texts_per_s"]
            row["session_over_encode"] = row["session_turns_per_s"] / row["encode_texts_per_s"]
            row["queued_over_encode"] = row["queued_turns_per_s"] / row["encode_texts_per_s"]
            singles = texts[: options.single_texts]
            began = time.perf_counter()
            for text in singles:
                st.encode([text], normalize_embeddings=True, show_progress_bar=False)
            single_s = time.perf_counter() - began
            row["encode_single_texts_per_s"] = len(singles) / single_s if singles else None
            row["ingest_over_single_encode"] = (
                row["turns_per_s"] / row["encode_single_texts_per_s"] if singles else None
            )
        rounds.append(row)

    def middle(key: str) -> float:
        return float(np.median([row[key] for row in rounds]))

    out: dict[str, Any] = {
        "embedder": options.embedder,
        "embedder_id": embedder.id,
        "turns": len(turns),
        "unique_texts": len(set(texts)),
        "rounds": rounds,
        "turns_per_s": middle("turns_per_s"),
        "embed_share": middle("embed_share"),
        "session_batches": {
            "turns_per_s": middle("session_turns_per_s"),
            "embed_share": middle("session_embed_share"),
        },
        "queued": {
            "what": "a turn per add(wait=False), timed until every turn is derived",
            "derive_batch": Settings.load().derive_batch,
            "turns_per_s": middle("queued_turns_per_s"),
            "embed_share": middle("queued_embed_share"),
        },
        "model_warmup_seconds": warmup_s,
        "query_encode_ms": _ms(encode_took),
        "encode_baseline": None,
    }
    if st is not None:
        out["encode_baseline"] = {
            "what": "sentence-transformers all-MiniLM-L6-v2 on torch (CPU), batch 64",
            "texts": len(texts),
            "texts_per_s": middle("encode_texts_per_s"),
            "ingest_over_encode": middle("ingest_over_encode"),
            "session_batches_over_encode": middle("session_over_encode"),
            "queued_over_encode": middle("queued_over_encode"),
            "single": (
                {
                    "what": "the same model, one text per encode call (as turns arrive)",
                    "texts": min(options.single_texts, len(texts)),
                    "texts_per_s": middle("encode_single_texts_per_s"),
                    "ingest_over_encode": middle("ingest_over_single_encode"),
                }
                if options.single_texts > 0 and texts
                else None
            ),
        }
    return out


def run_speed(
    options: SpeedOptions | None = None,
    *,
    progress: Progress | None = None,
    model: Any = None,
) -> dict[str, Any]:
    """Run both parts and return everything measured, ready to dump as JSON.

    Args:
        options: What to measure (default: 2,000 turns; sizes 1k, 10k, 100k; MiniLM).
        progress: A rich progress display.
        model: A sentence-transformers model for the encode baseline (default: MiniLM).

    Raises:
        InvalidInputError: a size, turn or query count below 1.
        ConfigurationError: an unknown embedder.
    """
    options = options or SpeedOptions()
    if not options.sizes or min(options.sizes) < 1:
        raise InvalidInputError("--sizes needs positive sizes, e.g. 1000,10000", field="sizes")
    if options.turns < 1 or options.queries < 1 or options.batch < 1 or options.rounds < 1:
        raise InvalidInputError("turns, queries, batch and rounds must be positive", field="turns")
    started = time.perf_counter()
    meter = CpuMeter()
    generator = ConversationGenerator(options.seed + 1)
    questions = generator.questions(options.queries)
    with tempfile.TemporaryDirectory(prefix="mnemos-speed-") as name:
        tmp = Path(name)
        scale = _scale(options, questions, tmp, progress)
        ingestion = _ingestion(options, questions, tmp, progress, model)
    return {
        "benchmark": "speed",
        "mnemos_version": __version__,
        "config": {
            "turns": options.turns,
            "sizes": sorted(set(options.sizes)),
            "queries": options.queries,
            "embedder": options.embedder,
            "scale_embedder": (
                f"hash, dimension {options.scale_dimension}"
                if options.scale_embedder == "hash"
                else options.embedder
            ),
            "batch": options.batch,
            "seed": options.seed,
            "rounds": options.rounds,
            "scope": "one user scope holds every turn (each search scans all of it)",
        },
        "scale": scale,
        "ingestion": ingestion,
        "timings": {"total_seconds": time.perf_counter() - started},
        "machine": {**machine(), "cpu": meter.report()},
    }
