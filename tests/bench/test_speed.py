"""The speed benchmark and its instruments, at tiny sizes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mnemos import Memory
from mnemos.bench.measure import CpuMeter, TimedEmbedder, file_bytes, process_memory
from mnemos.bench.report import machine_note
from mnemos.bench.speed import SpeedOptions, numpy_scan_latency, run_speed
from mnemos.bench.synthetic import ConversationGenerator
from mnemos.cli import main
from mnemos.embedders.hashing import HashEmbedder


def test_synthetic_chat_is_deterministic_varied_and_dated() -> None:
    turns = ConversationGenerator(3).turns(2000)
    assert turns == ConversationGenerator(3).turns(2000)
    assert turns[:50] != ConversationGenerator(4).turns(50)
    assert len({t.text for t in turns}) / len(turns) > 0.95
    assert len({t.speaker for t in turns}) == 2
    assert [t.at for t in turns] == sorted(t.at for t in turns)
    assert turns[-1].session > 50
    words = {w for t in turns for w in t.text.split()}
    assert len(words) > 500
    questions = ConversationGenerator(3).questions(30)
    assert all(q.endswith("?") for q in questions)
    assert questions == ConversationGenerator(3).questions(30)


def test_timed_embedder_is_transparent_to_the_store(tmp_path: Path) -> None:
    timed = TimedEmbedder(HashEmbedder(dimension=32))
    assert (timed.id, timed.dimension) == ("hash-v1-32", 32)
    with Memory(tmp_path / "t.db", embedder=timed) as mem:
        mem.add(["one thing", "another thing"], user_id="u")
        assert mem.search("thing", user_id="u").hits
    assert timed.texts == 3  # two messages, one query
    assert timed.calls == 2
    assert timed.seconds > 0
    timed.reset()
    assert (timed.texts, timed.calls, timed.seconds) == (0, 0, 0.0)
    with Memory(tmp_path / "t.db", embedder=HashEmbedder(dimension=32)) as mem:
        assert mem.stats().vectors == 2  # a plain embedder of the same id opens the store
    assert file_bytes(tmp_path / "t.db") > 0
    assert file_bytes(tmp_path / "missing.db") == 0


def test_process_memory_reads_proc() -> None:
    memory = process_memory()
    if not Path("/proc/self/status").exists():
        pytest.skip("no /proc on this system")
    assert memory["rss"] is not None
    assert memory["peak"] is not None
    assert 0 < memory["rss"] <= memory["peak"]


def test_numpy_scan_baseline() -> None:
    timing = numpy_scan_latency(500, 16, 20)
    assert timing["p50"] is not None
    assert timing["p95"] is not None
    assert 0 < timing["p50"] <= timing["p95"]
    assert numpy_scan_latency(3, 8, 2)["p50"] is not None  # fewer rows than the top 10


def test_run_speed_at_tiny_sizes() -> None:
    report = run_speed(
        SpeedOptions(turns=30, sizes=(250, 100), queries=8, embedder="hash", batch=60,
                     encode_baseline=False)
    )  # fmt: skip
    assert [row["size"] for row in report["scale"]] == [100, 250]
    small, large = report["scale"]
    assert small["store_bytes"] < large["store_bytes"]
    # Sizes count memories: the store holds at least that many, from fewer turns.
    assert 100 <= small["memories"] < large["memories"]
    assert large["memories"] >= 250
    assert small["turns"] < large["turns"]
    for row in report["scale"]:
        assert row["grow_turns_per_s"] > 0
        assert 0 < row["search_ms"]["p50"] <= row["search_ms"]["p95"]
        slowest = [q["ms"] for q in row["slowest_ms"]]
        assert len(slowest) == 8
        assert slowest == sorted(slowest, reverse=True)
        assert slowest[0] >= row["search_ms"]["p95"] - 0.01
        assert row["numpy_scan_ms"]["p50"] > 0
        assert row["rss_bytes"] is None or row["rss_bytes"] <= row["peak_rss_bytes"]
    ingestion = report["ingestion"]
    assert ingestion["turns"] == 30
    assert ingestion["unique_texts"] == 30
    assert ingestion["embedder_id"] == "hash-v1-64"
    assert 0 < ingestion["embed_share"] < 1
    by_session = ingestion["session_batches"]
    assert by_session["turns_per_s"] > 0
    assert 0 < by_session["embed_share"] < 1
    queued = ingestion["queued"]
    assert queued["turns_per_s"] > 0
    assert 0 < queued["embed_share"] < 1
    # Timed until the queue is empty: the store then holds what a turn per add makes.
    for row in ingestion["rounds"]:
        assert row["active_memories"] >= 30
        assert row["queued_active_memories"] == row["active_memories"]
    assert ingestion["query_encode_ms"]["p50"] > 0
    assert ingestion["encode_baseline"] is None
    assert report["config"]["scale_embedder"] == "hash"


def test_encode_baseline_uses_sentence_transformers() -> None:
    class Model:
        """Stands in for a sentence-transformers model."""

        def __init__(self) -> None:
            self.batches: list[int] = []

        def encode(self, texts: list[str], **kwargs: object) -> np.ndarray:
            self.batches.append(len(texts) if "batch_size" not in kwargs else -1)
            return np.zeros((len(texts), 384), dtype=np.float32)

    model = Model()
    options = SpeedOptions(turns=12, sizes=(20,), queries=2, embedder="hash", single_texts=5)
    report = run_speed(options, model=model)
    ingestion = report["ingestion"]
    baseline = ingestion["encode_baseline"]
    rounds = ingestion["rounds"]
    assert len(rounds) == 3
    assert baseline["texts"] == 12
    # Each round's ratios come from that round's rates; reported: the medians.
    for row in rounds:
        assert row["ingest_over_encode"] == pytest.approx(
            row["turns_per_s"] / row["encode_texts_per_s"]
        )
        assert row["session_over_encode"] == pytest.approx(
            row["session_turns_per_s"] / row["encode_texts_per_s"]
        )
        assert row["queued_over_encode"] == pytest.approx(
            row["queued_turns_per_s"] / row["encode_texts_per_s"]
        )
    assert baseline["texts_per_s"] == sorted(r["encode_texts_per_s"] for r in rounds)[1]
    assert baseline["ingest_over_encode"] == sorted(r["ingest_over_encode"] for r in rounds)[1]
    assert (
        baseline["session_batches_over_encode"]
        == sorted(r["session_over_encode"] for r in rounds)[1]
    )
    assert ingestion["turns_per_s"] == sorted(r["turns_per_s"] for r in rounds)[1]
    assert (
        ingestion["session_batches"]["turns_per_s"]
        == sorted(r["session_turns_per_s"] for r in rounds)[1]
    )
    # The warm-up, then each round: all texts in batches of 64 (-1 here), then the first
    # five texts one per call.
    assert model.batches == [1] + ([-1] + [1] * 5) * 3
    single = baseline["single"]
    assert single["texts"] == 5
    for row in rounds:
        assert row["ingest_over_single_encode"] == pytest.approx(
            row["turns_per_s"] / row["encode_single_texts_per_s"]
        )
    assert single["texts_per_s"] == sorted(r["encode_single_texts_per_s"] for r in rounds)[1]
    assert single["ingest_over_encode"] == sorted(r["ingest_over_single_encode"] for r in rounds)[1]


def test_cli_speed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "speed.json"
    code = main(["bench", "speed", "--embedder", "hash", "--turns", "20", "--sizes", "50,120,5000",
                 "--max-size", "200", "--queries", "5", "--no-encode-baseline", "--json", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "Search at scale" in printed
    assert "numpy p50 ms" in printed
    assert "a session per call" in printed
    assert "grow embed %" in printed
    data = json.loads(out.read_text())
    assert set(data) >= {"config", "scale", "ingestion", "timings"}
    assert [r["size"] for r in data["scale"]] == [50, 120]  # 5,000 is above --max-size
    assert set(data["scale"][0]) >= {"search_ms", "numpy_scan_ms", "store_bytes", "rss_bytes",
                                     "peak_rss_bytes", "first_search_ms"}  # fmt: skip
    assert main(["bench", "speed", "--sizes", "500", "--max-size", "100"]) == 2


def test_cpu_meter_sees_this_process_work() -> None:
    meter = CpuMeter()
    total = 0
    for i in range(2_000_000):
        total += i
    cpu = meter.report()
    if cpu is None:
        pytest.skip("no /proc/stat on this system")
    assert cpu["wall_seconds"] > 0
    assert cpu["own_cpu_seconds"] > 0
    assert cpu["other_cpu_seconds"] >= 0
    assert cpu["other_share"] >= 0


def test_machine_note_warns_only_when_others_shared_the_cpus() -> None:
    quiet = {"machine": {"cpu": {"other_share": 0.02, "other_cpu_seconds": 1, "wall_seconds": 30}}}
    busy = {"machine": {"cpu": {"other_share": 0.4, "other_cpu_seconds": 48, "wall_seconds": 60}}}
    assert machine_note(quiet) == ""
    assert machine_note({}) == ""
    assert machine_note(busy) == (
        "Note: other processes used 40% of this machine's CPU capacity during the run "
        "(48 CPU s in 60 s), so timings may be pessimistic."
    )
