"""Bad input gets a clear error and leaves the store exactly as it was."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mnemos import (
    ConfigurationError,
    EmbedderMismatchError,
    InvalidInputError,
    Memory,
    MnemosError,
    NotAStoreError,
    NotFoundError,
    SchemaVersionError,
    StorePathError,
    TextTooLargeError,
)


def _fingerprint(path: Path) -> list[Any]:
    """Every row of every table, read through a separate connection."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [
            (t, sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"')))) for t in sorted(tables)
        ]
    finally:
        conn.close()


BAD_CALLS: dict[str, tuple[type[MnemosError], Callable[[Memory], object]]] = {
    "user_id is not a string": (InvalidInputError, lambda m: m.add("hi", user_id=42)),  # type: ignore[arg-type]
    "user_id is empty": (InvalidInputError, lambda m: m.add("hi", user_id="  ")),
    "messages is a number": (InvalidInputError, lambda m: m.add(42, user_id="u")),
    "messages is empty": (InvalidInputError, lambda m: m.add([], user_id="u")),
    "content is empty": (InvalidInputError, lambda m: m.add([{"role": "user", "content": " "}], user_id="u")),
    "content is missing": (InvalidInputError, lambda m: m.add([{"role": "user"}], user_id="u")),
    "role is unknown": (InvalidInputError, lambda m: m.add([{"role": "robot", "content": "x"}], user_id="u")),
    "a field is unknown": (InvalidInputError, lambda m: m.add([{"content": "x", "colour": 1}], user_id="u")),
    "text is 10 MB": (TextTooLargeError, lambda m: m.add("x" * 10_000_000, user_id="u")),
    "bytes are not UTF-8": (InvalidInputError, lambda m: m.add(b"caf\xe9", user_id="u")),
    "lone surrogate": (InvalidInputError, lambda m: m.add("bad \ud800 text", user_id="u")),
    "NUL in text": (InvalidInputError, lambda m: m.add("a\x00b", user_id="u")),
    "metadata is a string": (InvalidInputError, lambda m: m.add("x", user_id="u", metadata="x")),  # type: ignore[arg-type]
    "metadata holds NaN": (InvalidInputError, lambda m: m.add("x", user_id="u", metadata={"v": float("nan")})),
    "metadata holds an object": (InvalidInputError, lambda m: m.add("x", user_id="u", metadata={"v": object()})),
    "at is not a time": (InvalidInputError, lambda m: m.add("x", user_id="u", at="last tuesday-ish")),
    "at overflows in UTC": (InvalidInputError, lambda m: m.add("x", user_id="u", at="0001-01-01T00:00:00+05:00")),
    "second message is bad": (InvalidInputError, lambda m: m.add(["fine", {"content": ""}], user_id="u")),
    "unknown memory id": (NotFoundError, lambda m: m.get("no-such-id")),
    "update unknown id": (NotFoundError, lambda m: m.update("no-such-id", "x")),
    "delete unknown id": (NotFoundError, lambda m: m.delete("no-such-id")),
    "history of unknown id": (NotFoundError, lambda m: m.history("no-such-id")),
    "id is not a string": (InvalidInputError, lambda m: m.get(7)),  # type: ignore[arg-type]
    "empty query": (InvalidInputError, lambda m: m.search("", user_id="u")),
    "limit is zero": (InvalidInputError, lambda m: m.search("x", user_id="u", limit=0)),
    "limit is a bool": (InvalidInputError, lambda m: m.search("x", user_id="u", limit=True)),
    "filters is a list": (InvalidInputError, lambda m: m.search("x", user_id="u", filters=["k"])),  # type: ignore[arg-type]
    "unknown kind filter": (InvalidInputError, lambda m: m.get_all(filters={"kind": "gossip"})),
    "import a missing file": (InvalidInputError, lambda m: m.import_("/nonexistent/file.jsonl")),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_input_is_refused_and_nothing_changes(tmp_path: Path, case: str) -> None:
    path = tmp_path / "store.db"
    with Memory(path, embedder="hash") as mem:
        mem.add([{"role": "user", "content": "existing memory"}], user_id="u")
        before = _fingerprint(path)
        error, call = BAD_CALLS[case]
        with pytest.raises(error) as info:
            call(mem)
        assert info.value.message
        assert "Traceback" not in info.value.message
        assert _fingerprint(path) == before


def test_a_random_file_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 not a database at all" * 100)
    with pytest.raises(NotAStoreError, match="not a mnemos store"):
        Memory(path, embedder="hash")
    assert path.read_bytes().startswith(b"\xff\xd8")


def test_another_sqlite_database_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE accounts (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(NotAStoreError, match="SQLite database but not a mnemos store"):
        Memory(path, embedder="hash")
    conn = sqlite3.connect(path)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["accounts"]
    conn.close()


def test_an_unwritable_path_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("I am a file, not a directory")
    with pytest.raises(StorePathError, match="cannot create the directory"):
        Memory(blocker / "sub" / "store.db", embedder="hash")
    with pytest.raises(StorePathError, match="is a directory"):
        Memory(tmp_path, embedder="hash")


def test_a_store_refuses_another_embedder(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    with Memory(path, embedder="hash") as mem:
        mem.add("x", user_id="u")
    from mnemos.embedders.hashing import HashEmbedder

    with pytest.raises(EmbedderMismatchError, match="hash-v1-64"):
        Memory(path, embedder=HashEmbedder(dimension=32))


def test_a_store_from_a_newer_mnemos_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    Memory(path, embedder="hash").close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE mnemos_meta SET value = '999' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaVersionError, match="upgrade mnemos"):
        Memory(path, embedder="hash")


def test_unknown_embedder_and_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown embedder 'nope'"):
        Memory(tmp_path / "x.db", embedder="nope")
    with pytest.raises(ConfigurationError, match="embed_batch_size"):
        Memory(tmp_path / "x.db", embedder="hash", embed_batch_size=0)
    assert not (tmp_path / "x.db").exists()


def test_errors_serialise_for_the_api() -> None:
    err = NotFoundError("no memory with id 'x'", memory_id="x")
    assert err.to_dict() == {
        "code": "not_found",
        "message": "no memory with id 'x'",
        "details": {"memory_id": "x"},
    }
    assert err.status == 404
