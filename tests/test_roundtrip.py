"""What goes in comes out unchanged: property-based round trips and export -> import."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnemos import ConflictError, InvalidInputError, Memory

SAFE_CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
TEXTS = st.text(alphabet=SAFE_CHARS, min_size=1, max_size=300).filter(lambda s: s.strip() != "")
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=SAFE_CHARS, max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet=SAFE_CHARS, max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
METADATA = st.dictionaries(st.text(alphabet=SAFE_CHARS, max_size=10), JSON_VALUES, max_size=5)
OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda m: timezone(timedelta(minutes=m))
)
TIMES = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=OFFSETS | st.just(UTC)
)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Memory]:
    with Memory(tmp_path_factory.mktemp("rt") / "rt.db", embedder="hash") as mem:
        yield mem


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=TEXTS,
    metadata=METADATA,
    at=TIMES,
    name=st.none() | st.text(alphabet="abcXYZ ", min_size=1, max_size=12).filter(str.strip),
)
def test_episode_and_memory_round_trip(
    shared: Memory, text: str, metadata: dict[str, Any], at: datetime, name: str | None
) -> None:
    message: dict[str, Any] = {"role": "user", "content": text, "metadata": metadata}
    if name:
        message["name"] = name
    result = shared.add([message], user_id="prop", at=at)
    [episode] = result.episodes
    stored = shared.episodes.get(episode.id)
    assert stored == episode
    assert stored.text == text
    assert stored.metadata == metadata
    assert stored.occurred_at == at
    assert stored.occurred_at.tzinfo == UTC
    for record in result.memories:
        assert shared.get(record.id) == record


def test_huge_text_round_trips(mem: Memory) -> None:
    text = ("Ünïcode ✓ 𝔘 " * 75_000)[:900_000]
    [episode] = mem.add(text, user_id="big").episodes
    assert mem.episodes.get(episode.id).text == text
    assert mem.search("Ünïcode", user_id="big").hits[0].evidence[0].text == text


def _records(path: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["type"] == "header"
    assert lines[-1]["type"] == "footer"
    return lines[1:-1]


def _scenario(mem: Memory) -> None:
    mem.add(
        [
            {"role": "user", "name": "Ana", "content": "I live in Porto 🏠", "metadata": {"id": 1, "n": {"x": [1.5, None]}}},
            {"role": "assistant", "content": "Noted!", "at": "2024-01-01T10:00:00+05:30"},
        ],
        user_id="ana", agent_id="bot", session_id="s1", at="2023-12-31T23:59:59.999999Z",
    )  # fmt: skip
    added = mem.add("My dog is Biscuit", user_id="ana", metadata={"topic": "pets"})
    rec = next(m for m in added.memories if m.kind == "note")
    mem.update(
        rec.id, "My dog is called Biscuit", metadata={"topic": "pets", "v": 2}, reason="typo"
    )
    gone = mem.add("temporary", user_id="bo").memories[0]
    mem.delete(gone.id, reason="test")
    back = mem.add("restored one", user_id="bo").memories[0]
    mem.delete(back.id)
    mem.restore(back.id)


def test_export_import_export_is_lossless(tmp_path: Path) -> None:
    with Memory(tmp_path / "a.db", embedder="hash") as a:
        _scenario(a)
        first = a.export(tmp_path / "first.jsonl")
        a_memories = a.stats().memories
    with Memory(tmp_path / "b.db", embedder="hash") as b:
        imported = b.import_(tmp_path / "first.jsonl")
        assert (imported.episodes, imported.memories, imported.history) == (
            first.episodes, first.memories, first.history,
        )  # fmt: skip
        b.export(tmp_path / "second.jsonl")
        hits = b.search("Biscuit called", user_id="ana").hits
        assert hits[0].text == "My dog is called Biscuit"
        assert [e.event for e in b.history(hits[0].id)] == ["ADD", "UPDATE"]
        assert b.stats().memories == a_memories
        with pytest.raises(ConflictError, match="already exist"):
            b.import_(tmp_path / "first.jsonl")
    assert _records(tmp_path / "first.jsonl") == _records(tmp_path / "second.jsonl")
    assert first.episodes == 5
    assert first.history >= 8


def test_export_of_one_user(tmp_path: Path) -> None:
    with Memory(tmp_path / "a.db", embedder="hash") as a:
        _scenario(a)
        result = a.export(tmp_path / "ana.jsonl", user_id="ana")
    users = {
        r["record"]["user_id"] for r in _records(tmp_path / "ana.jsonl") if r["type"] != "history"
    }
    assert users == {"ana"}
    assert result.episodes == 3


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda lines: lines[:-1], "no footer"),
        (lambda lines: lines[:1] + lines[2:], "footer promises"),
        (
            lambda lines: ['{"type": "header", "format": "other"}', *lines[1:]],
            "not a mnemos export",
        ),
        (lambda lines: [*lines[:2], "{not json", *lines[2:]], "not JSON"),
        (
            lambda lines: [lines[0], lines[1].replace('"role"', '"rol"'), *lines[2:]],
            "invalid episode",
        ),
    ],
)
def test_broken_exports_import_nothing(tmp_path: Path, mangle: Any, message: str) -> None:
    with Memory(tmp_path / "a.db", embedder="hash") as a:
        _scenario(a)
        a.export(tmp_path / "good.jsonl")
    lines = (tmp_path / "good.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "bad.jsonl").write_text("\n".join(mangle(lines)) + "\n", encoding="utf-8")
    with Memory(tmp_path / "b.db", embedder="hash") as b:
        with pytest.raises(InvalidInputError, match=message):
            b.import_(tmp_path / "bad.jsonl")
        assert b.stats().episodes == 0
        assert b.stats().memories == 0
