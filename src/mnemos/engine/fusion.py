"""Rank fusion: pure functions over ranked lists, no I/O.

Weighted reciprocal-rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009):

    score(d) = sum over channels c that ranked d of  w_c / (k + rank_c(d))

with 1-based ranks. It needs no score calibration between channels, which is why hybrid
lexical + vector search uses it: BM25 scores and cosine similarities live on different scales.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["Fused", "convex_combination", "max_rrf", "rrf"]

K = TypeVar("K", bound=Hashable)


@dataclass(slots=True)
class Fused(Generic[K]):
    """A fused item: its key, fused score, and its rank in each channel that found it."""

    key: K
    score: float
    ranks: dict[str, int] = field(default_factory=dict)


def rrf(
    rankings: Mapping[str, Sequence[K]],
    *,
    k: int = 60,
    weights: Mapping[str, float] | None = None,
) -> list[Fused[K]]:
    """Fuse ranked lists by weighted reciprocal rank.

    Args:
        rankings: Channel name -> keys, best first. A key appearing twice in one channel
            counts at its best rank.
        k: The RRF constant; larger values flatten the difference between top ranks.
        weights: Channel name -> weight (default 1.0 for every channel).

    Returns:
        Every key found by any channel, best first; ties broken by the best single rank,
        then by the order channels were given.

    Raises:
        ValueError: k is not positive or a weight is negative.
    """
    if k <= 0:
        raise ValueError("k must be positive")
    weights = weights or {}
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights must not be negative")
    fused: dict[K, Fused[K]] = {}
    # Each key's best single rank and the first channel to give it: channels come in
    # order, so a later channel replaces it only with a strictly better rank.
    order: dict[K, tuple[int, int]] = {}
    for channel_index, (channel, keys) in enumerate(rankings.items()):
        weight = weights.get(channel, 1.0)
        for position, key in enumerate(keys, start=1):
            item = fused.get(key)
            if item is None:
                item = fused[key] = Fused(key, 0.0)
                order[key] = (position, channel_index)
            elif channel in item.ranks:
                continue
            elif position < order[key][0]:
                order[key] = (position, channel_index)
            item.ranks[channel] = position
            item.score += weight / (k + position)
    return sorted(fused.values(), key=lambda f: (-f.score, order[f.key]))


def max_rrf(
    channels: Sequence[str], *, k: int = 60, weights: Mapping[str, float] | None = None
) -> float:
    """The largest score :func:`rrf` can give: rank 1 in every listed channel."""
    weights = weights or {}
    return sum(weights.get(c, 1.0) for c in channels) / (k + 1)


def convex_combination(
    scores: Mapping[str, Mapping[K, float]], weights: Mapping[str, float]
) -> dict[K, float]:
    """Fuse by a weighted sum of min-max normalised scores (an alternative to RRF).

    Each channel's scores are scaled to [0, 1] before weighting; a key a channel did not
    score contributes 0 from that channel.
    """
    out: dict[K, float] = {}
    for channel, channel_scores in scores.items():
        if not channel_scores:
            continue
        weight = weights.get(channel, 1.0)
        low, high = min(channel_scores.values()), max(channel_scores.values())
        span = high - low
        for key, value in channel_scores.items():
            norm = 1.0 if span == 0 else (value - low) / span
            out[key] = out.get(key, 0.0) + weight * norm
    return out
