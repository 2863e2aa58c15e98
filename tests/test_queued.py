"""add(wait=False): messages stored as they come, their memories derived later in batches,
and every read sees them all."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from mnemos import InvalidInputError, Memory
from mnemos.embedders.base import Embedder
from mnemos.engine.derive import Candidate, DeriveContext, StatementDeriver
from mnemos.models import Episode
from mnemos.storage.sqlite import SQLiteStore

TURNS = [
    ("Ana", "I live in Berlin and I work at Siemens as an engineer."),
    ("Rui", "Berlin is lovely in spring. How is the job?"),
    ("Ana", "My sister Clara lives in Sintra."),
    ("Ana", "I adopted a beagle puppy last week, his name is Biscuit."),
    ("Rui", "What a cute name!"),
    ("Ana", "I moved to Munich last month."),
    ("Ana", "Clara moved to Lisbon."),
]


def add_all(mem: Memory, *, wait: bool, sessions: int = 1) -> None:
    for n, (name, text) in enumerate(TURNS):
        mem.add(
            {"role": "user", "name": name, "content": text},
            user_id="ana",
            session_id=f"s{n // 2 % sessions}",
            at=f"2024-05-{10 + n:02d}T09:00:00Z",
            wait=wait,
        )


def state(mem: Memory) -> list[tuple[str, str, str, str | None]]:
    """What a store holds, without ids: each memory's kind, text, status and successor's text."""
    records = mem.get_all(
        user_id="ana", filters={"status": ["active", "superseded"]}, limit=500
    ).items
    text = {r.id: r.text for r in records}
    return sorted((r.kind, r.text, r.status, text.get(r.superseded_by or "")) for r in records)


def memory_rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        (n,) = conn.execute("SELECT count(*) FROM memories").fetchone()
    return int(n)


@pytest.mark.parametrize("sessions", [1, 2])
def test_queued_turns_make_what_turns_added_one_by_one_make(tmp_path: Path, sessions: int) -> None:
    with Memory(tmp_path / "waited.db", embedder="hash") as waited:
        add_all(waited, wait=True, sessions=sessions)
        expected = state(waited)
    with Memory(tmp_path / "queued.db", embedder="hash") as queued:
        add_all(queued, wait=False, sessions=sessions)
        assert memory_rows(tmp_path / "queued.db") == 0  # nothing derived yet
        got = state(queued)  # a read derives what waits first
    assert got == expected
    assert any("Berlin" in text and status == "superseded" for _, text, status, _ in got)


def test_a_repeat_in_the_same_batch_merges_as_it_would_one_by_one(
    tmp_path: Path, static_embedder: Embedder
) -> None:
    said = [
        "Work has been busy since I became a librarian; we have a big deadline on Friday.",
        "Work has been busy since I became a teacher; we have a big deadline on Monday.",
        "Work's been so busy since I became a librarian, and we have a big deadline on Friday!",
    ]
    states = []
    for wait in (True, False):
        with Memory(tmp_path / f"{wait}.db", embedder=static_embedder) as mem:
            for n, text in enumerate(said):
                mem.add(text, user_id="ana", session_id=f"s{n}", wait=wait)
            states.append(state(mem))
            statements = [m for m in mem.get_all(user_id="ana").items if m.kind != "note"]
            # The repeat joined the first statement (near, in other words): two remain.
            assert len(statements) == 2
            assert sorted(len(m.episode_ids) for m in statements) == [1, 2]
    assert states[0] == states[1]


def test_queued_messages_keep_their_tenant_and_session_whoever_derives_them(
    tmp_path: Path,
) -> None:
    with Memory(tmp_path / "m.db", embedder="hash") as root:
        acme = root.scoped(tenant="acme")
        acme.add("I live in Porto.", user_id="ana", session_id="a", wait=False)
        acme.add("I like green tea.", user_id="ana", session_id="b", wait=False)
        assert root.settle() == 2  # the default tenant's Memory derives them
        assert root.get_all(user_id="ana").items == []
        derived = acme.get_all(user_id="ana").items
        assert {(m.tenant, m.session_id) for m in derived} == {("acme", "a"), ("acme", "b")}
        notes = {m.session_id: m.text for m in derived if m.kind == "note"}
        assert notes == {"a": "I live in Porto.", "b": "I like green tea."}


def test_a_queued_add_returns_its_episodes_and_no_memories(mem: Memory) -> None:
    result = mem.add("I live in Porto.", user_id="ana", wait=False)
    assert result.pending is True
    assert result.memories == []
    assert result.changes == []
    assert [e.text for e in result.episodes] == ["I live in Porto."]
    assert mem.episodes.get(result.episodes[0].id).text == "I live in Porto."
    hits = mem.search("Where does the user live?", user_id="ana").hits
    assert any("Porto" in h.text for h in hits)
    waited = mem.add("I like tea.", user_id="ana")
    assert waited.pending is False
    assert waited.memories


def test_a_full_batch_is_derived_without_a_read(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Memory(path, embedder="hash", derive_batch=3) as mem:
        for text in ("I live in Porto.", "I like tea."):
            mem.add(text, user_id="ana", wait=False)
        assert memory_rows(path) == 0
        mem.add("I have two cats.", user_id="ana", wait=False)
        assert memory_rows(path) >= 3
        assert mem.settle() == 0  # nothing left waiting


def test_settle_and_close_derive_what_waits(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Memory(path, embedder="hash") as mem:
        mem.add("I live in Porto.", user_id="ana", wait=False)
        mem.add("I like tea.", user_id="ana", wait=False)
        assert mem.settle() == 2
        assert memory_rows(path) >= 2
        mem.add("I have two cats.", user_id="ana", wait=False)
        before = memory_rows(path)
    assert memory_rows(path) > before  # close derived the last one


def test_a_waiting_add_comes_after_what_was_queued(mem: Memory) -> None:
    mem.add("I live in Berlin.", user_id="ana", at="2024-01-01T00:00:00Z", wait=False)
    result = mem.add("I moved to Munich.", user_id="ana", at="2024-03-01T00:00:00Z")
    superseded = [c for c in result.changes if c.event == "SUPERSEDE"]
    assert superseded, result.changes
    old = mem.get(superseded[0].memory_id)
    assert "Berlin" in old.text
    assert old.status == "superseded"


def test_messages_a_stopped_process_left_queued_are_derived_by_the_next(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    script = textwrap.dedent(
        f"""
        import os
        from mnemos import Memory
        mem = Memory({str(path)!r}, embedder="hash")
        mem.add("I live in Porto and I work at Tidewater.", user_id="ana", wait=False)
        os._exit(0)  # stops without settle or close
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    assert memory_rows(path) == 0
    with Memory(path, embedder="hash") as mem:
        assert [e.text for e in mem.episodes.list(user_id="ana").items] == [
            "I live in Porto and I work at Tidewater."
        ]
        hits = mem.search("Where does the user work?", user_id="ana").hits
        assert any("Tidewater" in h.text for h in hits)
        kinds = {m.kind for m in mem.get_all(user_id="ana").items}
        assert kinds == {"note", "profile"}


def test_bad_input_queues_nothing(mem: Memory, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="wait"):
        mem.add("I live in Porto.", user_id="ana", wait="later")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        mem.add([{"role": "user", "content": ""}], user_id="ana", wait=False)
    with pytest.raises(InvalidInputError):
        mem.add("I live in Porto.", user_id="", wait=False)
    assert mem.episodes.list(user_id="ana").items == []
    assert mem.settle() == 0


def test_erasing_a_scope_drops_its_queued_messages(mem: Memory) -> None:
    mem.add("I live in Porto.", user_id="ana", wait=False)
    mem.add("I live in Oslo.", user_id="bo", wait=False)
    erased = mem.erase(user_id="ana")
    assert erased.episodes == 1
    assert mem.settle() == 1  # bo's
    assert mem.get_all(user_id="ana").items == []
    assert any("Oslo" in m.text for m in mem.get_all(user_id="bo").items)


class FailsOn(StatementDeriver):
    """The default deriver, except that it raises on one text (a deriver bug)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def derive(
        self, episodes: Sequence[Episode], context: DeriveContext | None = None
    ) -> list[Candidate]:
        if any(e.text == self.text for e in episodes):
            raise RuntimeError("deriver bug")
        return super().derive(episodes, context)


def test_a_deriver_failing_on_queued_messages_leaves_them_notes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Memory(tmp_path / "m.db", embedder="hash", deriver=FailsOn("boom")) as mem:
        mem.add("I live in Porto.", user_id="ana", wait=False)
        mem.add("boom", user_id="ana", wait=False)
        with caplog.at_level(logging.WARNING, logger="mnemos"):
            memories = mem.get_all(user_id="ana").items
        assert sorted(m.text for m in memories if m.kind == "note") == ["I live in Porto.", "boom"]
        assert all(m.kind == "note" for m in memories)  # the whole run became notes
        assert "stored as notes" in caplog.text
        # The queue is empty: reads work, and the next messages are derived as usual.
        mem.add("I like green tea.", user_id="ana", wait=False)
        assert any(m.kind != "note" for m in mem.get_all(user_id="ana").items)


class SettlesOther(StatementDeriver):
    """Derives as usual, after making another Memory derive the same queue first."""

    def __init__(self) -> None:
        super().__init__()
        self.other: Any = None

    def derive(
        self, episodes: Sequence[Episode], context: DeriveContext | None = None
    ) -> list[Candidate]:
        if self.other is not None:
            other, self.other = self.other, None
            other.settle()
        return super().derive(episodes, context)


def test_two_writers_derive_a_queued_message_once(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    deriver = SettlesOther()
    with Memory(path, embedder="hash") as first:
        first.add("I live in Porto.", user_id="ana", wait=False)
        # second opens the store with the message queued, begins deriving it, and first
        # derives and commits it in the meantime: second's transaction finds it taken.
        with Memory(path, embedder="hash", deriver=deriver) as second:
            deriver.other = first
            assert second.settle() == 0
            assert deriver.other is None  # first did settle inside
            notes = [m for m in second.get_all(user_id="ana").items if m.kind == "note"]
            assert [m.text for m in notes] == ["I live in Porto."]


class AddsWhileEmpty(SQLiteStore):
    """A real store where, once, another thread's queued add lands just after the queue
    was read empty (here on the same thread, at that moment)."""

    memory: Memory | None = None

    def pending_episodes(self, limit: int) -> list[Episode]:
        found = super().pending_episodes(limit)
        if not found and self.memory is not None:
            mem, self.memory = self.memory, None
            mem.add("I live in Porto.", user_id="ana", wait=False)
        return found


def test_a_message_queued_while_the_queue_is_found_empty_is_still_derived(
    tmp_path: Path,
) -> None:
    store = AddsWhileEmpty(tmp_path / "m.db")
    with Memory(embedder="hash", store=store) as mem:
        mem.add("I like tea.", user_id="ana", wait=False)
        store.memory = mem
        assert mem.settle() == 1  # the tea; Porto came after the queue was read empty
        assert store.memory is None
        texts = [m.text for m in mem.get_all(user_id="ana").items]
        assert "I live in Porto." in texts  # the read derived it
    store.close()
