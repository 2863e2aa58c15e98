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
    assert report.conversations == 13
    assert metrics["update_accuracy"] >= 0.95, report.errors
    assert metrics["stale_returned_as_current"] == 0, report.errors
    assert metrics["extraction_precision"] >= 0.95, report.errors
    assert metrics["duplicate_rate"] == 0
    assert report.supersessions > 20
    assert report.merges >= 2


def test_the_truth_command_prints_both_splits(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mnemos.cli import main

    out_file = tmp_path / "truth.json"
    assert main(["bench", "truth", "--embedder", "hash", "--json", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "update_accuracy" in out
    assert "dev (13 conversations)" in out
    assert "test (4 conversations)" in out
    import json

    data = json.loads(out_file.read_text())
    assert set(data) == {"dev", "test"}
    assert data["dev"]["metrics"]["stale_returned_as_current"] == 0


def test_what_stays_true_of_an_outdated_memory_is_not_counted_as_extracted() -> None:
    # "I got engaged" supersedes the single-and-Denver statement; Denver is carried over
    # in a memory of its own, which restates and does not extract.
    corpus = {
        "conversations": [
            {
                "id": "quinn",
                "user": "Quinn",
                "split": "dev",
                "sessions": [
                    {
                        "at": "2024-01-08T09:00:00Z",
                        "messages": [
                            {
                                "role": "user",
                                "name": "Quinn",
                                "content": "I'm single and I live in Denver.",
                            }
                        ],
                        "asserts": [["relationship status", "single"], ["residence", "Denver"]],
                        "expect": {"relationship status": ["single"], "residence": ["Denver"]},
                    },
                    {
                        "at": "2024-02-08T09:00:00Z",
                        "messages": [
                            {
                                "role": "user",
                                "name": "Quinn",
                                "content": "I got engaged last weekend!",
                            }
                        ],
                        "asserts": [["relationship status", "engaged"]],
                        "expect": {"relationship status": ["engaged"], "residence": ["Denver"]},
                    },
                ],
                "questions": [],
            }
        ]
    }
    report = run_truth(corpus, embedder="hash")
    metrics = report.metrics()
    assert metrics["extraction_precision"] == 1.0, report.errors
    assert metrics["update_accuracy"] == 1.0, report.errors
    assert report.supersessions >= 1
