"""The knowledge-operations corpus and its scoring."""

from __future__ import annotations

import pytest

from mnemos.bench.truth import load_corpus, run_truth, values_match


def test_the_corpus_is_well_formed() -> None:
    corpus = load_corpus()
    splits = {c["split"] for c in corpus["conversations"]}
    assert splits == {"dev", "test"}
    for conv in corpus["conversations"]:
        for session in conv["sessions"]:
            assert session["messages"]
            assert set(session) >= {"at", "messages", "asserts", "expect"}
        for question in conv["questions"]:
            assert set(question) >= {"q", "slot", "answer", "stale"}


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [("Tidewater", "Tidewater Analytics", True), ("3", "3", True), ("Lisbon", "Porto", False),
     ("chess", "chess in the evenings", True), ("", "x", False)],
)  # fmt: skip
def test_value_matching(a: str, b: str, same: bool) -> None:
    assert values_match(a, b) is same


def test_the_dev_split_stays_true() -> None:
    report = run_truth(split="dev", embedder="hash")
    metrics = report.metrics()
    assert report.conversations == 9
    assert metrics["update_accuracy"] >= 0.95, report.errors
    assert metrics["stale_returned_as_current"] == 0, report.errors
    assert metrics["extraction_precision"] >= 0.95, report.errors
    assert metrics["duplicate_rate"] == 0
    assert report.supersessions > 20
    assert report.merges >= 2
