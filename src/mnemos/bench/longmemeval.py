"""LongMemEval (Wu et al., ICLR 2025): a reader and a retrieval harness.

The dataset is a JSON list of instances. Each holds one question (``question_id``,
``question_type``, ``question``, ``answer``, ``question_date``), the haystack it must be
answered from (``haystack_sessions``: sessions as lists of ``{"role", "content"}`` turns,
the turns that hold the answer marked ``"has_answer": true``; ``haystack_session_ids``;
``haystack_dates``) and ``answer_session_ids``.

Each instance goes into its own user scope, one ``Memory.add`` per session with the
session's date, each turn carrying its session id and index as metadata. The question is
asked at ``question_date``; recall is measured per session (are the answer sessions among
the sessions of the turns handed back?) and per turn (are the ``has_answer`` turns handed
back?). Abstention questions (ids ending in ``_abs``) have nothing to find and are not
scored.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mnemos._version import __version__
from mnemos.bench import metrics as m
from mnemos.bench.measure import CpuMeter, TimedEmbedder, machine
from mnemos.embedders import embedder_from_settings
from mnemos.errors import InvalidInputError
from mnemos.io import read_json
from mnemos.settings import Settings

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = [
    "HaystackSession",
    "HaystackTurn",
    "Instance",
    "LongMemEvalOptions",
    "load_longmemeval",
    "parse_longmemeval_date",
    "run_longmemeval",
]

_DATE = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?:\s*\([A-Za-z]+\))?(?:\s+(\d{1,2}):(\d{2}))?$")
_ROLES = ("user", "assistant", "system", "tool")


@dataclass(frozen=True, slots=True)
class HaystackTurn:
    """One turn of a haystack session."""

    role: str
    content: str
    has_answer: bool = False


@dataclass(frozen=True, slots=True)
class HaystackSession:
    """One dated session of the haystack."""

    id: str
    at: datetime
    turns: list[HaystackTurn]


@dataclass(frozen=True, slots=True)
class Instance:
    """One LongMemEval question with its haystack."""

    question_id: str
    question_type: str
    question: str
    answer: str
    question_date: datetime
    sessions: list[HaystackSession]
    answer_session_ids: list[str]

    @property
    def abstention(self) -> bool:
        """Whether the question has no answer in the haystack (id ends in ``_abs``)."""
        return self.question_id.endswith("_abs")

    @property
    def answer_turns(self) -> list[str]:
        """Keys (``session_id:index``) of the turns marked ``has_answer``."""
        return [f"{s.id}:{i}" for s in self.sessions for i, t in enumerate(s.turns) if t.has_answer]


def parse_longmemeval_date(text: str) -> datetime:
    """Parse LongMemEval's dates, e.g. ``"2023/05/20 (Sat) 02:21"`` (taken as UTC).

    Raises:
        InvalidInputError: the text is not in that form.
    """
    match = _DATE.match(str(text).strip())
    if not match:
        raise InvalidInputError(f"unrecognised LongMemEval date {text!r}")
    year, month, day, hour, minute = match.groups()
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=UTC
        )
    except ValueError:
        raise InvalidInputError(f"unrecognised LongMemEval date {text!r}") from None


def _instance(raw: Any, where: str) -> Instance:
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{where}: an instance must be a JSON object")
    try:
        sessions_raw = raw["haystack_sessions"]
        ids = raw["haystack_session_ids"]
        dates = raw["haystack_dates"]
        if not (len(sessions_raw) == len(ids) == len(dates)):
            raise InvalidInputError(
                f"{where}: haystack_sessions, haystack_session_ids and haystack_dates "
                "differ in length"
            )
        sessions = [
            HaystackSession(
                id=str(sid),
                at=parse_longmemeval_date(date),
                turns=[
                    HaystackTurn(
                        role=str(t.get("role", "user")),
                        content=str(t.get("content", "")),
                        has_answer=bool(t.get("has_answer", False)),
                    )
                    for t in turns
                ],
            )
            for sid, date, turns in zip(ids, dates, sessions_raw, strict=True)
        ]
        return Instance(
            question_id=str(raw["question_id"]),
            question_type=str(raw.get("question_type", "unknown")),
            question=str(raw["question"]),
            answer=str(raw.get("answer", "")),
            question_date=parse_longmemeval_date(raw["question_date"]),
            sessions=sessions,
            answer_session_ids=[str(s) for s in raw.get("answer_session_ids") or []],
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise InvalidInputError(f"{where}: not a LongMemEval instance ({exc!r})") from None


def load_longmemeval(path: str | os.PathLike[str]) -> list[Instance]:
    """Read every instance of a LongMemEval JSON file.

    Raises:
        InvalidInputError: the file is unreadable or not in LongMemEval's layout.
    """
    source = Path(path)
    data = read_json(source, "LongMemEval file")
    if not isinstance(data, list):
        raise InvalidInputError(f"{source} is not a LongMemEval file (a list of instances)")
    return [_instance(raw, f"{source}[{i}]") for i, raw in enumerate(data)]


@dataclass(frozen=True, slots=True)
class LongMemEvalOptions:
    """What to run.

    Attributes:
        ks: Cut-offs for recall.
        embedder: The registered embedder mnemos uses.
        limit: Only the first ``limit`` instances (``None``: all).
    """

    ks: tuple[int, ...] = (5, 10, 20)
    embedder: str = "minilm-static"
    limit: int | None = None


def _hits(result: Any) -> tuple[list[m.ReturnedHit], list[m.ReturnedHit]]:
    """Hits keyed by turn (``session:index``) and the same hits keyed by session."""
    turns, sessions = [], []
    for hit in result.hits:
        found = [
            (str(ev.metadata["session_id"]), int(ev.metadata["turn"]), ev.text, ev.name or ev.role)
            for ev in [*hit.evidence, *hit.context]
            if "session_id" in ev.metadata and "turn" in ev.metadata
        ]
        turns.append(
            m.ReturnedHit(hit.text, tuple(m.ReturnedTurn(f"{s}:{i}", t, w) for s, i, t, w in found))
        )
        sessions.append(
            m.ReturnedHit(hit.text, tuple(m.ReturnedTurn(s, t, w) for s, _, t, w in found))
        )
    return turns, sessions


def run_longmemeval(
    path: str | os.PathLike[str],
    options: LongMemEvalOptions | None = None,
    *,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the retrieval benchmark and return everything measured, ready to dump as JSON.

    Raises:
        InvalidInputError: an unreadable file or a bad option.
        ConfigurationError: an unknown embedder.
    """
    from mnemos.memory import Memory

    options = options or LongMemEvalOptions()
    if not options.ks or min(options.ks) < 1:
        raise InvalidInputError("--k needs positive cut-offs, e.g. 5,10,20", field="k")
    source = Path(path)
    instances = load_longmemeval(source)[: options.limit]
    limit = max(options.ks)
    started = time.perf_counter()
    meter = CpuMeter()
    embedder = TimedEmbedder(embedder_from_settings(Settings.load(), options.embedder))
    task = None
    if progress is not None:
        task = progress.add_task("instances", total=len(instances))
    rows: dict[str, list[dict[str, float]]] = defaultdict(list)
    details: list[dict[str, Any]] = []
    latencies: list[float] = []
    turns_added = 0
    ingest_s = 0.0
    abstentions = 0
    with (
        tempfile.TemporaryDirectory(prefix="mnemos-bench-") as tmp,
        Memory(Path(tmp) / "longmemeval.db", embedder=embedder) as mem,
    ):
        mem.warm_up()
        for inst in instances:
            began = time.perf_counter()
            for session in inst.sessions:
                messages = [
                    {
                        "role": t.role if t.role in _ROLES else "user",
                        "content": t.content,
                        "metadata": {"session_id": session.id, "turn": i},
                    }
                    for i, t in enumerate(session.turns)
                    if t.content.strip()
                ]
                if messages:
                    mem.add(
                        messages,
                        user_id=inst.question_id,
                        session_id=session.id,
                        at=session.at,
                    )
                    turns_added += len(messages)
            ingest_s += time.perf_counter() - began
            if progress is not None and task is not None:
                progress.advance(task)
            if inst.abstention:
                abstentions += 1
                continue
            began = time.perf_counter()
            result = mem.search(
                inst.question, user_id=inst.question_id, limit=limit, at=inst.question_date
            )
            latencies.append((time.perf_counter() - began) * 1000)
            turn_hits, session_hits = _hits(result)
            scores: dict[str, float] = {}
            if inst.answer_session_ids:
                for k in options.ks:
                    scores[f"session R@{k}"] = m.recall_at(inst.answer_session_ids, session_hits, k)
            if inst.answer_turns:
                for k in options.ks:
                    scores[f"turn R@{k}"] = m.recall_at(inst.answer_turns, turn_hits, k)
            rows[inst.question_type].append(scores)
            details.append(
                {
                    "question_id": inst.question_id,
                    "question_type": inst.question_type,
                    "answer_session_ids": inst.answer_session_ids,
                    "answer_turns": inst.answer_turns,
                    "sessions": m.returned_keys(session_hits, limit),
                    "turns": m.returned_keys(turn_hits, limit),
                    "scores": {k: round(v, 4) for k, v in scores.items()},
                }
            )

    names = [f"session R@{k}" for k in options.ks] + [f"turn R@{k}" for k in options.ks]

    def block(chosen: list[dict[str, float]]) -> dict[str, Any]:
        out: dict[str, Any] = {"n": len(chosen)}
        for name in names:
            out[name] = m.mean(r[name] for r in chosen if name in r)
        return out

    types = {label: block(rows[label]) for label in sorted(rows)}
    types["overall"] = block([r for label in sorted(rows) for r in rows[label]])
    return {
        "benchmark": "longmemeval",
        "mnemos_version": __version__,
        "config": {
            "data": str(source),
            "ks": list(options.ks),
            "embedder": options.embedder,
            "embedder_id": embedder.id,
            "instances_limit": options.limit,
        },
        "counts": {
            "instances": len(instances),
            "scored": sum(len(v) for v in rows.values()),
            "abstention_not_scored": abstentions,
            "sessions": sum(len(i.sessions) for i in instances),
            "turns": turns_added,
        },
        "ingestion": {
            "turns": turns_added,
            "seconds": ingest_s,
            "turns_per_s": turns_added / ingest_s if ingest_s else None,
        },
        "latency_ms": {**m.percentiles(latencies), "mean": m.mean(latencies)},
        "types": types,
        "timings": {"total_seconds": time.perf_counter() - started},
        "machine": {**machine(), "cpu": meter.report()},
        "questions": details,
    }
