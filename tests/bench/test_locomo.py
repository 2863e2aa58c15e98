"""The LoCoMo harness: ingestion through the public API, scoring, outputs."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from mnemos import InvalidInputError, Memory
from mnemos.bench import metrics as m
from mnemos.bench.locomo import (
    SPLITS,
    LocomoOptions,
    MnemosSystem,
    conversation_docs,
    locomo_misses,
    question_time,
    run_locomo,
    select_split,
)
from mnemos.bench.report import locomo_table
from mnemos.cli import main
from mnemos.io.locomo import Conversation, load_locomo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MINI = FIXTURES / "locomo_mini.json"
SMALL = FIXTURES / "locomo_small.json"


def test_splits_are_the_documented_conversations() -> None:
    everything = [Conversation(f"conv-{n}", "a", "b", []) for n in (26, 30, 41, 42, 43, 44, 47, 48, 49, 50)]  # fmt: skip
    assert [c.sample_id for c in select_split(everything, "dev")] == list(SPLITS["dev"])
    assert [c.sample_id for c in select_split(everything, "test")] == [
        "conv-44", "conv-47", "conv-48", "conv-49", "conv-50"
    ]  # fmt: skip
    assert len(select_split(everything, "all")) == 10
    with pytest.raises(InvalidInputError, match="conv-43"):
        select_split(everything[:4], "dev")
    with pytest.raises(InvalidInputError, match="unknown split"):
        select_split(everything, "train")


def test_baseline_documents_carry_the_previous_turn_of_the_same_session() -> None:
    (conv,) = load_locomo(MINI)
    docs = conversation_docs(conv)
    assert [d.key for d in docs] == ["D1:1", "D1:2", "D1:3", "D2:1", "D2:2"]
    assert docs[0].previous == ""
    assert docs[1].previous == "Rosa: Hi Tom! How was your weekend?"
    assert docs[3].previous == ""  # a new session starts without context
    assert docs[2].document.startswith("Rosa: I finally finished my first pottery class")
    assert "[shares a photo: a photo of a clay bowl on a wheel]" in docs[2].text


class Recorder:
    """Stands in for Memory and records what the harness asks of it."""

    def __init__(self) -> None:
        self.adds: list[dict[str, Any]] = []
        self.searches: list[dict[str, Any]] = []

    def add(self, messages: Any, **kwargs: Any) -> None:
        self.adds.append({"messages": messages, **kwargs})

    def settle(self) -> int:
        self.adds.append({"settle": True})
        return 0

    def search(self, query: str, **kwargs: Any) -> Any:
        self.searches.append({"query": query, **kwargs})
        return type("Result", (), {"hits": []})()


def test_ingestion_is_one_add_per_turn_with_speaker_date_and_dia_id() -> None:
    (conv,) = load_locomo(MINI)
    fake = Recorder()
    system = MnemosSystem(fake)  # type: ignore[arg-type]
    system.prepare(conv)
    assert len(fake.adds) == 6
    assert fake.adds[-1] == {"settle": True}  # the clock stops when all are derived
    first, third = fake.adds[0], fake.adds[2]
    assert first == {
        "messages": {"role": "user", "name": "Rosa", "content": "Hi Tom! How was your weekend?"},
        "user_id": "conv-mini",
        "session_id": "session_1",
        "at": datetime(2023, 5, 8, 13, 56, tzinfo=UTC),
        "metadata": {"dia_id": "D1:1"},
        "wait": True,
    }
    assert third["messages"]["content"].endswith(
        "[shares a photo: a photo of a clay bowl on a wheel]"
    )
    assert fake.adds[3]["session_id"] == "session_2"
    assert not any("MUST NOT BE READ" in json.dumps(a, default=str) for a in fake.adds)
    queued = Recorder()
    MnemosSystem(queued, wait=False).prepare(conv)  # type: ignore[arg-type]
    assert [a.get("wait") for a in queued.adds] == [False] * 5 + [None]
    assert system.turns == 5
    system.search("What is the name of Tom's cat?", 20)
    (asked,) = fake.searches
    assert asked == {
        "query": "What is the name of Tom's cat?",
        "user_id": "conv-mini",
        "limit": 20,
        "at": datetime(2023, 6, 20, 10, 4, tzinfo=UTC),  # a day after the last session
    }
    assert question_time(conv) == asked["at"]


def test_stored_episodes_and_hits_map_back_to_turns(tmp_path: Path) -> None:
    (conv,) = load_locomo(MINI)
    with Memory(tmp_path / "m.db", embedder="hash") as mem:
        system = MnemosSystem(mem)
        system.prepare(conv)
        episodes = mem.episodes.list(user_id="conv-mini").items
        assert [e.metadata["dia_id"] for e in episodes] == ["D1:1", "D1:2", "D1:3", "D2:1", "D2:2"]
        assert {e.role for e in episodes} == {"user"}
        assert [e.name for e in episodes] == ["Rosa", "Tom", "Rosa", "Tom", "Rosa"]
        hits, took = system.search("adopted a cat named Miso", 3)
    assert took > 0
    assert hits[0].turns[0].key == "D2:1"
    assert hits[0].turns[0].speaker == "Tom"
    assert hits[0].text == "I adopted a cat named Miso last week."


def test_mnemos_fills_a_budget_by_packing_its_own_hits(tmp_path: Path) -> None:
    (conv,) = load_locomo(MINI)
    with Memory(tmp_path / "m.db", embedder="hash") as mem:
        system = MnemosSystem(mem)
        system.prepare(conv)
        first, _ = system.search("adopted a cat named Miso", 20)
        packed = system.within_budget("adopted a cat named Miso", first, 30, 100)
    # Unbounded, the hits hand back their neighbouring turns as well; told the budget, mnemos
    # returns fewer tokens, its best hit first.
    assert m.tokens_returned(first, len(first)) > 30
    assert 0 < m.tokens_returned(packed, len(packed)) <= 30
    assert packed[0].turns[0].key == "D2:1"


@pytest.fixture(scope="module")
def small_report() -> dict[str, Any]:
    return run_locomo(SMALL, LocomoOptions(split="all", embedder="hash"))


def test_queued_ingestion_recalls_what_waiting_ingestion_recalls(
    small_report: dict[str, Any],
) -> None:
    queued = run_locomo(
        SMALL, LocomoOptions(split="all", embedder="hash", baselines=(), wait=False)
    )
    assert queued["ingestion"]["wait"] is False
    assert small_report["ingestion"]["wait"] is True

    def recall(report: dict[str, Any]) -> dict[str, Any]:
        return {
            cat: {k: v for k, v in row.items() if "ms" not in k}
            for cat, row in report["systems"]["mnemos"]["categories"].items()
        }

    assert recall(queued) == recall(small_report)


def test_end_to_end_on_the_small_fixture(small_report: dict[str, Any]) -> None:
    report = small_report
    assert report["counts"]["turns"] == 36
    assert report["counts"]["asked"] == {
        "multi-hop": 2, "temporal": 1, "open-domain": 1, "single-hop": 4, "adversarial": 1
    }  # fmt: skip
    assert report["counts"]["skipped_no_evidence"] == {"single-hop": 1}  # D9:9 names no turn
    assert report["ingestion"]["turns"] == 36
    assert report["ingestion"]["turns_per_s"] > 0
    assert 0 <= report["ingestion"]["embed_share"] <= 1
    assert list(report["systems"]) == ["mnemos", "bm25", "bm25+prev", "dense", "rrf"]
    for name, system in report["systems"].items():
        cats = system["categories"]
        assert cats["overall"]["n"] == 7, name
        assert cats["single-hop"]["n"] == 3, name
        for label in ("multi-hop", "temporal", "open-domain", "single-hop", "overall"):
            block = cats[label]
            assert block["R@5"] <= block["R@10"] <= block["R@20"], (name, label)
            assert 0 <= block["NDCG@10"] <= 1
            assert block["tokens@10"] > 0
        assert system["latency_ms"]["n"] == 8  # every scored question, adversarial included
        assert system["latency_10_ms"]["n"] == 8
        assert system["latency_ms"]["p50"] <= system["latency_ms"]["p95"]
        assert cats["adversarial"]["n"] == 1
    for name in ("bm25", "bm25+prev", "dense", "rrf"):
        assert report["systems"][name]["categories"]["overall"]["turns/hit@10"] == 1.0


def test_budget_recall_lets_every_system_fill_the_budget(small_report: dict[str, Any]) -> None:
    # "Anything musical?" shares no word with its evidence, the last of conv-a's 30 turns, so
    # BM25 leaves it in index order, past the 20 hits asked for; the budget metric asks for
    # more hits as long as those fit in 1,000 tokens, and conv-a fits whole.
    record = next(q for q in small_report["questions"] if q["question"] == "Anything musical?")
    bm25 = record["systems"]["bm25"]
    assert len(bm25["hits"]) == 20
    assert bm25["scores"]["R@20"] == 0.0
    assert bm25["scores"]["R@1000tok"] == 1.0
    for system in small_report["systems"].values():
        assert system["categories"]["overall"]["R@1000tok"] == 1.0


def test_adversarial_speaker_is_the_speaker_of_the_evidence(small_report: dict[str, Any]) -> None:
    record = next(q for q in small_report["questions"] if q["category"] == 5)
    assert record["speaker"] == "Jonas"  # D2:1, although the question names Mira
    for name, system in record["systems"].items():
        top = system["hits"][0][0]
        assert system["scores"]["top-1 speaker"] == float(top.startswith("D") and top in {
            "D1:2", "D1:4", "D1:6", "D1:8", "D1:10", "D1:12", "D1:14",
            "D2:1", "D2:3", "D2:5", "D2:7", "D2:9", "D2:11", "D2:13", "D2:15",
        }), name  # fmt: skip


def test_malformed_evidence_is_normalised_and_scored(small_report: dict[str, Any]) -> None:
    record = next(
        q for q in small_report["questions"] if q["sample_id"] == "conv-b" and q["category"] == 4
    )
    assert record["evidence"] == ["D1:3", "D1:1"]
    assert record["systems"]["bm25"]["scores"]["R@5"] == 1.0


def test_deltas_compare_mnemos_with_the_best_baseline(small_report: dict[str, Any]) -> None:
    deltas = small_report["delta_vs_best_baseline"]
    systems = small_report["systems"]
    entry = deltas["overall"]["R@10"]
    best = max(
        systems[b]["categories"]["overall"]["R@10"] for b in ("bm25", "bm25+prev", "dense", "rrf")
    )
    assert entry["best"] == best
    assert entry["delta"] == pytest.approx(
        systems["mnemos"]["categories"]["overall"]["R@10"] - best
    )
    tokens = deltas["overall"]["tokens@10"]
    assert tokens["best"] == min(
        systems[b]["categories"]["overall"]["tokens@10"]
        for b in ("bm25", "bm25+prev", "dense", "rrf")
    )
    assert "turns/hit@10" not in deltas["overall"]
    # The small report scores 20 hits, so latency is also timed at the targets' 10.
    assert set(deltas["latency"]) == {"p50 ms", "p95 ms", "p50@10 ms", "p95@10 ms"}
    latency = deltas["latency"]["p50@10 ms"]
    assert latency["best"] == min(
        systems[b]["latency_10_ms"]["p50"] for b in ("bm25", "bm25+prev", "dense", "rrf")
    )


def test_table_shows_every_system_and_the_split(small_report: dict[str, Any]) -> None:
    console = Console(record=True, width=200)
    console.print(locomo_table(small_report))
    text = console.export_text()
    assert "LoCoMo evidence recall, all split (conv-a, conv-b)" in text
    for name in ("mnemos", "bm25+prev", "dense", "rrf", "Δ vs best baseline", "multi-hop (n=2)",
                 "adversarial (n=1)", "speaker share@10", "p95 ms, 20 results",
                 "p50 ms, 10 results"):  # fmt: skip
        assert name in text, name


def test_cli_writes_json_and_png(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out, png = tmp_path / "out" / "locomo.json", tmp_path / "locomo.png"
    code = main(["bench", "locomo", "--data", str(MINI), "--split", "all", "--embedder", "hash",
                 "--baselines", "bm25,bm25+prev", "--k", "1,3", "--budget", "20",
                 "--json", str(out), "--plot", str(png)])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "mnemos ingestion: 5 turns added one by one" in printed
    assert f"wrote results to {out}" in printed
    data = json.loads(out.read_text())
    assert set(data) >= {"config", "counts", "ingestion", "indexing", "timings", "systems",
                         "delta_vs_best_baseline", "questions"}  # fmt: skip
    assert data["config"]["ks"] == [1, 3]
    assert data["config"]["search_limit"] == 10
    # Hits asked for are the targets' 10 already: no second timed search.
    assert "latency_10_ms" not in data["systems"]["mnemos"]
    assert "ms@10" not in data["questions"][0]["systems"]["mnemos"]
    assert data["config"]["baselines"] == ["bm25", "bm25+prev"]
    assert set(data["systems"]["mnemos"]["categories"]["overall"]) >= {"R@1", "R@3", "R@20tok"}
    assert len(data["questions"]) == 3

    from matplotlib.image import imread

    image = imread(png)
    assert image.shape[0] > 300
    assert image.shape[1] > 800


def test_cli_rejects_a_split_the_file_lacks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "locomo", "--data", str(MINI), "--embedder", "hash"]) == 1
    assert "the dev split needs conversations conv-26" in capsys.readouterr().err
    assert main(["bench", "locomo", "--data", str(MINI), "--k", "5,x"]) == 2
    assert main(["bench", "locomo", "--data", str(MINI), "--baselines", "bm25,grep"]) == 2


def test_plot_without_matplotlib_names_the_extra(
    small_report: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mnemos import MissingDependencyError
    from mnemos.bench.report import locomo_plot

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError) as caught:
        locomo_plot(small_report, tmp_path / "x.png")
    assert caught.value.details == {"extra": "bench", "module": "matplotlib"}
    assert not (tmp_path / "x.png").exists()


def _report_of(questions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"benchmark": "locomo", "questions": questions}


def test_misses_name_each_evidence_turn_left_out_of_the_first_hits() -> None:
    conversations = load_locomo(MINI)
    report = _report_of(
        [
            # D1:3 in the first hit: nothing missed.
            {"sample_id": "conv-mini", "category": 2, "question": "q1", "evidence": ["D1:3"],
             "systems": {"mnemos": {"hits": [["D1:3", "D1:2"]]}}},
            # D2:1 only at the third hit, D1:1 never: both missed at k=2, with their ranks.
            {"sample_id": "conv-mini", "category": 4, "question": "q2",
             "evidence": ["D1:1", "D2:1"],
             "systems": {"mnemos": {"hits": [["D1:2"], ["D1:3"], ["D2:1"]]}}},
            # Adversarial questions are left out: their evidence is not what is asked for.
            {"sample_id": "conv-mini", "category": 5, "question": "q3", "evidence": ["D1:2"],
             "systems": {"mnemos": {"hits": []}}},
        ]
    )  # fmt: skip
    misses = locomo_misses(report, conversations, k=2)
    assert [q["question"] for q in misses] == ["q2"]
    # Listed by category: a temporal miss comes before a single-hop one asked earlier.
    late = {**report["questions"][0], "question": "q4", "systems": {"mnemos": {"hits": []}}}
    both = _report_of([report["questions"][1], late])
    assert [q["question"] for q in locomo_misses(both, conversations)] == ["q4", "q2"]
    assert misses[0]["category"] == "single-hop"
    missed = {t["dia_id"]: t for t in misses[0]["missed"]}
    assert missed["D1:1"]["rank"] is None
    assert missed["D1:1"]["speaker"] == "Rosa"
    assert missed["D1:1"]["text"] == "Hi Tom! How was your weekend?"
    assert missed["D2:1"]["rank"] == 3
    # At k=3 the third hit counts: only D1:1 is left.
    assert [t["dia_id"] for t in locomo_misses(report, conversations, k=3)[0]["missed"]] == ["D1:1"]
    with pytest.raises(InvalidInputError, match="no results for system 'bm25'"):
        locomo_misses(report, conversations, system="bm25")


def test_cli_lists_the_evidence_mnemos_missed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Thirty turns share the question's words; the evidence shares none and sits in a
    # session of its own, so no hit brings it back as context.
    garden = [
        {"speaker": "Ada" if i % 2 else "Bo", "dia_id": f"D2:{i}",
         "text": f"My garden plant number {i} keeps growing taller every week."}
        for i in range(1, 31)
    ]  # fmt: skip
    data = [
        {
            "sample_id": "conv-garden",
            "conversation": {
                "speaker_a": "Ada",
                "speaker_b": "Bo",
                "session_1_date_time": "9:00 am on 1 May, 2023",
                "session_1": [
                    {"speaker": "Ada", "dia_id": "D1:1", "text": "Morning! Grey skies again."},
                    {"speaker": "Bo", "dia_id": "D1:2", "text": "I adopted a puppy called Biscuit."},
                ],
                "session_2_date_time": "9:00 am on 8 May, 2023",
                "session_2": garden,
            },
            "qa": [
                {"question": "Which garden plants keep growing?", "answer": "-",
                 "evidence": ["D1:2"], "category": 4},
                {"question": "Which garden plant is number 7?", "answer": "-",
                 "evidence": ["D2:7"], "category": 4},
            ],
        }
    ]  # fmt: skip
    path = tmp_path / "garden.json"
    path.write_text(json.dumps(data))
    code = main(["bench", "locomo", "--data", str(path), "--split", "all", "--embedder", "hash",
                 "--baselines", "none", "--misses"])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "Evidence not returned within 10 hits: 1 turn of 1 question" in printed
    assert "Bo: I adopted a puppy called Biscuit." in printed
    assert "Which garden plant is number 7?" not in printed
