"""The LongMemEval reader and harness, on a small hand-written file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mnemos import InvalidInputError
from mnemos.bench.longmemeval import (
    LongMemEvalOptions,
    load_longmemeval,
    parse_longmemeval_date,
    run_longmemeval,
)
from mnemos.cli import main

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "longmemeval_mini.json"


def test_dates() -> None:
    assert parse_longmemeval_date("2023/05/20 (Sat) 02:21") == datetime(
        2023, 5, 20, 2, 21, tzinfo=UTC
    )
    assert parse_longmemeval_date("2023/05/20") == datetime(2023, 5, 20, tzinfo=UTC)
    for bad in ("20 May 2023", "2023/13/01 (Sat) 02:21", ""):
        with pytest.raises(InvalidInputError, match="unrecognised LongMemEval date"):
            parse_longmemeval_date(bad)


def test_loader_reads_sessions_dates_and_answer_turns() -> None:
    instances = load_longmemeval(FIXTURE)
    assert [i.question_id for i in instances] == ["mini-001", "mini-002", "mini-003", "mini-004", "mini-005_abs"]  # fmt: skip
    first = instances[0]
    assert first.question_type == "single-session-user"
    assert first.question_date == datetime(2023, 6, 10, 18, 30, tzinfo=UTC)
    assert [s.id for s in first.sessions] == ["mini-001-s1", "mini-001-s2", "mini-001-s3"]
    assert first.sessions[1].at == datetime(2023, 5, 20, 14, 2, tzinfo=UTC)
    assert first.sessions[1].turns[0].has_answer
    assert not first.sessions[1].turns[1].has_answer
    assert first.answer_turns == ["mini-001-s2:0"]
    assert instances[1].answer_turns == ["mini-002-s1:0", "mini-002-s3:0"]
    assert instances[4].abstention
    assert not first.abstention


def test_loader_rejects_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"not": "a list"}))
    with pytest.raises(InvalidInputError, match="not a LongMemEval file"):
        load_longmemeval(bad)
    bad.write_text(json.dumps([{"question_id": "x"}]))
    with pytest.raises(InvalidInputError, match="not a LongMemEval instance"):
        load_longmemeval(bad)
    raw = json.loads(FIXTURE.read_text())
    raw[0]["haystack_dates"] = raw[0]["haystack_dates"][:1]
    bad.write_text(json.dumps(raw))
    with pytest.raises(InvalidInputError, match="differ in length"):
        load_longmemeval(bad)


def test_harness_scores_sessions_and_turns() -> None:
    report = run_longmemeval(FIXTURE, LongMemEvalOptions(ks=(1, 20), embedder="hash"))
    assert report["counts"] == {
        "instances": 5, "scored": 4, "abstention_not_scored": 1, "sessions": 12, "turns": 26
    }  # fmt: skip
    overall = report["types"]["overall"]
    assert overall["n"] == 4
    # Every haystack has fewer than 20 turns, so everything comes back at 20.
    assert overall["session R@20"] == 1.0
    assert overall["turn R@20"] == 1.0
    assert 0 < overall["session R@1"] <= 1
    multi = report["types"]["multi-session"]
    assert multi["session R@1"] == 0.5  # one hit can hold at most one of its two sessions
    by_id = {q["question_id"]: q for q in report["questions"]}
    assert "mini-005_abs" not in by_id
    assert by_id["mini-003"]["turns"][0] == "mini-003-s2:0"  # "I live in Porto now"
    assert set(by_id["mini-001"]["sessions"]) == {"mini-001-s1", "mini-001-s2", "mini-001-s3"}
    assert "mini-001-s3:2" not in by_id["mini-001"]["turns"]  # the blank turn is not stored


def test_questions_are_asked_at_the_question_date(tmp_path: Path) -> None:
    raw = json.loads(FIXTURE.read_text())[2:3]  # Madrid in October, Porto in January
    raw[0]["question_date"] = "2023/12/01 (Fri) 10:00"  # before the Porto session
    path = tmp_path / "early.json"
    path.write_text(json.dumps(raw))
    report = run_longmemeval(path, LongMemEvalOptions(ks=(5,), embedder="hash"))
    (record,) = report["questions"]
    assert record["sessions"] == ["mini-003-s1"]
    assert record["scores"]["session R@5"] == 0.0


def test_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "lme.json"
    code = main(["bench", "longmemeval", "--data", str(FIXTURE), "--embedder", "hash",
                 "--k", "1,3", "--limit", "2", "--json", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "session R@3" in printed
    assert "2 instances, 14 turns ingested" in printed
    data = json.loads(out.read_text())
    assert set(data) >= {"config", "counts", "ingestion", "latency_ms", "types", "questions"}
    assert data["config"]["instances_limit"] == 2
    assert set(data["types"]) == {"single-session-user", "multi-session", "overall"}
