"""The reference retrievers, on small hand-made scopes."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import pytest

from mnemos import MissingDependencyError
from mnemos.bench.baselines import (
    BM25Retriever,
    DenseRetriever,
    Doc,
    RRFRetriever,
    build_baselines,
)

TRIP = [
    Doc("D1:1", "Rosa", "Good morning! Did you sleep well?"),
    Doc("D1:2", "Rosa", "Where did you go in Kyoto?", "Rosa: Good morning! Did you sleep well?"),
    Doc("D1:3", "Tom", "We visited the golden temple and ate ramen.", "Rosa: Where did you go in Kyoto?"),
    Doc("D1:4", "Tom", "Then I went climbing with my brother.", "Tom: We visited the golden temple and ate ramen."),
    Doc("D2:1", "Tom", "I adopted a cat named Miso last week."),
    Doc("D2:2", "Rosa", "My pottery teacher has three dogs.", "Tom: I adopted a cat named Miso last week."),
]  # fmt: skip


def test_bm25_stems_and_drops_stop_words() -> None:
    bm25 = BM25Retriever()
    bm25.index(TRIP)
    hits = bm25.search("Who climbed with the brother?", 3)
    assert hits[0].turns[0].key == "D1:4"  # "climbed" and "climbing" share a stem
    assert hits[0].text == "Then I went climbing with my brother."  # the turn, no speaker
    assert hits[0].turns[0].speaker == "Tom"
    assert len(hits) == 3
    assert bm25.rank("the and of", 2) == [0, 1]  # only stop words: index order
    assert bm25.search("anything", 100)[-1].turns[0].key == "D2:2"  # k past the end: all


def test_bm25_with_the_previous_turn_finds_answers_to_questions() -> None:
    plain, context = BM25Retriever(), BM25Retriever(with_previous=True)
    plain.index(TRIP)
    context.index(TRIP)
    question = "What did they do in Kyoto?"
    assert [h.turns[0].key for h in plain.search(question, 2)] == ["D1:2", "D1:1"]
    found = {h.turns[0].key: h for h in context.search(question, 2)}
    assert set(found) == {"D1:2", "D1:3"}  # the answer, indexed with the question before it,
    assert found["D1:3"].text == "We visited the golden temple and ate ramen."  # returned alone
    assert context.name == "bm25+prev"


def test_dense_ranks_by_meaning() -> None:
    dense = DenseRetriever()
    dense.index(TRIP)
    assert dense.search("Which pet does Tom have?", 1)[0].turns[0].key == "D2:1"
    assert dense.search("a trip to Japan", 1)[0].turns[0].key in {"D1:2", "D1:3"}


class Fixed:
    """A retriever with a fixed ranking."""

    def __init__(self, name: str, order: list[int]) -> None:
        self.name = name
        self.order = order
        self.docs: list[Doc] = []
        self.indexed = 0

    def index(self, docs: Sequence[Doc]) -> None:
        self.docs = list(docs)
        self.indexed += 1

    def rank(self, query: str, k: int) -> list[int]:
        return self.order[:k]

    def search(self, query: str, k: int) -> list[object]:
        raise NotImplementedError


def test_rrf_fuses_full_rankings_with_k_60() -> None:
    a, b = Fixed("a", [0, 1, 2]), Fixed("b", [2, 0, 1])
    rrf = RRFRetriever([a, b])
    rrf.index(TRIP[:3])
    # doc0: 1/61 + 1/62 = .032522; doc2: 1/63 + 1/61 = .032266; doc1: 1/62 + 1/63 = .032002
    assert rrf.rank("q", 3) == [0, 2, 1]
    assert [h.turns[0].key for h in rrf.search("q", 2)] == ["D1:1", "D1:3"]
    assert a.indexed == b.indexed == 1
    rrf.index(TRIP[:3])  # the parts already hold these turns: not indexed again
    assert a.indexed == 1
    rrf.index(TRIP[3:])
    assert a.indexed == b.indexed == 2


def test_build_baselines_shares_the_fused_parts() -> None:
    bm25, prev, dense, rrf = build_baselines(["bm25", "bm25+prev", "dense", "rrf"], object())
    assert isinstance(rrf, RRFRetriever)
    assert rrf.parts == [bm25, dense]
    assert [r.name for r in (bm25, prev, dense, rrf)] == ["bm25", "bm25+prev", "dense", "rrf"]
    with pytest.raises(ValueError, match="unknown baseline"):
        build_baselines(["bm26"])


def test_missing_bm25s_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bm25s", None)
    with pytest.raises(MissingDependencyError) as caught:
        BM25Retriever()
    assert caught.value.details["extra"] == "bench"
    assert "mnemos[bench]" in caught.value.message
