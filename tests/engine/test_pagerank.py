"""Personalised PageRank over the memory-entity graph, against the walk written out plainly."""

from __future__ import annotations

import numpy as np
import pytest

from mnemos.engine.recall import personalized_pagerank
from mnemos.storage.vector_index import GraphView


def plain_walk(
    edges: list[tuple[int, int]], n_m: int, n_e: int, seeds: list[int], damping: float
) -> list[tuple[int, float]]:
    """The documented walk with dense matrices: restart at the seeds in inverse proportion
    to their degree, 8 steps entity -> memory -> entity, memory visits summed; memories
    above the mean of those reached, best first, ties by node order."""
    a = np.zeros((n_m, n_e))
    for m, e in edges:
        a[m, e] += 1
    deg_m, deg_e = a.sum(axis=1), a.sum(axis=0)
    to_m = np.divide(a, deg_e, out=np.zeros_like(a), where=deg_e > 0)
    to_e = np.divide(a.T, deg_m, out=np.zeros_like(a.T), where=deg_m > 0)
    restart = np.zeros(n_e)
    for s in seeds:
        restart[s] = 1 / deg_e[s] if deg_e[s] else 0.0
    restart /= restart.sum()
    r_e, r_m, total = restart.copy(), np.zeros(n_m), np.zeros(n_m)
    for _ in range(8):
        r_m, r_e = damping * to_m @ r_e, (1 - damping) * restart + damping * to_e @ r_m
        total += r_m
    reached = [i for i in range(n_m) if total[i] > 0]
    mean = np.mean(total[reached])
    kept = [i for i in reached if total[i] > mean * (1 + 1e-6)]
    return sorted(((i, total[i]) for i in kept), key=lambda t: (-t[1], t[0]))


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("with_seed_nodes", [True, False])
def test_pagerank_matches_the_plain_walk(seed: int, with_seed_nodes: bool) -> None:
    rng = np.random.default_rng(seed)
    n_m, n_e = int(rng.integers(3, 40)), int(rng.integers(2, 15))
    edges = sorted(
        {(int(rng.integers(n_m)), int(rng.integers(n_e))) for _ in range(int(rng.integers(3, 80)))}
    )
    entity_ids = np.array([f"e{i}" for i in range(n_e)], dtype=object)
    seeds = sorted({int(s) for s in rng.integers(0, n_e, size=int(rng.integers(1, 4)))})
    view = GraphView(
        memory_ids=np.array([f"m{i}" for i in range(n_m)], dtype=object),
        entity_ids=entity_ids,
        edge_memory=np.array([m for m, _ in edges], dtype=np.int64),
        edge_entity=np.array([e for _, e in edges], dtype=np.int64),
        seed_nodes=np.array(seeds, dtype=np.int64) if with_seed_nodes else None,
    )
    limit = int(rng.integers(1, n_m + 2))
    got = personalized_pagerank(view, [f"e{s}" for s in seeds], damping=0.85, limit=limit)
    degree = np.bincount([e for _, e in edges], minlength=n_e)
    if not any(degree[s] for s in seeds):
        assert got == []
        return
    expected = plain_walk(edges, n_m, n_e, seeds, 0.85)[:limit]
    assert [m for m, _ in got] == [f"m{i}" for i, _ in expected]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in expected], rtol=1e-9)
