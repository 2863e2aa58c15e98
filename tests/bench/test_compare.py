"""Two LoCoMo results compared question by question: pairing, statistics, errors, CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mnemos import InvalidInputError
from mnemos.bench.compare import compare_reports, load_report
from mnemos.bench.report import write_json
from mnemos.cli import main

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "locomo_mini.json"


def _question(i: int, category: int, scores: dict[str, dict[str, float]]) -> dict[str, Any]:
    return {
        "sample_id": f"conv-{i % 3}",
        "category": category,
        "question": f"question {i}?",
        "evidence": [f"D1:{i}"],
        "systems": {name: {"hits": [], "scores": s} for name, s in scores.items()},
    }


def _report(rows: list[tuple[int, dict[str, dict[str, float]]]], split: str = "dev") -> dict:
    return {
        "benchmark": "locomo",
        "mnemos_version": "0",
        "config": {"split": split, "embedder_id": "hash-64"},
        "questions": [_question(i, c, s) for i, (c, s) in enumerate(rows)],
    }


def _single_hop(base: list[float], new: list[float]) -> tuple[dict, dict]:
    return (
        _report([(4, {"mnemos": {"R@10": v, "R@1000tok": v}}) for v in base]),
        _report([(4, {"mnemos": {"R@10": v, "R@1000tok": v}}) for v in new]),
    )


def test_identical_runs_differ_by_nothing_with_certainty() -> None:
    base, new = _single_hop([1.0, 0.5, 0.0, 1.0], [1.0, 0.5, 0.0, 1.0])
    row = compare_reports(base, new)["rows"]["single-hop"]["R@10"]
    assert row == {
        "n": 4, "base": 0.625, "new": 0.625, "delta": 0.0, "low": 0.0, "high": 0.0,
        "p": 1.0, "up": 0, "down": 0, "same": 4,
    }  # fmt: skip


def test_a_consistent_gain_is_told_from_chance_and_a_single_flip_is_not() -> None:
    # 60 questions, every one up by 0.5: the interval is the gain itself and p is tiny.
    base, new = _single_hop([0.5] * 60, [1.0] * 60)
    row = compare_reports(base, new, resamples=2000)["rows"]["single-hop"]["R@10"]
    assert row["delta"] == pytest.approx(0.5)
    assert row["low"] == pytest.approx(0.5)
    assert row["high"] == pytest.approx(0.5)
    assert row["p"] < 0.001
    assert (row["up"], row["down"], row["same"]) == (60, 0, 0)

    # One question of 60 gained: the interval holds 0 and p is large.
    base, new = _single_hop([0.0] * 60, [1.0] + [0.0] * 59)
    row = compare_reports(base, new, resamples=2000)["rows"]["single-hop"]["R@10"]
    assert row["delta"] == pytest.approx(1 / 60)
    assert row["low"] <= 0.0 < row["high"]
    assert row["p"] > 0.5


def test_mixed_changes_give_an_interval_around_the_mean_difference() -> None:
    rng_base = [float(i % 2) for i in range(200)]
    rng_new = [1.0 if i % 5 else 0.0 for i in range(200)]
    base, new = _single_hop(rng_base, rng_new)
    row = compare_reports(base, new)["rows"]["single-hop"]["R@10"]
    assert row["delta"] == pytest.approx(sum(rng_new) / 200 - sum(rng_base) / 200)
    assert row["low"] < row["delta"] < row["high"]
    assert row["low"] > 0  # +0.3 over 200 questions is no accident
    assert row["up"] + row["down"] + row["same"] == 200


def test_same_seed_same_figures_and_another_seed_close_ones() -> None:
    base, new = _single_hop(
        [float(i % 3 == 0) for i in range(90)], [float(i % 2) for i in range(90)]
    )
    a = compare_reports(base, new, seed=7)["rows"]["single-hop"]["R@10"]
    assert compare_reports(base, new, seed=7)["rows"]["single-hop"]["R@10"] == a
    b = compare_reports(base, new, seed=8)["rows"]["single-hop"]["R@10"]
    assert b["delta"] == a["delta"]
    assert abs(b["low"] - a["low"]) < 0.05
    assert abs(b["high"] - a["high"]) < 0.05


def test_categories_overall_and_adversarial_are_grouped_as_the_benchmark_does() -> None:
    rows = [
        (1, {"mnemos": {"R@10": 0.0}, "bm25": {"R@10": 1.0}}),
        (2, {"mnemos": {"R@10": 1.0}, "bm25": {"R@10": 1.0}}),
        (4, {"mnemos": {"R@10": 1.0}, "bm25": {"R@10": 0.0}}),
        (4, {"mnemos": {"R@10": 1.0}, "bm25": {"R@10": 0.0}}),
        (5, {"mnemos": {"R@10": 1.0}, "bm25": {"R@10": 0.0}}),
    ]
    out = compare_reports(_report(rows), against="bm25", metrics=("R@10",))
    assert list(out["rows"]) == ["multi-hop", "temporal", "single-hop", "overall", "adversarial"]
    assert out["rows"]["overall"]["R@10"]["n"] == 4  # adversarial is reported apart
    assert out["rows"]["overall"]["R@10"]["delta"] == pytest.approx((1 - 2) / 4)
    assert out["rows"]["adversarial"]["R@10"]["delta"] == -1.0
    assert out["base"]["system"] == "mnemos"
    assert out["new"]["system"] == "bm25"
    assert out["new"]["embedder_id"] is None


def test_questions_pair_by_content_not_by_position() -> None:
    base, new = _single_hop([1.0, 0.0, 0.5], [1.0, 0.0, 0.5])
    new["questions"].reverse()
    row = compare_reports(base, new)["rows"]["single-hop"]["R@10"]
    assert row["same"] == 3


def test_reports_of_different_questions_are_refused() -> None:
    base, _ = _single_hop([1.0, 0.0], [1.0, 0.0])
    other = _report([(4, {"mnemos": {"R@10": 1.0}})] * 3, split="test")
    other["questions"][0]["question"] = "something else?"
    with pytest.raises(InvalidInputError, match=r"different questions: .* \(splits dev and test\)"):
        compare_reports(base, other)


def test_unknown_system_metric_and_nothing_to_compare_are_named() -> None:
    base, new = _single_hop([1.0], [1.0])
    with pytest.raises(
        InvalidInputError, match=r"no results for system 'dense' \(it has: mnemos\)"
    ):
        compare_reports(base, new, against="dense")
    with pytest.raises(InvalidInputError, match=r"unknown metric\(s\) R@7; both reports have"):
        compare_reports(base, new, metrics=("R@7",))
    with pytest.raises(InvalidInputError, match="nothing to compare"):
        compare_reports(base)
    with pytest.raises(InvalidInputError, match="at least 100"):
        compare_reports(base, new, resamples=10)


def test_load_report_explains_what_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidInputError, match="is not JSON"):
        load_report(bad)
    bad.write_text(json.dumps({"benchmark": "speed"}))
    with pytest.raises(InvalidInputError, match="is not a LoCoMo report"):
        load_report(bad)
    bad.write_text(json.dumps({"benchmark": "locomo", "systems": {}}))
    with pytest.raises(InvalidInputError, match="no per-question records"):
        load_report(bad)
    with pytest.raises(InvalidInputError, match="cannot read"):
        load_report(tmp_path / "missing.json")


def test_cli_compares_a_real_run_with_its_baseline_and_with_a_second_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    runs = []
    for name, wait in (("hash.json", "--wait"), ("queued.json", "--no-wait")):
        out = tmp_path / name
        code = main(["bench", "locomo", "--data", str(MINI), "--split", "all", "--embedder",
                     "hash", wait, "--baselines", "bm25", "--json", str(out)])  # fmt: skip
        assert code == 0, capsys.readouterr().out
        runs.append(out)
    capsys.readouterr()

    saved = tmp_path / "cmp.json"
    code = main(["bench", "compare", str(runs[0]), "--against", "bm25", "--metric", "R@10,NDCG@10",
                 "--resamples", "500", "--json", str(saved)])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0, text
    assert "against hash.json, bm25 (all split)" in text
    assert "NDCG@10" in text
    assert "95% CI" in text
    result = json.loads(saved.read_text())
    assert result["settings"] == {
        "resamples": 500, "seed": 0, "confidence": 0.95, "margin": None,
    }  # fmt: skip
    assert "no worse" not in text
    assert "Questions whose" not in text
    report = json.loads(runs[0].read_text())
    for label, row in result["rows"].items():
        assert row["R@10"]["base"] == pytest.approx(
            report["systems"]["mnemos"]["categories"][label]["R@10"]
        )
        assert row["R@10"]["new"] == pytest.approx(
            report["systems"]["bm25"]["categories"][label]["R@10"]
        )

    # Queued ingestion stores the same memories: no worse by any margin, every row "yes".
    assert main(["bench", "compare", str(runs[0]), str(runs[1]), "--margin", "0.02"]) == 0
    text = capsys.readouterr().out
    assert "hash.json, mnemos, hash" in text
    assert "against queued.json, mnemos, hash" in text
    assert "no worse by 0.02" in text
    verdicts = [line.split("│")[-2].strip() for line in text.splitlines() if "R@10 " in line]
    assert verdicts
    assert set(verdicts) == {"yes"}

    # mnemos against BM25 on the fixture: the questions that moved, listed on request.
    listed = tmp_path / "changes.json"
    code = main(["bench", "compare", str(runs[0]), "--against", "bm25", "--metric", "tokens@10",
                 "--changes", "--resamples", "200", "--json", str(listed)])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    moved = json.loads(listed.read_text())["changes"]["questions"]
    assert moved
    down = sum(1 for c in moved if c["new"] < c["base"])
    assert f"Questions whose tokens@10 changed: {down} down, {len(moved) - down} up" in text
    assert moved[0]["question"][:30] in text

    # Two files of the same name are told apart by their paths.
    (tmp_path / "again").mkdir()
    twin = tmp_path / "again" / "hash.json"
    twin.write_text(runs[0].read_text())
    named = tmp_path / "named.json"
    code = main(["bench", "compare", str(runs[0]), str(twin), "--resamples", "100",
                 "--json", str(named)])  # fmt: skip
    assert code == 0
    capsys.readouterr()
    sides = json.loads(named.read_text())
    assert (sides["base"]["name"], sides["new"]["name"]) == (str(runs[0]), str(twin))

    assert main(["bench", "compare", str(runs[0]), str(runs[1]), "--margin", "1.5"]) == 1
    assert "margin must be at least 0 and below 1" in capsys.readouterr().err

    assert main(["bench", "compare", str(runs[0])]) == 1
    assert "nothing to compare" in capsys.readouterr().err


def test_no_worse_needs_the_whole_interval_above_minus_the_margin() -> None:
    # 400 questions, 2 lost: the loss (0.005) is shown smaller than 0.02, not than 0.001.
    base, new = _single_hop([1.0] * 400, [0.0, 0.0] + [1.0] * 398)
    row = compare_reports(base, new, margin=0.02)["rows"]["single-hop"]["R@10"]
    assert row["delta"] == pytest.approx(-0.005)
    assert row["low"] > -0.02
    assert row["no_worse"] == "yes"
    row = compare_reports(base, new, margin=0.001)["rows"]["single-hop"]["R@10"]
    assert row["low"] < -0.001 < row["high"]
    assert row["no_worse"] == "open"

    # Half of 100 questions lost: a loss far beyond a margin of 0.05.
    base, new = _single_hop([1.0] * 100, [float(i % 2) for i in range(100)])
    row = compare_reports(base, new, margin=0.05)["rows"]["single-hop"]["R@10"]
    assert row["high"] < -0.05
    assert row["no_worse"] == "no"

    # A gain is no worse by any margin, zero included; without a margin there is no verdict.
    base, new = _single_hop([0.0] * 50, [1.0] * 50)
    assert compare_reports(base, new, margin=0.0)["rows"]["single-hop"]["R@10"]["no_worse"] == (
        "yes"
    )
    assert "no_worse" not in compare_reports(base, new)["rows"]["single-hop"]["R@10"]


def test_changes_list_the_questions_that_moved_losses_first_by_category() -> None:
    rows_base = [
        (4, {"mnemos": {"R@10": 1.0, "NDCG@10": 0.5}}),
        (1, {"mnemos": {"R@10": 0.0, "NDCG@10": 0.0}}),
        (4, {"mnemos": {"R@10": 0.0, "NDCG@10": 0.0}}),
        (4, {"mnemos": {"R@10": 0.5, "NDCG@10": 0.5}}),
        (5, {"mnemos": {"R@10": 1.0, "NDCG@10": 1.0}}),
    ]
    rows_new = [
        (4, {"mnemos": {"R@10": 0.0, "NDCG@10": 0.0}}),
        (1, {"mnemos": {"R@10": 0.5, "NDCG@10": 0.2}}),
        (4, {"mnemos": {"R@10": 1.0, "NDCG@10": 0.9}}),
        (4, {"mnemos": {"R@10": 0.5, "NDCG@10": 0.7}}),  # R@10 unchanged
        (5, {"mnemos": {"R@10": 0.0, "NDCG@10": 0.0}}),
    ]
    out = compare_reports(_report(rows_base), _report(rows_new), metrics=("R@10", "NDCG@10"))
    assert out["changes"]["metric"] == "R@10"
    moved = [
        (c["category"], c["question"], c["base"], c["new"]) for c in out["changes"]["questions"]
    ]
    assert moved == [
        ("multi-hop", "question 1?", 0.0, 0.5),
        ("single-hop", "question 0?", 1.0, 0.0),
        ("single-hop", "question 2?", 0.0, 1.0),
        ("adversarial", "question 4?", 1.0, 0.0),
    ]
    assert out["changes"]["questions"][0]["evidence"] == ["D1:1"]
    assert out["changes"]["questions"][0]["sample_id"] == "conv-1"
    # Ordered by another metric, the question whose R@10 stayed is among the changes.
    out = compare_reports(_report(rows_base), _report(rows_new), metrics=("NDCG@10",))
    assert "question 3?" in [c["question"] for c in out["changes"]["questions"]]


def test_a_margin_judges_only_shares_where_more_is_better() -> None:
    # Fewer tokens is no loss, and turns per hit describe rather than rank: no verdict.
    base = _report([(4, {"mnemos": {"R@10": 1.0, "tokens@10": 900.0, "turns/hit@10": 4.0}})] * 3)
    new = _report([(4, {"mnemos": {"R@10": 1.0, "tokens@10": 300.0, "turns/hit@10": 1.0}})] * 3)
    rows = compare_reports(
        base, new, metrics=("R@10", "tokens@10", "turns/hit@10"), margin=0.01, resamples=100
    )["rows"]["single-hop"]
    assert rows["R@10"]["no_worse"] == "yes"
    assert rows["tokens@10"]["no_worse"] is None
    assert rows["turns/hit@10"]["no_worse"] is None


def test_a_margin_outside_0_to_1_is_refused() -> None:
    base, new = _single_hop([1.0], [1.0])
    for bad in (-0.01, 1.0, 2.0):
        with pytest.raises(InvalidInputError, match="margin must be at least 0 and below 1"):
            compare_reports(base, new, margin=bad)


def test_write_json_round_trips_a_comparison(tmp_path: Path) -> None:
    base, new = _single_hop([1.0, 0.0], [1.0, 1.0])
    result = compare_reports(base, new, resamples=100)
    assert json.loads(write_json(tmp_path / "c.json", result).read_text()) == result
