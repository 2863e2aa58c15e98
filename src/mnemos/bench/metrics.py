"""Retrieval metrics on returned turns, the same for mnemos and for every baseline.

A system's answer is a ranked list of :class:`ReturnedHit`; each hit hands back one or more
turns (:class:`ReturnedTurn`, keyed by the dataset's turn id). A hit that stands for many
turns, such as a summary, counts only the turns whose text it hands back, so a coarse hit
can raise recall@k but also costs tokens: :func:`budget_recall` compares systems of any
granularity within the same number of tokens.

Tokens are counted with :func:`mnemos.engine.text.count_tokens` for every system.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mnemos.engine.text import count_tokens

__all__ = [
    "ReturnedHit",
    "ReturnedTurn",
    "all_found",
    "budget_recall",
    "majority_speaker",
    "mean",
    "ndcg_at",
    "percentiles",
    "recall_at",
    "render",
    "returned_keys",
    "speaker_share",
    "tokens_returned",
    "top1_speaker_match",
    "turns_per_hit",
]

TokenCounter = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class ReturnedTurn:
    """One turn a hit hands back.

    Attributes:
        key: The dataset's id for the turn (LoCoMo ``dia_id``, or ``session:turn``).
        text: The turn's text as handed back.
        speaker: Who said it, when known.
    """

    key: str
    text: str
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class ReturnedHit:
    """One hit: the text a system returns and the turns it hands back with it."""

    text: str
    turns: tuple[ReturnedTurn, ...]


def returned_keys(hits: Sequence[ReturnedHit], k: int) -> list[str]:
    """The turns handed back by the first ``k`` hits, in order, each once."""
    seen: dict[str, None] = {}
    for hit in hits[:k]:
        for turn in hit.turns:
            seen.setdefault(turn.key, None)
    return list(seen)


def recall_at(evidence: Collection[str], hits: Sequence[ReturnedHit], k: int) -> float:
    """Share of the evidence turns handed back by the first ``k`` hits.

    Raises:
        ValueError: ``evidence`` is empty (such questions are skipped, not scored).
    """
    wanted = _evidence(evidence)
    return len(wanted & set(returned_keys(hits, k))) / len(wanted)


def all_found(evidence: Collection[str], hits: Sequence[ReturnedHit], k: int) -> bool:
    """Whether every evidence turn is handed back by the first ``k`` hits."""
    return _evidence(evidence) <= set(returned_keys(hits, k))


def ndcg_at(evidence: Collection[str], hits: Sequence[ReturnedHit], k: int) -> float:
    """Turn-level NDCG of the first ``k`` hits (binary relevance: evidence turns).

    The turns of the first ``k`` hits are flattened in order (hit order, then the order of
    the turns within a hit; repeats dropped), so position ``j`` may pass ``k`` when hits
    hand back several turns. The ideal ranking puts every evidence turn first.
    """
    wanted = _evidence(evidence)
    dcg = sum(
        1.0 / math.log2(j + 1)
        for j, key in enumerate(returned_keys(hits, k), start=1)
        if key in wanted
    )
    ideal = sum(1.0 / math.log2(j + 1) for j in range(1, len(wanted) + 1))
    return dcg / ideal


def render(
    hits: Sequence[ReturnedHit], counter: TokenCounter = count_tokens
) -> tuple[dict[str, int], int]:
    """Lay the hits out as a context and note where each turn's text ends, in tokens.

    Each hit renders as its text followed by the text of each turn it hands back that is
    not identical to the hit's text. A turn whose text is the hit's text ends where the hit
    text ends.

    Returns:
        ``(ends, total)``: turn key -> token position where its text first ends, and the
        tokens of the whole rendering.
    """
    ends: dict[str, int] = {}
    total = 0
    for hit in hits:
        total += counter(hit.text)
        at_hit_text = total
        for turn in hit.turns:
            if turn.text == hit.text:
                ends.setdefault(turn.key, at_hit_text)
            else:
                total += counter(turn.text)
                ends.setdefault(turn.key, total)
    return ends, total


def budget_recall(
    evidence: Collection[str],
    hits: Sequence[ReturnedHit],
    budget: int,
    counter: TokenCounter = count_tokens,
) -> float:
    """Share of evidence turns whose text ends within the first ``budget`` tokens."""
    wanted = _evidence(evidence)
    ends, _ = render(hits, counter)
    return sum(1 for key in wanted if ends.get(key, budget + 1) <= budget) / len(wanted)


def tokens_returned(
    hits: Sequence[ReturnedHit], k: int, counter: TokenCounter = count_tokens
) -> int:
    """Tokens in the rendering of the first ``k`` hits (see :func:`render`)."""
    return render(hits[:k], counter)[1]


def turns_per_hit(hits: Sequence[ReturnedHit], k: int) -> tuple[int, int]:
    """``(turns, hits)`` over the first ``k`` hits, to be summed across questions."""
    top = hits[:k]
    return sum(len({t.key for t in hit.turns}) for hit in top), len(top)


def majority_speaker(speakers: Iterable[str | None]) -> str | None:
    """The most frequent speaker (ties go to the one seen first); ``None`` if none known."""
    counts = Counter(s for s in speakers if s)
    if not counts:
        return None
    return counts.most_common(1)[0][0]


def top1_speaker_match(speaker: str, hits: Sequence[ReturnedHit]) -> bool:
    """Whether the first turn handed back (first hit, first turn) was said by ``speaker``."""
    for hit in hits:
        for turn in hit.turns:
            return turn.speaker == speaker
    return False


def speaker_share(speaker: str, hits: Sequence[ReturnedHit], k: int) -> float | None:
    """Share of the distinct turns handed back by the first ``k`` hits said by ``speaker``.

    Returns ``None`` when the hits hand back no turns.
    """
    said: dict[str, str | None] = {}
    for hit in hits[:k]:
        for turn in hit.turns:
            said.setdefault(turn.key, turn.speaker)
    if not said:
        return None
    return sum(1 for s in said.values() if s == speaker) / len(said)


def mean(values: Iterable[float]) -> float | None:
    """The arithmetic mean, or ``None`` for no values."""
    items = list(values)
    return sum(items) / len(items) if items else None


def percentiles(
    values: Sequence[float], qs: Sequence[float] = (50, 95)
) -> Mapping[str, float | None]:
    """Percentiles (linear interpolation) keyed ``p50``, ``p95``, ...; ``None`` when empty."""
    if not values:
        return {f"p{q:g}": None for q in qs}
    array = np.asarray(values, dtype=np.float64)
    return {f"p{q:g}": float(np.percentile(array, q)) for q in qs}


def _evidence(evidence: Collection[str]) -> set[str]:
    wanted = set(evidence)
    if not wanted:
        raise ValueError("a question without evidence turns cannot be scored")
    return wanted
