"""The in-process partitions behind the SQLite store's vector, lexical and graph channels,
checked against brute force with tiny blocks so that every block boundary is crossed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from mnemos.storage.vector_index import PartitionRow, VectorCache

DIM = 6
T0 = datetime(2024, 1, 1, tzinfo=UTC)
FILTERS: dict[str, Any] = {
    "statuses": ("active",),
    "kinds": None,
    "valid_at": None,
    "occurred_after": None,
    "occurred_before": None,
    "agent_id": None,
    "session_id": None,
    "allowed_rids": None,
    "ids": None,
}


class Source:
    """Rows as the store would hand them over: everything written since a sequence."""

    def __init__(self) -> None:
        self.rows: list[PartitionRow] = []
        self.seq = 0

    def write(self, rid: int, vector: np.ndarray | None, **kw: Any) -> None:
        self.seq += 1
        fields: dict[str, Any] = {
            "rid": rid, "id": f"m{rid}", "status": "active", "kind": "note",
            "valid_from": None, "valid_to": None, "occurred_at": T0, "agent_id": None,
            "session_id": None, "change_seq": self.seq, "vector": vector,
        }  # fmt: skip
        fields.update(kw)
        self.rows.append(PartitionRow(**fields))

    def load(self, tenant: str, user_id: str, since: int) -> Iterator[list[PartitionRow]]:
        rows = [r for r in self.rows if r.change_seq > since]
        for at in range(0, len(rows), 2):  # in batches, as a large scope streams in
            yield rows[at : at + 2]


def unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


@pytest.mark.parametrize("block", [3, 4, 64])
def test_search_matches_brute_force_across_blocks(block: int) -> None:
    rng = np.random.default_rng(block)
    source, cache = Source(), VectorCache(DIM, block=block)
    vectors = {rid: unit(rng) for rid in range(1, 18)}
    for rid in list(vectors)[:7]:
        source.write(rid, vectors[rid])
    probe = unit(rng)

    def search(limit: int = 5) -> list[tuple[str, float]]:
        return cache.search(
            "t", "u", epoch="e", load=source.load, vector=probe, limit=limit, **FILTERS
        )

    search()  # loads the first rows; the rest arrive incrementally
    for rid in list(vectors)[7:]:
        source.write(rid, vectors[rid])
    vectors[3] = unit(rng)  # a changed vector replaces the old one in place
    source.write(3, vectors[3])
    source.write(5, vectors[5], status="deleted")
    del vectors[5]
    source.write(40, None)  # no vector: never a vector hit

    expected = sorted(vectors, key=lambda rid: -float(vectors[rid] @ probe))[:5]
    hits = search()
    assert [h[0] for h in hits] == [f"m{rid}" for rid in expected]
    assert hits[0][1] == pytest.approx(float(vectors[expected[0]] @ probe), abs=1e-5)
    assert len(search(100)) == len(vectors)


@pytest.mark.parametrize(("block", "score_floats"), [(4, 1), (4, 9), (5, 1000)])
def test_many_queries_match_brute_force_within_a_bounded_work_space(
    block: int, score_floats: int
) -> None:
    rng = np.random.default_rng(score_floats)
    source, cache = Source(), VectorCache(DIM, block=block, score_floats=score_floats)
    vectors = {rid: unit(rng) for rid in range(1, 24)}
    for rid, v in vectors.items():
        source.write(rid, v, kind="fact" if rid % 3 else "note")
    probes = np.stack([unit(rng) for _ in range(7)])
    facts = {**FILTERS, "kinds": ("fact",)}
    many = cache.search_many(
        "t", "u", epoch="e", load=source.load, vectors=probes, limit=4, **facts
    )
    for probe, hits in zip(probes, many, strict=True):
        allowed = [rid for rid in vectors if rid % 3]
        expected = sorted(allowed, key=lambda rid: -float(vectors[rid] @ probe))[:4]
        assert [h[0] for h in hits] == [f"m{rid}" for rid in expected]


def test_two_step_search_rescoring_every_candidate_is_exact() -> None:
    rng = np.random.default_rng(7)
    source = Source()
    # Over ``exact_rows`` allowed memories the search goes by sign code first; with room
    # for every memory among the candidates it must match brute force exactly.
    cache = VectorCache(DIM, block=4, exact_rows=5, candidates=100)
    vectors = {rid: unit(rng) for rid in range(1, 30)}
    for rid, v in vectors.items():
        source.write(rid, v, kind="fact" if rid % 4 else "note")
    probe = unit(rng)
    facts = {**FILTERS, "kinds": ("fact",)}
    hits = cache.search("t", "u", epoch="e", load=source.load, vector=probe, limit=6, **facts)
    allowed = [rid for rid in vectors if rid % 4]
    expected = sorted(allowed, key=lambda rid: -float(vectors[rid] @ probe))[:6]
    assert [h[0] for h in hits] == [f"m{rid}" for rid in expected]
    assert hits[0][1] == pytest.approx(float(vectors[expected[0]] @ probe), abs=1e-5)


def test_two_step_search_finds_near_vectors_and_follows_changes() -> None:
    rng = np.random.default_rng(11)
    dim = 64
    source = Source()
    cache = VectorCache(dim, block=64, exact_rows=10, candidates=20)
    vectors = {}
    for rid in range(1, 400):
        v = rng.standard_normal(dim).astype(np.float32)
        vectors[rid] = v / np.linalg.norm(v)
        source.write(rid, vectors[rid])
    args: dict[str, Any] = {"epoch": "e", "load": source.load, **FILTERS}
    # A slightly perturbed copy of a stored vector finds it first, though only 40 of 399
    # candidates (40 a hit) are rescored.
    found = 0
    for rid in range(1, 400, 20):
        probe = vectors[rid] + 0.05 * rng.standard_normal(dim).astype(np.float32)
        probe /= np.linalg.norm(probe)
        found += cache.search("t", "u", vector=probe, limit=1, **args)[0][0] == f"m{rid}"
        scores = [s for _, s in cache.search("t", "u", vector=probe, limit=3, **args)]
        assert scores == sorted(scores, reverse=True)
    assert found == 20
    # A vector that changes is found by its new value, not its old one.
    new = -vectors[5]
    source.write(5, new)
    assert cache.search("t", "u", vector=new, limit=1, **args)[0][0] == "m5"
    old = cache.search("t", "u", vector=vectors[5], limit=5, **args)
    assert "m5" not in [h[0] for h in old]
    # A deleted memory is never a candidate.
    source.write(9, vectors[9], status="deleted")
    assert "m9" not in [h[0] for h in cache.search("t", "u", vector=vectors[9], limit=5, **args)]


def test_rank_filters_by_scope_and_sums_repeated_scores() -> None:
    source, cache = Source(), VectorCache(DIM, block=2)
    source.write(1, None)
    source.write(2, np.eye(DIM, dtype=np.float32)[0], kind="fact")
    source.write(3, np.eye(DIM, dtype=np.float32)[1], status="superseded")
    ranked = cache.rank(
        "t", "u", epoch="e", load=source.load,
        rids=[1, 2, 1, 3, 99], scores=[1.0, 1.5, 1.0, 9.0, 9.0], limit=10, **FILTERS,
    )  # fmt: skip
    # rid 1 has no vector but is ranked (lexical hits need no vector); 3 is not active;
    # 99 is not in this scope.
    assert ranked == [("m1", 2.0), ("m2", 1.5)]
    facts = cache.rank(
        "t", "u", epoch="e", load=source.load, rids=[1, 2], scores=[1.0, 1.0], limit=10,
        **{**FILTERS, "kinds": ("fact",)},
    )  # fmt: skip
    assert facts == [("m2", 1.0)]


def test_a_new_epoch_reloads_from_scratch() -> None:
    source, cache = Source(), VectorCache(DIM, block=2)
    for rid in range(1, 6):
        source.write(rid, np.eye(DIM, dtype=np.float32)[rid % DIM])
    probe = np.eye(DIM, dtype=np.float32)[1]
    args: dict[str, Any] = {"load": source.load, "vector": probe, "limit": 10, **FILTERS}
    assert len(cache.search("t", "u", epoch="e1", **args)) == 5
    source.rows = [r for r in source.rows if r.rid != 1]  # a hard delete elsewhere
    assert {h[0] for h in cache.search("t", "u", epoch="e2", **args)} == {"m2", "m3", "m4", "m5"}


def test_neighbourhood_walks_entities_and_skips_hubs() -> None:
    source, cache = Source(), VectorCache(DIM, block=2)
    v = np.eye(DIM, dtype=np.float32)[0]
    links = {
        1: ("clara", "piano"),
        2: ("piano", "jazz"),
        3: ("jazz", "lisbon"),
        4: ("hub", "clara"),
        5: ("hub",),
        6: ("hub",),
        7: ("hub",),
    }
    for rid, entities in links.items():
        source.write(rid, v, entities=entities)
    args: dict[str, Any] = {"epoch": "e", "load": source.load, **FILTERS}
    one = cache.graph("t", "u", seeds=["clara"], hops=1, max_degree=3, **args)
    assert sorted(one.memory_ids.tolist()) == ["m1", "m4"]
    two = cache.graph("t", "u", seeds=["clara"], hops=2, max_degree=3, **args)
    # From clara's memories on through piano (and not through the hub, with 4 mentions).
    assert sorted(two.memory_ids.tolist()) == ["m1", "m2", "m4"]
    reached = {
        (str(two.memory_ids[m]), two.entity_ids[e])
        for m, e in zip(two.edge_memory.tolist(), two.edge_entity.tolist(), strict=True)
    }
    assert ("m2", "jazz") in reached
    assert ("m4", "hub") in reached
    whole = cache.graph("t", "u", **args)
    assert len(whole.edge_memory) == sum(len(e) for e in links.values())


def test_rank_breaks_ties_by_write_order_and_cuts_at_the_limit() -> None:
    source, cache = Source(), VectorCache(DIM, block=2)
    for rid in (7, 3, 5, 9):  # loaded out of rid order, as an old memory updated late is
        source.write(rid, None)
    args: dict[str, Any] = {"epoch": "e", "load": source.load, **FILTERS}
    ranked = cache.rank("t", "u", rids=[9, 7, 5, 3], scores=[1.0, 2.0, 1.0, 1.0], limit=3, **args)
    assert ranked == [("m7", 2.0), ("m3", 1.0), ("m5", 1.0)]
    assert cache.rank("t", "u", rids=[9, 5], scores=[1.0, 1.0], limit=1, **args) == [("m5", 1.0)]
    assert cache.rank("t", "u", rids=[], scores=[], limit=3, **args) == []
    assert cache.rank("t", "u", rids=[42], scores=[1.0], limit=3, **args) == []


def _reference_neighbourhood(
    links: dict[int, tuple[str, ...]],
    seeds: list[str],
    hops: int,
    max_degree: int,
    max_memories: int,
) -> set[int]:
    """The walk as documented, written plainly: entities least mentioned first (the first
    mentioned first among equals), no hub, no entity opened once the room is used up."""
    mentions: dict[str, list[int]] = {}
    for rid, entities in links.items():
        for e in entities:
            mentions.setdefault(e, []).append(rid)
    first = {e: i for i, e in enumerate(mentions)}
    reached: set[int] = set()
    seen: set[str] = set()
    frontier = [s for s in dict.fromkeys(seeds) if s in mentions]
    for hop in range(hops):
        frontier.sort(key=lambda e: (len(mentions[e]), first[e]))
        seen.update(frontier)
        room, opened = max_memories - len(reached), set()
        for e in frontier:
            if len(mentions[e]) > max_degree or room <= 0:
                break
            opened.update(mentions[e])
            room -= len(mentions[e])
        fresh = opened - reached
        reached |= fresh
        if not opened or not fresh or hop == hops - 1 or len(reached) >= max_memories:
            break
        frontier = list({e for rid in fresh for e in links[rid]} - seen)
    return reached


@pytest.mark.parametrize("seed", range(12))
def test_neighbourhood_matches_the_walk_written_plainly(seed: int) -> None:
    rng = np.random.default_rng(seed)
    names = [f"e{i}" for i in range(25)]
    weights = rng.dirichlet(np.ones(len(names)) * 0.5)  # a few hubs, many rare entities
    links = {
        rid: tuple(dict.fromkeys(rng.choice(names, size=int(rng.integers(1, 4)), p=weights)))
        for rid in range(1, 80)
    }
    source, cache = Source(), VectorCache(DIM, block=8)
    for rid, entities in links.items():
        source.write(rid, None, entities=entities)
    args: dict[str, Any] = {"epoch": "e", "load": source.load, **FILTERS}
    seeds = [str(s) for s in rng.choice(names, size=2, replace=False)]
    for hops, max_degree, max_memories in [(1, 80, 1000), (2, 12, 1000), (2, 80, 15), (3, 20, 40)]:
        view = cache.graph(
            "t", "u", seeds=seeds, hops=hops, max_degree=max_degree,
            max_memories=max_memories, **args,
        )  # fmt: skip
        expected = _reference_neighbourhood(links, seeds, hops, max_degree, max_memories)
        assert sorted(view.memory_ids.tolist()) == sorted(f"m{rid}" for rid in expected)


def test_a_load_that_fails_midway_starts_over_next_time() -> None:
    source, cache = Source(), VectorCache(DIM, block=2)
    for rid in range(1, 6):
        source.write(rid, np.eye(DIM, dtype=np.float32)[0])
    for row in source.rows:
        row.change_seq = 1  # one write: a sequence number shared across batches
    probe = np.eye(DIM, dtype=np.float32)[0]

    def broken(tenant: str, user_id: str, since: int) -> Iterator[list[PartitionRow]]:
        batches = source.load(tenant, user_id, since)
        yield next(iter(batches))
        raise OSError("disk went away")

    args: dict[str, Any] = {"vector": probe, "limit": 10, **FILTERS}
    with pytest.raises(OSError, match="disk went away"):
        cache.search("t", "u", epoch="e", load=broken, **args)
    assert len(cache.search("t", "u", epoch="e", load=source.load, **args)) == 5
