"""Fusion against hand-computed tables, and its properties."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mnemos.engine.fusion import convex_combination, max_rrf, rrf


def test_rrf_matches_a_hand_computed_table() -> None:
    fused = rrf({"bm25": ["a", "b", "c"], "vector": ["c", "a", "d"]}, k=60)
    expected = {
        "a": 1 / 61 + 1 / 62,
        "c": 1 / 63 + 1 / 61,
        "b": 1 / 62,
        "d": 1 / 63,
    }
    assert [f.key for f in fused] == ["a", "c", "b", "d"]
    for item in fused:
        assert item.score == pytest.approx(expected[item.key])
    assert fused[0].ranks == {"bm25": 1, "vector": 2}


def test_weights_scale_each_channel() -> None:
    fused = rrf({"bm25": ["a"], "vector": ["b"]}, k=1, weights={"bm25": 1.0, "vector": 3.0})
    assert [(f.key, f.score) for f in fused] == [("b", 1.5), ("a", 0.5)]


def test_ties_break_by_best_single_rank_then_channel_order() -> None:
    fused = rrf({"x": ["a", "b"], "y": ["b", "a"]}, k=10)
    assert [f.key for f in fused] == ["a", "b"]


def test_duplicates_count_once_at_their_best_rank() -> None:
    fused = rrf({"x": ["a", "a", "b"]}, k=1)
    assert [(f.key, f.score) for f in fused] == [("a", 0.5), ("b", 0.25)]


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="k must be positive"):
        rrf({"x": ["a"]}, k=0)
    with pytest.raises(ValueError, match="negative"):
        rrf({"x": ["a"]}, weights={"x": -1})


def test_convex_combination_normalises_each_channel() -> None:
    fused = convex_combination(
        {"bm25": {"a": 10.0, "b": 5.0, "c": 0.0}, "vector": {"a": 0.1, "c": 0.9}},
        {"bm25": 1.0, "vector": 2.0},
    )
    assert fused == pytest.approx({"a": 1.0, "b": 0.5, "c": 2.0})


rankings = st.dictionaries(
    st.sampled_from(["bm25", "vector", "graph"]),
    st.lists(st.integers(0, 30), max_size=30),
    min_size=1,
)


@given(rankings)
def test_rrf_properties(lists: dict[str, list[int]]) -> None:
    fused = rrf(lists, k=60)
    keys = [f.key for f in fused]
    assert len(keys) == len(set(keys)) == len({x for v in lists.values() for x in v})
    assert all(a.score >= b.score for a, b in itertools.pairwise(fused))
    top = max_rrf(list(lists), k=60)
    assert all(0 < f.score <= top + 1e-12 for f in fused)
    for f in fused:
        for channel, rank in f.ranks.items():
            assert lists[channel].index(f.key) + 1 == rank


@given(st.lists(st.integers(0, 50), min_size=1, max_size=20, unique=True))
def test_a_single_channel_keeps_its_order(order: list[int]) -> None:
    assert [f.key for f in rrf({"only": order})] == order
