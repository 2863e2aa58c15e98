"""Retrieval metrics against hand-computed examples and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mnemos.bench import metrics as m
from mnemos.bench.metrics import ReturnedHit, ReturnedTurn


def words(text: str) -> int:
    return len(text.split())


# A coarse hit standing for two turns, a single-turn hit, and a hit repeating one turn.
A1 = ReturnedTurn("D1:1", "a1 said this", "Ana")
A2 = ReturnedTurn("D1:2", "a2 said that thing", "Tom")
B5 = ReturnedTurn("D1:5", "five words in this turn", "Tom")
C1 = ReturnedTurn("D2:1", "b1 b1 b1", "Ana")
HITS = [
    ReturnedHit("summary of A and B", (A1, A2)),  # 5 words, then 3 + 4
    ReturnedHit("five words in this turn", (B5,)),  # identical text: rendered once
    ReturnedHit("x y", (A2, C1)),  # 2 words, then 4 (D1:2 again) + 3
]
EVIDENCE = ["D1:2", "D2:1", "D3:3"]


def test_returned_keys_flatten_in_order_without_repeats() -> None:
    assert m.returned_keys(HITS, 1) == ["D1:1", "D1:2"]
    assert m.returned_keys(HITS, 3) == ["D1:1", "D1:2", "D1:5", "D2:1"]


def test_recall_at_k_counts_every_turn_a_hit_hands_back() -> None:
    assert m.recall_at(EVIDENCE, HITS, 1) == pytest.approx(1 / 3)
    assert m.recall_at(EVIDENCE, HITS, 2) == pytest.approx(1 / 3)
    assert m.recall_at(EVIDENCE, HITS, 3) == pytest.approx(2 / 3)
    assert m.recall_at(EVIDENCE, HITS, 50) == pytest.approx(2 / 3)
    assert m.recall_at(["D1:2", "D1:2"], HITS, 1) == 1.0  # duplicates count once


def test_all_found() -> None:
    assert not m.all_found(EVIDENCE, HITS, 3)
    assert m.all_found(["D1:2", "D2:1"], HITS, 3)
    assert not m.all_found(["D1:2", "D2:1"], HITS, 2)


def test_questions_without_evidence_are_not_scored() -> None:
    with pytest.raises(ValueError, match="without evidence"):
        m.recall_at([], HITS, 10)


def test_ndcg_at_turn_level() -> None:
    # Flattened turns: D1:1, D1:2 (rel), D1:5, D2:1 (rel); three evidence turns in the ideal.
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m.ndcg_at(EVIDENCE, HITS, 3) == pytest.approx(dcg / ideal)
    assert m.ndcg_at(["D1:1"], HITS, 10) == pytest.approx(1.0)
    assert m.ndcg_at(["D1:5"], HITS, 1) == 0.0
    assert m.ndcg_at(["D1:5"], HITS, 2) == pytest.approx(1 / math.log2(4))


def test_render_positions_and_budget_recall() -> None:
    ends, total = m.render(HITS, words)
    # hit 1: 5 words, D1:1 ends at 8, D1:2 at 12; hit 2: its text (= the turn) ends at 17;
    # hit 3: 2 words (19), D1:2 again (23, already placed), D2:1 ends at 26.
    assert ends == {"D1:1": 8, "D1:2": 12, "D1:5": 17, "D2:1": 26}
    assert total == 26
    assert m.budget_recall(EVIDENCE, HITS, 11, words) == 0.0
    assert m.budget_recall(EVIDENCE, HITS, 12, words) == pytest.approx(1 / 3)
    assert m.budget_recall(EVIDENCE, HITS, 25, words) == pytest.approx(1 / 3)
    assert m.budget_recall(EVIDENCE, HITS, 26, words) == pytest.approx(2 / 3)


def test_tokens_use_the_project_counter_by_default() -> None:
    hit = ReturnedHit("Hello, world!", (ReturnedTurn("D1:1", "Hello, world!"),))
    assert m.tokens_returned([hit], 10) == 4  # Hello , world !
    assert m.tokens_returned(HITS, 2, words) == 17


def test_turns_per_hit() -> None:
    assert m.turns_per_hit(HITS, 3) == (5, 3)
    assert m.turns_per_hit(HITS, 1) == (2, 1)
    assert m.turns_per_hit([], 10) == (0, 0)


def test_speaker_metrics() -> None:
    assert m.majority_speaker(["Ana", "Tom", "Tom"]) == "Tom"
    assert m.majority_speaker(["Ana", "Tom"]) == "Ana"  # a tie goes to the first seen
    assert m.majority_speaker([None, None]) is None
    assert m.top1_speaker_match("Ana", HITS)  # first turn of the first hit: Ana
    assert not m.top1_speaker_match("Tom", HITS)
    assert not m.top1_speaker_match("Ana", [])
    # Distinct turns of the top 3: D1:1 Ana, D1:2 Tom, D1:5 Tom, D2:1 Ana.
    assert m.speaker_share("Tom", HITS, 3) == pytest.approx(0.5)
    assert m.speaker_share("Tom", HITS, 2) == pytest.approx(2 / 3)
    assert m.speaker_share("Tom", [], 10) is None


def test_percentiles_and_mean() -> None:
    assert m.percentiles([1.0, 2.0, 3.0, 4.0]) == {"p50": 2.5, "p95": pytest.approx(3.85)}
    assert m.percentiles([]) == {"p50": None, "p95": None}
    assert m.mean([1, 2]) == 1.5
    assert m.mean([]) is None


keys = st.sampled_from([f"D1:{i}" for i in range(1, 9)])
turns = st.builds(ReturnedTurn, keys, st.text(max_size=30), st.sampled_from(["Ana", "Tom"]))
hits = st.lists(
    st.builds(ReturnedHit, st.text(max_size=30), st.lists(turns, max_size=3).map(tuple)),
    max_size=8,
)


@given(hits, st.sets(keys, min_size=1))
def test_metric_properties(found: list[ReturnedHit], evidence: set[str]) -> None:
    recalls = [m.recall_at(evidence, found, k) for k in range(1, 10)]
    assert recalls == sorted(recalls)
    assert all(0.0 <= r <= 1.0 for r in recalls)
    assert 0.0 <= m.ndcg_at(evidence, found, 10) <= 1.0 + 1e-9
    assert m.all_found(evidence, found, 10) == (recalls[-1] == 1.0)
    assert m.budget_recall(evidence, found, 10**6) == m.recall_at(evidence, found, len(found))
    assert m.budget_recall(evidence, found, 5) <= m.budget_recall(evidence, found, 50)
