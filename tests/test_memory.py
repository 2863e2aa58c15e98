"""The Memory facade: what a caller does with it, through the public API only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mnemos import (
    LEXICAL,
    AccessDeniedError,
    AddResult,
    ClosedError,
    ConflictError,
    InvalidInputError,
    Memory,
    MemoryRecord,
    NotFoundError,
    SearchConfig,
)

CHAT = [
    {"role": "user", "name": "Caroline", "content": "I adopted a beagle puppy last week",
     "metadata": {"msg_id": "m1"}},
    {"role": "assistant", "name": "Melanie", "content": "So cute! What is the puppy called?",
     "metadata": {"msg_id": "m2"}},
    {"role": "user", "name": "Caroline", "content": "His name is Biscuit", "metadata": {"msg_id": "m3"}},
]  # fmt: skip


def note_of(result: AddResult) -> MemoryRecord:
    """The note (the whole message) among what one add derived."""
    return next(m for m in result.memories if m.kind == "note")


def test_add_stores_episodes_and_derives_a_memory_per_message(mem: Memory) -> None:
    result = mem.add(CHAT, user_id="caroline", session_id="s1", at="2023-05-08T13:56:00Z")
    assert len(result.episodes) == 3
    assert len(result.memories) >= 3
    covered = {eid for m in result.memories for eid in m.episode_ids}
    assert covered == {e.id for e in result.episodes}
    first = result.episodes[0]
    assert (first.role, first.name, first.session_id) == ("user", "Caroline", "s1")
    assert first.occurred_at == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert first.metadata == {"msg_id": "m1"}
    assert [c.event for c in result.changes] == ["ADD"] * len(result.memories)


def test_a_plain_string_is_one_user_message(mem: Memory) -> None:
    result = mem.add("I like green tea", user_id="u")
    assert [(e.role, e.text) for e in result.episodes] == [("user", "I like green tea")]


def test_what_add_stored_is_searchable_when_it_returns(mem: Memory) -> None:
    mem.add(CHAT, user_id="caroline")
    hits = mem.search("Biscuit", user_id="caroline").hits
    assert hits[0].text == "His name is Biscuit"


def test_search_hits_carry_scores_scope_and_evidence(mem: Memory) -> None:
    added = mem.add(CHAT, user_id="caroline", agent_id="bot", session_id="s1", at="2023-05-08")
    hit = mem.search("beagle puppy adopted", user_id="caroline").hits[0]
    assert hit.text == "I adopted a beagle puppy last week"
    assert 0 < hit.score <= 1
    assert set(hit.scores) == set(hit.ranks)
    assert "bm25" in hit.scores
    assert (hit.user_id, hit.agent_id, hit.session_id) == ("caroline", "bot", "s1")
    assert hit.kind in {"note", "event", "fact"}
    [evidence] = [e for e in hit.evidence if e.episode_id == added.episodes[0].id]
    assert (evidence.name, evidence.role, evidence.metadata) == (
        "Caroline",
        "user",
        {"msg_id": "m1"},
    )
    assert evidence.occurred_at == datetime(2023, 5, 8, tzinfo=UTC)


def test_search_is_scoped_to_the_user(mem: Memory) -> None:
    mem.add("my secret recipe uses saffron", user_id="alice")
    mem.add("I cook pasta", user_id="bob")
    assert mem.search("saffron recipe", user_id="bob", config=LEXICAL).hits == []
    assert all(h.user_id == "bob" for h in mem.search("saffron recipe", user_id="bob").hits)


def test_agent_and_session_narrow_search(mem: Memory) -> None:
    mem.add("tea in the morning", user_id="u", agent_id="a1", session_id="s1")
    mem.add("tea at night", user_id="u", agent_id="a2", session_id="s2")
    assert [h.text for h in mem.search("tea", user_id="u", agent_id="a2").hits] == ["tea at night"]
    assert [h.text for h in mem.search("tea", user_id="u", session_id="s1").hits] == [
        "tea in the morning"
    ]


def test_limit_and_budget_bound_the_answer(mem: Memory) -> None:
    for i in range(20):
        mem.add(f"fact number {i} about the garden and its many flowers", user_id="u")
    assert len(mem.search("garden flowers", user_id="u", limit=5).hits) == 5
    result = mem.search("garden flowers", user_id="u", limit=20, budget_tokens=40)
    assert 0 < result.total_tokens <= 40
    assert sum(h.tokens for h in result.hits) == result.total_tokens
    assert len(result.hits) < 20


def test_within_a_budget_only_the_first_hits_bring_context(mem: Memory) -> None:
    for day in range(1, 13):
        for turn, text in enumerate(
            [
                f"morning {day}: the weather looked fine over the bay",
                "we packed sandwiches and water",
                f"paddled the kayak past lighthouse number {day}",
                "the wind picked up later on",
                "home before dark, tired and happy",
            ]
        ):
            mem.add(text, user_id="u", session_id=f"day-{day}", at=f"2024-06-{day:02d}T0{turn}:00")
    bare = SearchConfig(budget_context=0)
    first3 = mem.search("kayak lighthouse", user_id="u", limit=40, budget_tokens=250)
    assert len(first3.hits) > 3
    assert all(h.context for h in first3.hits[:3])
    assert not any(h.context for h in first3.hits[3:])
    assert first3.total_tokens <= 250
    every = mem.search(
        "kayak lighthouse", user_id="u", limit=40, budget_tokens=250,
        config=SearchConfig(budget_context=20),
    )  # fmt: skip
    # Each hit brings its context while it fits (the last may come bare).
    assert sum(bool(h.context) for h in every.hits) > 3
    assert len(every.hits) < len(first3.hits)
    none = mem.search("kayak lighthouse", user_id="u", limit=40, budget_tokens=250, config=bare)
    assert not any(h.context for h in none.hits)
    assert len(none.hits) > len(first3.hits)
    # Without a budget every hit brings its context.
    unbounded = mem.search("kayak lighthouse", user_id="u", limit=8, config=bare)
    assert all(h.context for h in unbounded.hits)


def test_filters_on_kind_time_and_metadata(mem: Memory) -> None:
    mem.add("ran 5 km", user_id="u", at="2023-01-10", metadata={"topic": "sport", "n": 5})
    mem.add("ran 10 km", user_id="u", at="2023-03-10", metadata={"topic": "sport", "n": 10})
    mem.add("baked bread", user_id="u", at="2023-03-11", metadata={"topic": "food"})
    sport = mem.search("ran", user_id="u", filters={"topic": "sport"}).hits
    assert {h.text for h in sport} == {"ran 5 km", "ran 10 km"}
    march = mem.search("ran", user_id="u", filters={"occurred_at": {"gte": "2023-03-01"}}).hits
    assert {h.text for h in march} <= {"ran 10 km", "baked bread"}
    big = mem.get_all(user_id="u", filters={"metadata": {"n": {"gt": 5}}}).items
    assert {m.text for m in big} == {"ran 10 km"}
    assert {m.kind for m in mem.get_all(user_id="u", filters={"kind": "note"}).items} == {"note"}
    with pytest.raises(InvalidInputError, match="unknown filter operator"):
        mem.search("ran", user_id="u", filters={"n": {"approx": 5}})


def test_get_all_pages_through_everything(mem: Memory) -> None:
    for i in range(25):
        mem.add(f"item {i}", user_id="u")
    mem.add("elsewhere", user_id="other")
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = mem.get_all(user_id="u", limit=10, offset=offset)
        assert page.total == 25
        seen += [m.text for m in page.items]
        offset = page.next_offset
    assert sorted(seen) == sorted(f"item {i}" for i in range(25))
    assert mem.get_all().total == 26


def test_update_writes_a_new_version_and_keeps_the_old(mem: Memory) -> None:
    rec = note_of(mem.add("I live in Porto", user_id="u"))
    updated = mem.update(rec.id, "I live in Lisbon", reason="moved")
    assert (updated.id, updated.version, updated.text) == (rec.id, 2, "I live in Lisbon")
    assert mem.get(rec.id).text == "I live in Lisbon"
    history = mem.history(rec.id)
    assert [e.event for e in history] == ["ADD", "UPDATE"]
    assert (history[1].before or {}).get("text") == "I live in Porto"
    assert (history[1].after or {}).get("text") == "I live in Lisbon"
    assert history[1].reason == "moved"
    assert "I live in Lisbon" in [
        h.text for h in mem.search("Lisbon", user_id="u", config=LEXICAL).hits
    ]
    assert mem.search("Porto", user_id="u", config=LEXICAL).hits == []
    derived = mem.get_all(user_id="u", filters={"status": "superseded"}).items
    assert [m.superseded_by for m in derived] == [rec.id]


def test_delete_is_soft_and_restore_brings_it_back(mem: Memory) -> None:
    rec = note_of(mem.add("my locker code is 4512", user_id="u"))
    deleted = mem.delete(rec.id, reason="stale")
    assert deleted.status == "deleted"
    assert deleted.expired_at is not None
    assert mem.get(rec.id).status == "deleted"
    assert rec.id not in [h.id for h in mem.search("locker code", user_id="u").hits]
    assert rec.id not in [m.id for m in mem.get_all(user_id="u").items]
    assert [m.id for m in mem.get_all(user_id="u", filters={"status": "deleted"}).items] == [rec.id]
    with pytest.raises(ConflictError):
        mem.update(rec.id, "new text")
    with pytest.raises(ConflictError):
        mem.delete(rec.id)
    restored = mem.restore(rec.id)
    assert (restored.status, restored.expired_at) == ("active", None)
    assert rec.id in [
        h.id
        for h in mem.search(
            "locker code", user_id="u", config=LEXICAL.model_copy(update={"collapse": False})
        ).hits
    ]
    assert [e.event for e in mem.history(rec.id)] == ["ADD", "DELETE", "RESTORE"]


def test_erase_removes_every_trace_of_the_user(mem: Memory, tmp_path: Path) -> None:
    added = mem.add("ultra-secret-passphrase", user_id="gone")
    mem.add("keep me", user_id="stays")
    counts = mem.erase(user_id="gone")
    assert (counts.episodes, counts.memories) == (1, len(added.memories))
    with pytest.raises(NotFoundError):
        mem.get(added.memories[0].id)
    with pytest.raises(NotFoundError):
        mem.episodes.get(added.episodes[0].id)
    assert mem.search("ultra-secret-passphrase", user_id="gone").hits == []
    assert mem.stats().episodes == 1
    mem.export(tmp_path / "after.jsonl")
    assert "ultra-secret-passphrase" not in (tmp_path / "after.jsonl").read_text()


def test_erased_text_is_gone_from_the_store_file(tmp_path: Path) -> None:
    path = tmp_path / "erase.db"
    with Memory(path, embedder="hash") as mem:
        for i in range(50):
            mem.add(f"filler message {i}", user_id="stays")
        mem.add("zebra-unicorn-xylophone", user_id="gone")
        mem.erase(user_id="gone")
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("erase.db"))
    assert b"filler message" in blob
    assert b"zebra-unicorn-xylophone" not in blob
    assert b"zebra" not in blob


def test_episodes_namespace_lists_in_time_order(mem: Memory) -> None:
    mem.add("second", user_id="u", at="2024-01-02")
    mem.add("first", user_id="u", at="2024-01-01")
    page = mem.episodes.list(user_id="u")
    assert [e.text for e in page.items] == ["first", "second"]
    assert mem.episodes.get(page.items[0].id).text == "first"


def test_time_travel_search_uses_validity(mem: Memory) -> None:
    rec = note_of(mem.add("the office is on floor 3", user_id="u", at="2024-01-01"))
    assert mem.search("office floor", user_id="u", at="2023-06-01").hits == []
    later = mem.search("office floor", user_id="u", at="2024-02-01").hits
    assert later[0].evidence[0].episode_id == rec.episode_ids[0]


def test_user_bound_memory_cannot_reach_other_users(tmp_path: Path) -> None:
    path = tmp_path / "bound.db"
    with Memory(path, embedder="hash") as admin:
        other = admin.add("private note", user_id="bob").memories[0]
    with Memory(path, embedder="hash", user_ids=["alice"]) as mem:
        mem.add("my note", user_id="alice")
        with pytest.raises(AccessDeniedError):
            mem.add("sneaky", user_id="bob")
        with pytest.raises(AccessDeniedError):
            mem.search("note", user_id="bob")
        with pytest.raises(NotFoundError):
            mem.get(other.id)
        assert {m.user_id for m in mem.get_all().items} == {"alice"}


def test_tenants_share_a_file_but_not_data(tmp_path: Path) -> None:
    path = tmp_path / "tenants.db"
    with Memory(path, embedder="hash", tenant="acme") as acme:
        rec = acme.add("acme roadmap", user_id="u").memories[0]
    with Memory(path, embedder="hash", tenant="globex") as globex:
        assert globex.search("roadmap", user_id="u").hits == []
        with pytest.raises(NotFoundError):
            globex.get(rec.id)
        assert globex.stats().memories == 0


def test_closed_memory_refuses_every_call(tmp_path: Path) -> None:
    mem = Memory(tmp_path / "c.db", embedder="hash")
    rec = mem.add("x", user_id="u").memories[0]
    assert not mem.closed
    mem.close()
    mem.close()
    assert mem.closed
    for call in (
        lambda: mem.add("y", user_id="u"),
        lambda: mem.search("x", user_id="u"),
        lambda: mem.get(rec.id),
        lambda: mem.get_all(),
        lambda: mem.episodes.list(),
    ):
        with pytest.raises(ClosedError):
            call()
    with pytest.raises(ClosedError), mem:
        pass


def test_stats_reports_counts(mem: Memory) -> None:
    mem.add(CHAT, user_id="caroline")
    stats = mem.stats(user_id="caroline")
    assert stats.episodes == 3
    assert stats.memories >= 3
    assert stats.file_bytes > 0
    assert stats.embedder == "hash-v1-64"


def test_context_is_a_dated_prompt_block_within_budget(mem: Memory) -> None:
    mem.add(
        [{"role": "user", "name": "Ana", "content": "I finished the Porto half marathon in 2h04"}],
        user_id="ana",
        at="2024-05-06",
    )
    for i in range(30):
        mem.add(f"an unrelated remark about marathon logistics number {i}", user_id="ana")
    ctx = mem.context("How did the Porto half marathon go?", user_id="ana", budget_tokens=120)
    assert ctx.tokens <= 120
    assert (
        ctx.text.splitlines()[1] == "- [2024-05-06] Ana: I finished the Porto half marathon in 2h04"
    )
    assert ctx.hits[0].text == "I finished the Porto half marathon in 2h04"
    empty = mem.context("anything", user_id="nobody")
    assert (empty.text, empty.hits) == ("No relevant memories.", [])


def test_scoped_views_share_the_store_but_not_the_reach(mem: Memory) -> None:
    rec = mem.add("bob's note", user_id="bob").memories[0]
    alice = mem.scoped(user_ids=["alice"])
    other_tenant = mem.scoped(tenant="elsewhere")
    alice.add("alice's note", user_id="alice")
    with pytest.raises(AccessDeniedError):
        alice.search("note", user_id="bob")
    with pytest.raises(NotFoundError):
        alice.get(rec.id)
    with pytest.raises(NotFoundError):
        other_tenant.get(rec.id)
    assert other_tenant.stats().episodes == 0
    alice.close()
    assert mem.get(rec.id).text == "bob's note"
    assert mem.stats().episodes == 2


def test_context_puts_profile_memories_and_recent_turns_in_one_block(mem: Memory) -> None:
    mem.add(
        [
            {
                "role": "user",
                "name": "Ana",
                "content": "I live in Porto. I went to a pottery class yesterday.",
            }
        ],
        user_id="ana",
        session_id="s1",
        at="2024-03-02T10:00:00Z",
    )
    mem.add(
        [{"role": "user", "name": "Ana", "content": "Any tips for glazing bowls?"}],
        user_id="ana",
        session_id="s2",
        at="2024-03-09T10:00:00Z",
    )
    ctx = mem.context(
        "What does Ana do in Porto, pottery?", user_id="ana", session_id="s2", budget_tokens=300
    )
    lines = ctx.text.splitlines()
    assert lines[0] == "Known now:"
    assert lines[1] == "- Ana: residence: Porto"
    assert any("(yesterday = 1 March 2024)" in line for line in lines)
    assert lines[-2:] == ["Recent conversation:", "- Ana: Any tips for glazing bowls?"]
    assert ctx.tokens <= 300


def test_record_ids_are_uuid7_ordered_by_creation(mem: Memory) -> None:
    import time
    import uuid

    first = mem.add("I adopted a beagle puppy last week", user_id="u1")
    time.sleep(0.002)  # a later millisecond: UUIDv7 orders by creation time to the ms
    second = mem.add("His name is Biscuit", user_id="u1")
    ids = [r.id for r in (*first.episodes, *first.memories, *second.episodes, *second.memories)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    older = [r.id for r in (*first.episodes, *first.memories)]
    newer = [r.id for r in (*second.episodes, *second.memories)]
    assert max(older) < min(newer)
    [event] = [e for e in mem.history(second.memories[0].id) if e.event == "ADD"]
    assert uuid.UUID(event.id).version == 7


_WARM_UP_PROBE = """
import json, sys
from lemminflect.core.Inflections import Inflections
from lemminflect.core.Lemmatizer import Lemmatizer
from mnemos import Memory

with Memory(sys.argv[1], embedder="hash") as mem:
    before = hasattr(Lemmatizer(), "lemma_dict"), hasattr(Inflections(), "infl_dict")
    seconds = mem.warm_up()
    after = hasattr(Lemmatizer(), "lemma_dict"), hasattr(Inflections(), "infl_dict")
    stats = mem.stats()
print(json.dumps({"before": before, "after": after, "seconds": seconds,
                  "episodes": stats.episodes, "memories": stats.memories}))
"""


def test_warm_up_loads_the_word_tables_and_writes_nothing(tmp_path: Path) -> None:
    """In a fresh process the lemma and inflection tables load on first use; warm_up
    loads them up front and leaves the store empty."""
    import json
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", _WARM_UP_PROBE, str(tmp_path / "warm.db")],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(proc.stdout)
    assert out["before"] == [False, False]
    assert out["after"] == [True, True]
    assert out["seconds"] > 0
    assert out["episodes"] == 0
    assert out["memories"] == 0
