"""Importers for chat logs, text and LoCoMo."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mnemos import InvalidInputError, Memory
from mnemos.io.importers import detect_format, plan_import, split_text
from mnemos.io.locomo import load_locomo, parse_locomo_date

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "locomo_mini.json"


def test_locomo_reads_only_the_conversation(tmp_path: Path) -> None:
    [conv] = load_locomo(FIXTURE)
    assert (conv.sample_id, conv.speaker_a, conv.speaker_b) == ("conv-mini", "Rosa", "Tom")
    assert [s.index for s in conv.sessions] == [1, 2]
    texts = " ".join(t.text for t in conv.turns)
    assert "MUST NOT BE READ" not in texts
    assert "handmade bowl" not in texts
    assert conv.turns[2].text == (
        "I finally finished my first pottery class yesterday! "
        "[shares a photo: a photo of a clay bowl on a wheel]"
    )
    assert conv.sessions[0].at == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert [q.category for q in conv.qa] == [2, 4, 5]
    assert conv.qa[2].answer == "climbing"
    with Memory(tmp_path / "l.db", embedder="hash") as mem:
        for batch in plan_import(FIXTURE, "locomo", user_id=None):
            mem.add(batch.messages, user_id=batch.user_id, session_id=batch.session_id, at=batch.at)
        episodes = mem.episodes.list(user_id="conv-mini").items
    assert [e.metadata["dia_id"] for e in episodes] == ["D1:1", "D1:2", "D1:3", "D2:1", "D2:2"]
    assert [e.session_id for e in episodes] == ["session_1"] * 3 + ["session_2"] * 2
    assert all("MUST NOT BE READ" not in e.text for e in episodes)


def test_locomo_dates_and_malformed_evidence(tmp_path: Path) -> None:
    assert parse_locomo_date("10:04 am on 19 June, 2023") == datetime(
        2023, 6, 19, 10, 4, tzinfo=UTC
    )
    with pytest.raises(InvalidInputError, match="unrecognised"):
        parse_locomo_date("yesterday")
    data = json.loads(FIXTURE.read_text())
    data[0]["qa"][0]["evidence"] = ["D:1:3; D2:01", "D"]
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(data))
    assert load_locomo(path)[0].qa[0].evidence == ["D1:3", "D2:1"]


def test_format_detection(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('[{"role": "user", "content": "x"}]')
    (tmp_path / "b.jsonl").write_text('{"role": "user", "content": "x"}\n')
    (tmp_path / "c.txt").write_text("hello")
    (tmp_path / "d.jsonl").write_text('{"type": "header", "format": "mnemos-export"}\n')
    assert detect_format(tmp_path / "a.json") == "chat"
    assert detect_format(tmp_path / "b.jsonl") == "chat"
    assert detect_format(tmp_path / "c.txt") == "text"
    assert detect_format(tmp_path / "d.jsonl") == "mnemos"
    assert detect_format(FIXTURE) == "locomo"


def test_chat_files_need_a_user_and_valid_messages(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_text('{"messages": [{"role": "user", "content": "hi", "extra": 1}]}')
    [batch] = plan_import(path, "chat", user_id="u")
    assert batch.messages == [{"role": "user", "content": "hi"}]
    with pytest.raises(InvalidInputError, match="needs --user"):
        plan_import(path, "chat", user_id=None)
    path.write_text('[{"role": "user"}]')
    with pytest.raises(InvalidInputError, match="no 'content'"):
        plan_import(path, "chat", user_id="u")
    path.write_bytes(b'[{"content": "caf\xe9"}]')
    with pytest.raises(InvalidInputError, match="not valid UTF-8"):
        plan_import(path, "chat", user_id="u")


def test_split_text_keeps_paragraphs_and_bounds_chunks() -> None:
    text = "\n\n".join(f"Paragraph {i}. " + "word " * 50 for i in range(30))
    chunks = split_text(text, max_chars=600)
    assert all(len(c) <= 600 for c in chunks)
    assert "".join(chunks).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(
        " ", ""
    )
    long_sentence = "x" * 1500
    assert [len(c) for c in split_text(long_sentence, max_chars=600)] == [600, 600, 300]
