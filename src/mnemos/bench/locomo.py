"""The LoCoMo recall benchmark (Maharana et al., ACL 2024), mnemos against baselines.

Each conversation goes into its own user scope the way an agent would hand it over: turn
by turn through ``Memory.add``, with the speaker's name, the session's date as the turn's
time, image captions as part of the turn text (as :func:`mnemos.io.locomo.load_locomo`
reads them) and the turn's ``dia_id`` as metadata, so hits map back to turns. Nothing else
is read: never ``observation``, ``session_summary`` or ``event_summary``.

Every question is then asked by its text alone, one day after the last session, and what
comes back is scored against the question's evidence turns with :mod:`mnemos.bench.metrics`.
The baselines of :mod:`mnemos.bench.baselines` index the same turns of the same
conversation and are scored by the same functions.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mnemos._version import __version__
from mnemos.bench import metrics as m
from mnemos.bench.baselines import BASELINES, Doc, Retriever, build_baselines
from mnemos.bench.measure import CpuMeter, TimedEmbedder, machine
from mnemos.embedders import embedder_from_settings
from mnemos.errors import InvalidInputError
from mnemos.io.locomo import Conversation, Turn, load_locomo
from mnemos.settings import Settings

if TYPE_CHECKING:
    from rich.progress import Progress

    from mnemos.memory import Memory
    from mnemos.models import SearchResult

__all__ = [
    "ADVERSARIAL",
    "CATEGORIES",
    "MNEMOS",
    "SPLITS",
    "BaselineSystem",
    "LocomoOptions",
    "MnemosSystem",
    "category_label",
    "conversation_docs",
    "locomo_misses",
    "run_locomo",
    "select_split",
]

SPLITS: dict[str, tuple[str, ...]] = {
    "dev": ("conv-26", "conv-30", "conv-41", "conv-42", "conv-43"),
    "test": ("conv-44", "conv-47", "conv-48", "conv-49", "conv-50"),
}
CATEGORIES: dict[int, str] = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
ADVERSARIAL = 5
MNEMOS = "mnemos"
OVERALL = "overall"
# Metrics where a smaller value is better, and metrics that describe rather than rank.
LOWER_IS_BETTER = frozenset({"tokens@10", "p50 ms", "p95 ms", "p50@10 ms", "p95@10 ms"})
DESCRIPTIVE = frozenset({"turns/hit@10"})


@dataclass(frozen=True, slots=True)
class LocomoOptions:
    """What to run.

    Attributes:
        split: ``dev``, ``test`` or ``all``.
        ks: Cut-offs for evidence recall.
        budget: Token budget for budget recall.
        depth: Most hits asked for by the budget search: mnemos is asked for this many
            with ``budget_tokens``; a baseline's first ``limit`` hits are extended to this
            many when they render in fewer tokens than the budget.
        embedder: The registered embedder mnemos uses.
        baselines: Which baselines to run, from :data:`~mnemos.bench.baselines.BASELINES`.
        wait: Add each turn with ``wait=True`` (derived before ``add`` returns), or with
            ``wait=False`` (queued, derived in batches; timed until derived).
    """

    split: str = "dev"
    ks: tuple[int, ...] = (5, 10, 20)
    budget: int = 1000
    depth: int = 100
    embedder: str = "minilm-static"
    baselines: tuple[str, ...] = BASELINES
    wait: bool = True

    @property
    def limit(self) -> int:
        """Hits asked for per question: the largest cut-off, and at least 10."""
        return max(*self.ks, 10)

    def metric_names(self) -> list[str]:
        """The per-category metrics, in report order."""
        return [
            *(f"R@{k}" for k in self.ks),
            "all@10",
            "NDCG@10",
            f"R@{self.budget}tok",
            "tokens@10",
            "turns/hit@10",
        ]


class System(Protocol):
    """A retrieval system under test: prepared per conversation, then asked questions.

    Attributes:
        name: How reports call it.
        turns: Turns prepared so far.
        seconds: Wall time spent preparing them.
    """

    name: str
    turns: int
    seconds: float

    def prepare(self, conversation: Conversation) -> None:
        """Ingest or index one conversation (each in its own scope)."""
        ...

    def search(self, question: str, k: int) -> tuple[list[m.ReturnedHit], float]:
        """The first ``k`` hits for the question, and the seconds the search took."""
        ...

    def within_budget(
        self, question: str, first: list[m.ReturnedHit], budget: int, depth: int
    ) -> list[m.ReturnedHit]:
        """What the system returns when asked to fit ``budget`` tokens (untimed).

        ``first`` holds the hits of the timed search, to reuse where they suffice.
        """
        ...


class MnemosSystem:
    """mnemos through its public API: ``Memory.add`` per turn, ``Memory.search`` per question.

    Args:
        memory: An open Memory on a fresh store.
    """

    name = MNEMOS

    def __init__(
        self, memory: Memory, embedder: TimedEmbedder | None = None, *, wait: bool = True
    ) -> None:
        self.memory = memory
        self.embedder = embedder
        self.wait = wait
        self.turns = 0
        self.seconds = 0.0
        self.embed_seconds = 0.0
        self._user = ""
        self._at: datetime | None = None

    def prepare(self, conversation: Conversation) -> None:
        """Add the conversation turn by turn into the scope ``user_id = sample_id``."""
        embedded = self.embedder.seconds if self.embedder else 0.0
        started = time.perf_counter()
        for session in conversation.sessions:
            for turn in session.turns:
                self.memory.add(
                    {"role": "user", "name": turn.speaker, "content": turn.text},
                    user_id=conversation.sample_id,
                    session_id=f"session_{session.index}",
                    at=session.at,
                    metadata={"dia_id": turn.dia_id},
                    wait=self.wait,
                )
                self.turns += 1
        self.memory.settle()  # queued turns: timed until their memories are written
        self.seconds += time.perf_counter() - started
        if self.embedder is not None:
            self.embed_seconds += self.embedder.seconds - embedded
        self._user = conversation.sample_id
        self._at = question_time(conversation)

    def search(self, question: str, k: int) -> tuple[list[m.ReturnedHit], float]:
        """Search the conversation's scope as of one day after its last session."""
        started = time.perf_counter()
        result = self.memory.search(question, user_id=self._user, limit=k, at=self._at)
        took = time.perf_counter() - started
        return self._returned(result), took

    def within_budget(
        self, question: str, first: list[m.ReturnedHit], budget: int, depth: int
    ) -> list[m.ReturnedHit]:
        """Search with ``budget_tokens``, as an agent with a prompt budget would: mnemos
        packs the hits itself, dropping a hit's context before dropping the hit."""
        result = self.memory.search(
            question, user_id=self._user, limit=depth, at=self._at, budget_tokens=budget
        )
        return self._returned(result)

    @staticmethod
    def _returned(result: SearchResult) -> list[m.ReturnedHit]:
        return [
            m.ReturnedHit(
                text=hit.text,
                # The evidence first, then the neighbouring turns the hit hands back as
                # context: both are text the hit returns.
                turns=tuple(
                    m.ReturnedTurn(str(ev.metadata["dia_id"]), ev.text, ev.name)
                    for ev in [*hit.evidence, *hit.context]
                    if "dia_id" in ev.metadata
                ),
            )
            for hit in result.hits
        ]


class BaselineSystem:
    """A baseline retriever, indexed over one conversation's turns at a time."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self.name = retriever.name
        self.turns = 0
        self.seconds = 0.0

    def prepare(self, conversation: Conversation) -> None:
        """Index the conversation's turns."""
        docs = conversation_docs(conversation)
        started = time.perf_counter()
        self.retriever.index(docs)
        self.seconds += time.perf_counter() - started
        self.turns += len(docs)

    def search(self, question: str, k: int) -> tuple[list[m.ReturnedHit], float]:
        """The ``k`` best turns."""
        started = time.perf_counter()
        hits = self.retriever.search(question, k)
        return hits, time.perf_counter() - started

    def within_budget(
        self, question: str, first: list[m.ReturnedHit], budget: int, depth: int
    ) -> list[m.ReturnedHit]:
        """The ``depth`` best turns when the first hits render under the budget (a baseline
        cannot be told a budget: its single turns are packed in rank order)."""
        if m.tokens_returned(first, len(first)) >= budget:
            return first
        return self.retriever.search(question, depth)


def question_time(conversation: Conversation) -> datetime | None:
    """When questions are asked: one day after the conversation's last session."""
    if not conversation.sessions:
        return None
    return max(s.at for s in conversation.sessions) + timedelta(days=1)


def conversation_docs(conversation: Conversation) -> list[Doc]:
    """The conversation's turns as baseline documents, each with its session's previous turn."""
    docs: list[Doc] = []
    for session in conversation.sessions:
        previous = ""
        for turn in session.turns:
            doc = Doc(key=turn.dia_id, speaker=turn.speaker, text=turn.text, previous=previous)
            docs.append(doc)
            previous = doc.document
    return docs


def select_split(conversations: Sequence[Conversation], split: str) -> list[Conversation]:
    """The conversations of a split (``dev``, ``test`` or ``all``), in file order.

    Raises:
        InvalidInputError: an unknown split, or the file lacks a conversation of the split.
    """
    if split == "all":
        return list(conversations)
    if split not in SPLITS:
        raise InvalidInputError(f"unknown split {split!r}; use dev, test or all", field="split")
    present = {c.sample_id for c in conversations}
    missing = [s for s in SPLITS[split] if s not in present]
    if missing:
        raise InvalidInputError(
            f"the {split} split needs conversations {', '.join(missing)}, which the file "
            "does not have (use --split all for other files)",
            field="split",
        )
    return [c for c in conversations if c.sample_id in SPLITS[split]]


@dataclass(slots=True)
class _Tally:
    """Per-question scores of one system, by category."""

    scores: dict[str, list[dict[str, float]]] = field(default_factory=lambda: defaultdict(list))
    latencies_ms: list[float] = field(default_factory=list)
    latencies_10_ms: list[float] = field(default_factory=list)


def _score(
    evidence: list[str],
    hits: list[m.ReturnedHit],
    deep: list[m.ReturnedHit],
    options: LocomoOptions,
) -> dict[str, float]:
    turns, count = m.turns_per_hit(hits, 10)
    out = {f"R@{k}": m.recall_at(evidence, hits, k) for k in options.ks}
    out["all@10"] = float(m.all_found(evidence, hits, 10))
    out["NDCG@10"] = m.ndcg_at(evidence, hits, 10)
    out[f"R@{options.budget}tok"] = m.budget_recall(evidence, deep, options.budget)
    out["tokens@10"] = float(m.tokens_returned(hits, 10))
    out["_turns@10"] = float(turns)
    out["_hits@10"] = float(count)
    return out


def _score_adversarial(
    evidence: list[str], speaker: str | None, hits: list[m.ReturnedHit]
) -> dict[str, float]:
    out = {"R@10": m.recall_at(evidence, hits, 10)}
    if speaker is not None:
        out["top-1 speaker"] = float(m.top1_speaker_match(speaker, hits))
        share = m.speaker_share(speaker, hits, 10)
        if share is not None:
            out["speaker share@10"] = share
    return out


def _aggregate(rows: list[dict[str, float]], names: list[str]) -> dict[str, float | int | None]:
    out: dict[str, float | int | None] = {"n": len(rows)}
    for name in names:
        if name == "turns/hit@10":
            hits = sum(r["_hits@10"] for r in rows)
            out[name] = sum(r["_turns@10"] for r in rows) / hits if hits else None
        else:
            out[name] = m.mean(r[name] for r in rows if name in r)
    return out


ADVERSARIAL_LABEL = "adversarial"
ADVERSARIAL_METRICS = ["R@10", "top-1 speaker", "speaker share@10"]


def _sections(options: LocomoOptions) -> list[tuple[str, list[str]]]:
    """(category label, its metrics) in report order."""
    names = options.metric_names()
    return [
        *((label, names) for label in [*CATEGORIES.values(), OVERALL]),
        (ADVERSARIAL_LABEL, ADVERSARIAL_METRICS),
    ]


def _summarise(tally: _Tally, options: LocomoOptions) -> dict[str, Any]:
    rows = tally.scores
    categories: dict[str, Any] = {}
    for label, names in _sections(options):
        if label == OVERALL:
            chosen = [r for c in CATEGORIES.values() for r in rows.get(c, [])]
        else:
            chosen = rows.get(label, [])
        categories[label] = _aggregate(chosen, names)
    out: dict[str, Any] = {"categories": categories}
    for key, lat in (("latency_ms", tally.latencies_ms), ("latency_10_ms", tally.latencies_10_ms)):
        if lat:
            out[key] = {**m.percentiles(lat), "mean": m.mean(lat), "n": len(lat)}
    return out


def _best(candidates: list[tuple[Any, str]], name: str) -> tuple[float, str] | None:
    known = [(v, who) for v, who in candidates if v is not None]
    if not known:
        return None
    pick = min if name in LOWER_IS_BETTER else max
    return pick(known, key=lambda pair: pair[0])


def _deltas(systems: dict[str, Any], options: LocomoOptions) -> dict[str, Any]:
    """mnemos minus the best baseline (by each metric's direction), per category and metric."""
    baselines = [s for s in systems if s != MNEMOS]
    if MNEMOS not in systems or not baselines:
        return {}
    out: dict[str, Any] = {}
    for label, names in _sections(options):
        row: dict[str, Any] = {}
        for name in names:
            ours = systems[MNEMOS]["categories"][label].get(name)
            best = _best([(systems[b]["categories"][label].get(name), b) for b in baselines], name)
            if name in DESCRIPTIVE or ours is None or best is None:
                continue
            row[name] = {"best_baseline": best[1], "best": best[0], "delta": ours - best[0]}
        out[label] = row
    latency: dict[str, Any] = {}
    for key, suffix in (("latency_10_ms", "@10"), ("latency_ms", "")):
        if key not in systems[MNEMOS]:
            continue
        for q in ("p50", "p95"):
            name = f"{q}{suffix} ms"
            ours = systems[MNEMOS][key][q]
            best = _best([(systems[b][key][q], b) for b in baselines], name)
            if ours is None or best is None:
                continue
            latency[name] = {"best_baseline": best[1], "best": best[0], "delta": ours - best[0]}
    out["latency"] = latency
    return out


def category_label(category: int) -> str | None:
    """The report label of a LoCoMo category, or ``None`` for an unknown one."""
    if category == ADVERSARIAL:
        return ADVERSARIAL_LABEL
    return CATEGORIES.get(category)


def _ask(
    system: System,
    question: str,
    evidence: list[str],
    speaker: str | None,
    label: str,
    options: LocomoOptions,
) -> tuple[dict[str, float], dict[str, Any], float, float | None]:
    """Ask one system one question: its scores, its entry for the JSON, its search time
    for the hits scored and (where that is more than 10) for 10 hits.

    The 10-hit search runs first, so it meets the question cold as an agent's would; the
    scored search follows. The budget metric is taken from an untimed search that fits
    the budget (:meth:`System.within_budget`), so that no system is held below the budget
    by the number of hits asked for.
    """
    took_10 = None
    if options.limit != 10:
        _, took_10 = system.search(question, 10)
    hits, took = system.search(question, options.limit)
    if label == ADVERSARIAL_LABEL:
        scores = _score_adversarial(evidence, speaker, hits)
    else:
        deep = system.within_budget(question, hits, options.budget, options.depth)
        scores = _score(evidence, hits, deep, options)
    entry = {
        "hits": [[t.key for t in h.turns] for h in hits],
        "ms": round(took * 1000, 3),
        **({"ms@10": round(took_10 * 1000, 3)} if took_10 is not None else {}),
        "scores": {k: round(v, 4) for k, v in scores.items() if not k.startswith("_")},
    }
    return scores, entry, took, took_10


def locomo_misses(
    report: dict[str, Any],
    conversations: Sequence[Conversation],
    *,
    system: str = MNEMOS,
    k: int = 10,
) -> list[dict[str, Any]]:
    """The questions of categories 1-4 whose evidence ``system`` did not return within its
    first ``k`` hits, by category (in the report's order within one), each with the turns
    it missed.

    Each item holds ``sample_id``, ``category`` (its label), ``question`` and ``missed``:
    per missed evidence turn its ``dia_id``, ``speaker``, ``text`` and ``rank``, the first
    of the scored hits that returned it (past ``k``), or ``None`` where none did.

    Raises:
        InvalidInputError: the report has no per-question results for ``system``.
    """
    turns = {(c.sample_id, t.dia_id): t for c in conversations for t in c.turns}
    out: list[dict[str, Any]] = []
    found = False
    for q in report.get("questions", []):
        label = category_label(q["category"])
        entry = q["systems"].get(system)
        if entry is None:
            continue
        found = True
        if label is None or label == ADVERSARIAL_LABEL:
            continue
        first: dict[str, int] = {}
        for position, hit in enumerate(entry["hits"], start=1):
            for key in hit:
                first.setdefault(key, position)
        missed = []
        for dia_id in q["evidence"]:
            rank = first.get(dia_id)
            if rank is not None and rank <= k:
                continue
            turn = turns.get((q["sample_id"], dia_id))
            missed.append(
                {
                    "dia_id": dia_id,
                    "speaker": turn.speaker if turn else None,
                    "text": turn.text if turn else "",
                    "rank": rank,
                }
            )
        if missed:
            out.append(
                {
                    "sample_id": q["sample_id"],
                    "category": label,
                    "question": q["question"],
                    "missed": missed,
                }
            )
    if not found:
        raise InvalidInputError(f"the report has no results for system {system!r}", field="system")
    order = {label: i for i, label in enumerate(CATEGORIES.values())}
    out.sort(key=lambda q: order[q["category"]])
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_locomo(
    path: str | Path,
    options: LocomoOptions | None = None,
    *,
    progress: Progress | None = None,
    dense_model: Any = None,
) -> dict[str, Any]:
    """Run the benchmark and return everything it measured, ready to dump as JSON.

    Args:
        path: LoCoMo's ``locomo10.json`` (or a file in its layout).
        options: What to run (default: the dev split, every baseline, MiniLM).
        progress: A rich progress display to report ingestion and questions on.
        dense_model: A sentence-transformers model for the dense baselines
            (default: all-MiniLM-L6-v2 from the bundled weights).

    Raises:
        InvalidInputError: an unreadable file, an unknown split, or a bad option.
        ConfigurationError: an unknown embedder.
        MissingDependencyError: a baseline's library is not installed.
    """
    from mnemos.memory import Memory

    options = options or LocomoOptions()
    if not options.ks or min(options.ks) < 1:
        raise InvalidInputError("--k needs positive cut-offs, e.g. 5,10,20", field="k")
    if options.budget < 1 or options.depth < 1:
        raise InvalidInputError("budget and depth must be positive", field="budget")
    source = Path(path)
    conversations = select_split(load_locomo(source), options.split)
    started = time.perf_counter()
    meter = CpuMeter()
    baselines = build_baselines(options.baselines, dense_model)

    embedder = TimedEmbedder(embedder_from_settings(Settings.load(), options.embedder))
    for baseline in baselines:  # load baseline models likewise
        baseline.index([Doc("warm-up", "x", "warm up")])

    total_turns = sum(len(c.turns) for c in conversations)
    total_questions = sum(len(c.qa) for c in conversations)
    ingest_task = questions_task = None
    if progress is not None:
        ingest_task = progress.add_task("ingesting turns", total=total_turns)
        questions_task = progress.add_task("asking questions", total=total_questions)

    details: list[dict[str, Any]] = []
    asked: dict[str, int] = defaultdict(int)
    skipped: dict[str, int] = defaultdict(int)
    question_seconds = 0.0
    with tempfile.TemporaryDirectory(prefix="mnemos-bench-") as tmp:
        memory = Memory(Path(tmp) / "locomo.db", embedder=embedder)
        # Load the model and the word tables before the clock starts.
        warmup_s = memory.warm_up()
        ours = MnemosSystem(memory, embedder, wait=options.wait)
        systems: list[System] = [ours, *(BaselineSystem(b) for b in baselines)]
        tallies = {s.name: _Tally() for s in systems}
        try:
            for conv in conversations:
                for system in systems:
                    system.prepare(conv)
                if progress is not None and ingest_task is not None:
                    progress.advance(ingest_task, len(conv.turns))
                by_key: dict[str, Turn] = {t.dia_id: t for t in conv.turns}
                q_started = time.perf_counter()
                asking: list[tuple[str, list[str], str | None, dict[str, Any]]] = []
                for qa in conv.qa:
                    label = category_label(qa.category)
                    if label is None:
                        skipped[f"category {qa.category}"] += 1
                        continue
                    asked[label] += 1
                    evidence = list(dict.fromkeys(e for e in qa.evidence if e in by_key))
                    if not evidence:
                        skipped[label] += 1
                        continue
                    record: dict[str, Any] = {
                        "sample_id": conv.sample_id,
                        "category": qa.category,
                        "question": qa.question,
                        "evidence": evidence,
                    }
                    speaker = None
                    if label == ADVERSARIAL_LABEL:
                        speaker = m.majority_speaker(by_key[e].speaker for e in evidence)
                        record["speaker"] = speaker
                    record["systems"] = {}
                    asking.append((label, evidence, speaker, record))
                    details.append(record)
                if progress is not None and questions_task is not None:
                    progress.advance(questions_task, len(conv.qa) - len(asking))
                # Each system answers the conversation's questions in a pass of its own, so
                # that no system's clock runs while another's leftovers (a thread pool
                # still spinning after an encode, caches it filled) compete for the CPU.
                for system in systems:
                    for label, evidence, speaker, record in asking:
                        scores, entry, took, took_10 = _ask(
                            system, record["question"], evidence, speaker, label, options
                        )
                        tallies[system.name].latencies_ms.append(took * 1000)
                        if took_10 is not None:
                            tallies[system.name].latencies_10_ms.append(took_10 * 1000)
                        tallies[system.name].scores[label].append(scores)
                        record["systems"][system.name] = entry
                        if progress is not None and questions_task is not None:
                            progress.advance(questions_task, 1 / len(systems))
                question_seconds += time.perf_counter() - q_started
        finally:
            settings = memory.settings.model_dump(
                mode="json", exclude={"path", "data_dir", "embedder"}
            )
            memory.close()

    summaries = {s.name: _summarise(tallies[s.name], options) for s in systems}
    return {
        "benchmark": "locomo",
        "mnemos_version": __version__,
        "config": {
            "data": str(source),
            "data_sha256": _sha256(source),
            "split": options.split,
            "conversations": [c.sample_id for c in conversations],
            "ks": list(options.ks),
            "budget_tokens": options.budget,
            "search_limit": options.limit,
            "budget_depth": options.depth,
            "embedder": options.embedder,
            "embedder_id": embedder.id,
            "baselines": list(options.baselines),
            "question_time": "one day after the conversation's last session",
            "settings": settings,
        },
        "counts": {
            "conversations": len(conversations),
            "sessions": sum(len(c.sessions) for c in conversations),
            "turns": total_turns,
            "questions": total_questions,
            "asked": dict(asked),
            "skipped_no_evidence": dict(skipped),
        },
        "ingestion": {
            "turns": ours.turns,
            "seconds": ours.seconds,
            "turns_per_s": ours.turns / ours.seconds if ours.seconds else None,
            "wait": options.wait,
            "embed_seconds": ours.embed_seconds,
            "embed_share": ours.embed_seconds / ours.seconds if ours.seconds else None,
            "model_warmup_seconds": warmup_s,
        },
        "indexing": {
            s.name: {
                "seconds": s.seconds,
                "turns_per_s": s.turns / s.seconds if s.seconds else None,
            }
            for s in systems
            if s is not ours
        },
        "timings": {
            "total_seconds": time.perf_counter() - started,
            "question_seconds": question_seconds,
        },
        "machine": {**machine(), "cpu": meter.report()},
        "systems": summaries,
        "delta_vs_best_baseline": _deltas(summaries, options),
        "questions": details,
    }
