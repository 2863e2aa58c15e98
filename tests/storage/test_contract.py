"""Behaviour every Store backend must have, run against each backend through one fixture."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from mnemos.engine.text import analyze, content_hash
from mnemos.errors import AccessDeniedError, ConflictError, EmbedderMismatchError
from mnemos.models import Episode, HistoryEvent, MemoryRecord
from mnemos.storage.base import (
    Access,
    ClaimRow,
    Condition,
    EntityWrite,
    IndexText,
    MemoryQuery,
    MemoryWrite,
    ScopeFilter,
    Store,
)

DIM = 8
T0 = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
ACCESS = Access("t1")


def _sqlite(path: Path) -> Store:
    from mnemos.storage.sqlite import SQLiteStore

    return SQLiteStore(path)


BACKENDS: dict[str, Callable[[Path], Store]] = {"sqlite": _sqlite}


@pytest.fixture(params=sorted(BACKENDS))
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens the backend on one location; every store opened is closed at the end."""
    opened: list[Store] = []

    def make() -> Store:
        store = BACKENDS[request.param](tmp_path / "contract.db")
        store.bind_embedder("test-embedder", DIM)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[[], Store]) -> Store:
    return open_store()


def vec(*values: float) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


def episode(user: str = "u1", text: str = "hello", tenant: str = "t1", **kw: object) -> Episode:
    return Episode(
        id=str(uuid.uuid4()), tenant=tenant, user_id=user, role="user", text=text,
        occurred_at=kw.pop("at", T0), recorded_at=T0, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def memory(ep: Episode, text: str | None = None, **kw: object) -> MemoryRecord:
    text = text or ep.text
    fields: dict[str, object] = {
        "id": str(uuid.uuid4()), "tenant": ep.tenant, "user_id": ep.user_id, "kind": "note",
        "text": text, "occurred_at": ep.occurred_at, "valid_from": ep.occurred_at,
        "created_at": T0, "updated_at": T0, "episode_ids": [ep.id],
    }  # fmt: skip
    fields.update(kw)
    return MemoryRecord(**fields)  # type: ignore[arg-type]


def write(record: MemoryRecord, vector: np.ndarray | None = None) -> tuple[MemoryWrite, dict]:
    vector = vec(1.0) if vector is None else vector
    h = content_hash(record.text + str(vector.tolist()))
    return MemoryWrite(record, IndexText(body=analyze(record.text)), h), {h: vector}


def put(store: Store, *pairs: tuple[Episode, MemoryRecord, np.ndarray | None]) -> None:
    with store.transaction() as tx:
        tx.insert_episodes([p[0] for p in pairs])
        for _, rec, vector in pairs:
            w, vs = write(rec, vector)
            tx.put_vectors(vs)
            tx.insert_memories([w])


def q(user: str | None = "u1", **kw: object) -> MemoryQuery:
    return MemoryQuery(scope=ScopeFilter(user_id=user), **kw)  # type: ignore[arg-type]


def test_written_records_read_back_equal(store: Store) -> None:
    ep = episode(text="Caroline adopted a puppy", metadata={"a": [1, {"b": None}]})
    rec = memory(ep, metadata={"topic": "pets"}, attributes={"speaker": "Caroline"})
    put(store, (ep, rec, None))
    assert store.get_episodes(ACCESS, [ep.id]) == [ep]
    assert store.get_memories(ACCESS, [rec.id]) == [rec]
    assert store.evidence(ACCESS, [rec.id]) == {rec.id: [ep]}


def test_a_snapshot_reads_one_state_of_the_store(open_store: Callable[[], Store]) -> None:
    """Inside a snapshot, reads (the partition's vector and lexical searches included) do
    not see what another writer commits meanwhile; after it, and in the next, they do."""
    reader, writer = open_store(), open_store()
    first = episode(text="bees in the garden")
    kept = memory(first)
    put(writer, (first, kept, vec(1.0)))
    later = episode(text="bees on the roof")
    added = memory(later)
    with reader.snapshot():
        assert [m for m, _ in reader.lexical_search(ACCESS, q(), ["bee"], 10)] == [kept.id]
        put(writer, (later, added, vec(1.0)))
        with reader.snapshot():  # nested: the same state
            assert reader.get_memories(ACCESS, [added.id]) == []
        assert [m for m, _ in reader.vector_search(ACCESS, q(), vec(1.0), 10)] == [kept.id]
        assert [m for m, _ in reader.lexical_search(ACCESS, q(), ["bee"], 10)] == [kept.id]
    assert reader.get_memories(ACCESS, [added.id]) == [added]
    with reader.snapshot():
        assert {m for m, _ in reader.vector_search(ACCESS, q(), vec(1.0), 10)} == {
            kept.id,
            added.id,
        }


def test_a_failed_read_inside_a_snapshot_ends_it(store: Store) -> None:
    """An error inside a snapshot leaves no read transaction open behind it."""
    ep = episode(text="bees in the garden")
    put(store, (ep, memory(ep), None))
    with pytest.raises(RuntimeError), store.snapshot():
        store.get_episodes(ACCESS, [ep.id])
        raise RuntimeError("boom")
    later = episode(text="bees on the roof")
    put(store, (later, memory(later), None))
    assert store.get_episodes(ACCESS, [later.id]) == [later]


def test_a_failed_transaction_writes_nothing(store: Store) -> None:
    ep = episode()
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.insert_episodes([ep])
        w, vs = write(memory(ep))
        tx.put_vectors(vs)
        tx.insert_memories([w])
        raise RuntimeError("boom")
    assert store.get_episodes(ACCESS, [ep.id]) == []
    assert store.list_memories(ACCESS, q(), offset=0, limit=10) == ([], 0)


def test_duplicate_ids_conflict_and_roll_back(store: Store) -> None:
    ep = episode()
    put(store, (ep, memory(ep), None))
    other = episode(text="second")
    with pytest.raises(ConflictError), store.transaction() as tx:
        tx.insert_episodes([other])
        tx.insert_episodes([ep])
    assert store.get_episodes(ACCESS, [other.id]) == []


def test_listing_pages_newest_first_with_total(store: Store) -> None:
    eps = [episode(text=f"memory number {i}") for i in range(7)]
    for i, ep in enumerate(eps):
        put(store, (ep, memory(ep, created_at=T0 + timedelta(minutes=i)), None))
    first, total = store.list_memories(ACCESS, q(), offset=0, limit=3)
    second, _ = store.list_memories(ACCESS, q(), offset=3, limit=3)
    third, _ = store.list_memories(ACCESS, q(), offset=6, limit=3)
    assert total == 7
    texts = [m.text for m in first + second + third]
    assert texts == [f"memory number {i}" for i in reversed(range(7))]


def test_tenants_and_user_restrictions_isolate_rows(store: Store) -> None:
    mine, theirs, other_user = episode(), episode(tenant="t2"), episode(user="u2")
    m1, m2, m3 = memory(mine), memory(theirs), memory(other_user)
    put(store, (mine, m1, None), (theirs, m2, None), (other_user, m3, None))
    assert [m.id for m in store.get_memories(ACCESS, [m1.id, m2.id, m3.id])] == [m1.id, m3.id]
    only_u1 = Access("t1", frozenset({"u1"}))
    assert [m.id for m in store.get_memories(only_u1, [m1.id, m3.id])] == [m1.id]
    assert store.get_episodes(only_u1, [other_user.id]) == []
    assert store.list_memories(only_u1, q(user=None), offset=0, limit=10)[1] == 1
    with pytest.raises(AccessDeniedError):
        store.vector_search(only_u1, q(user="u2"), vec(1.0), 5)
    assert store.lexical_search(only_u1, q(user="u2"), ["hello"], 5) == []


def test_memory_texts_are_read_within_the_access(store: Store) -> None:
    mine, theirs, other_user = episode(text="mine"), episode(tenant="t2"), episode(user="u2")
    m1, m2, m3 = memory(mine), memory(theirs), memory(other_user, text="someone else's")
    put(store, (mine, m1, None), (theirs, m2, None), (other_user, m3, None))
    everything = [m1.id, m2.id, m3.id, "no-such-memory"]
    assert store.memory_texts(ACCESS, everything) == {m1.id: "mine", m3.id: "someone else's"}
    assert store.memory_texts(Access("t1", frozenset({"u1"})), everything) == {m1.id: "mine"}
    assert store.memory_texts(ACCESS, []) == {}


def test_lexical_search_ranks_by_bm25_within_scope(store: Store) -> None:
    a = episode(text="We went hiking in the mountains and hiked all day")
    b = episode(text="The mountains were far away")
    c = episode(text="I baked bread")
    d = episode(user="u2", text="hiking hiking hiking")
    records = [memory(x) for x in (a, b, c, d)]
    put(store, *[(e, r, None) for e, r in zip((a, b, c, d), records, strict=True)])
    hits = store.lexical_search(ACCESS, q(), analyze("hiking mountains"), 10)
    assert [h[0] for h in hits] == [records[0].id, records[1].id]
    assert hits[0][1] > hits[1][1] > 0


def test_vector_search_orders_by_cosine_and_applies_filters(store: Store) -> None:
    eps = [episode(text=f"text {i}") for i in range(4)]
    recs = [
        memory(eps[0]),
        memory(eps[1], kind="fact"),
        memory(eps[2], status="deleted"),
        memory(eps[3], metadata={"topic": "x"}),
    ]
    vectors = [vec(1, 0), vec(1, 0.2), vec(1, 0.01), vec(0, 1)]
    put(store, *zip(eps, recs, vectors, strict=True))
    hits = store.vector_search(ACCESS, q(), vec(1, 0), 10)
    assert [h[0] for h in hits] == [recs[0].id, recs[1].id, recs[3].id]
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [h[0] for h in store.vector_search(ACCESS, q(kinds=("fact",)), vec(1, 0), 10)] == [
        recs[1].id
    ]
    cond = (Condition(("topic",), "eq", "x"),)
    assert [h[0] for h in store.vector_search(ACCESS, q(conditions=cond), vec(1, 0), 10)] == [
        recs[3].id
    ]


def test_validity_window_selects_what_was_true_then(store: Store) -> None:
    old_ep, new_ep = episode(text="lives in Porto"), episode(text="lives in Lisbon")
    switch = T0 + timedelta(days=30)
    old = memory(old_ep, status="superseded", valid_to=switch)
    new = memory(new_ep, valid_from=switch)
    put(store, (old_ep, old, vec(1)), (new_ep, new, vec(1, 0.1)))
    both = ("active", "superseded")
    before = q(statuses=both, valid_at=T0 + timedelta(days=1))
    after = q(statuses=both, valid_at=switch + timedelta(days=1))
    assert [h[0] for h in store.vector_search(ACCESS, before, vec(1), 5)] == [old.id]
    assert [h[0] for h in store.vector_search(ACCESS, after, vec(1), 5)] == [new.id]
    assert [h[0] for h in store.lexical_search(ACCESS, before, ["live"], 5)] == [old.id]
    assert [h[0] for h in store.lexical_search(ACCESS, after, ["live"], 5)] == [new.id]
    assert [m.id for m in store.list_memories(ACCESS, q(), offset=0, limit=5)[0]] == [new.id]


def test_metadata_conditions(store: Store) -> None:
    eps = [episode(text=f"note {i}") for i in range(4)]
    metas = [{"n": 1, "tag": "a"}, {"n": 5, "tag": "b"}, {"n": 9, "deep": {"k": True}}, {}]
    recs = [memory(e, metadata=m) for e, m in zip(eps, metas, strict=True)]
    put(store, *[(e, r, None) for e, r in zip(eps, recs, strict=True)])

    def ids(*conds: Condition) -> set[str]:
        found, _ = store.list_memories(ACCESS, q(conditions=conds), offset=0, limit=10)
        return {m.id for m in found}

    assert ids(Condition(("n",), "gte", 5)) == {recs[1].id, recs[2].id}
    assert ids(Condition(("tag",), "in", ("a", "b"))) == {recs[0].id, recs[1].id}
    assert ids(Condition(("deep", "k"), "eq", True)) == {recs[2].id}
    assert ids(Condition(("tag",), "exists", False)) == {recs[2].id, recs[3].id}
    assert ids(Condition(("n",), "lt", 5), Condition(("tag",), "eq", "a")) == {recs[0].id}


def test_replace_memory_reindexes(store: Store) -> None:
    ep = episode(text="I play the violin")
    rec = memory(ep)
    put(store, (ep, rec, vec(1)))
    updated = rec.model_copy(update={"text": "I play the cello", "version": 2})
    w, vs = write(updated, vec(0, 1))
    with store.transaction() as tx:
        tx.put_vectors(vs)
        tx.replace_memory(ACCESS, w)
    assert store.get_memories(ACCESS, [rec.id])[0].text == "I play the cello"
    assert store.lexical_search(ACCESS, q(), ["violin"], 5) == []
    assert [h[0] for h in store.lexical_search(ACCESS, q(), ["cello"], 5)] == [rec.id]
    top = store.vector_search(ACCESS, q(), vec(0, 1), 1)
    assert top[0][0] == rec.id
    assert top[0][1] == pytest.approx(1.0, abs=1e-5)


def test_history_appends_in_order(store: Store) -> None:
    ep = episode()
    rec = memory(ep)
    put(store, (ep, rec, None))
    events = [
        HistoryEvent(id=str(uuid.uuid4()), memory_id=rec.id, event=e, version=i + 1, at=T0)
        for i, e in enumerate(("ADD", "UPDATE", "DELETE"))
    ]
    for e in events:
        with store.transaction() as tx:
            tx.add_history([e])
    assert store.history(ACCESS, rec.id) == events
    assert store.history(Access("t2"), rec.id) == []


def test_erase_removes_the_scope_and_nothing_else(store: Store) -> None:
    gone, kept = episode(text="secret words"), episode(user="u2", text="other words")
    g, k = memory(gone), memory(kept)
    put(store, (gone, g, vec(1)), (kept, k, vec(0, 1)))
    with store.transaction() as tx:
        tx.add_history(
            [HistoryEvent(id=str(uuid.uuid4()), memory_id=g.id, event="ADD", version=1, at=T0)]
        )
    with store.transaction() as tx:
        counts = tx.erase(ACCESS, ScopeFilter(user_id="u1"))
    assert (counts.episodes, counts.memories, counts.history) == (1, 1, 1)
    assert store.get_memories(ACCESS, [g.id, k.id]) == [k]
    assert store.get_episodes(ACCESS, [gone.id]) == []
    assert store.history(ACCESS, g.id) == []
    assert store.lexical_search(ACCESS, q(), ["secret"], 5) == []
    assert store.vector_search(ACCESS, q(), vec(1), 5) == []
    assert [h[0] for h in store.vector_search(ACCESS, q(user="u2"), vec(0, 1), 5)] == [k.id]


def test_vectors_round_trip_by_hash(store: Store) -> None:
    v = vec(0.3, 0.4, 0.5)
    with store.transaction() as tx:
        tx.put_vectors({"h1": v})
    got = store.get_vectors(["h1", "missing"])
    assert list(got) == ["h1"]
    np.testing.assert_array_equal(got["h1"], v)


def test_a_second_connection_sees_writes_at_once(open_store: Callable[[], Store]) -> None:
    first, second = open_store(), open_store()
    assert second.vector_search(ACCESS, q(), vec(1), 5) == []
    ep = episode(text="fresh memory")
    rec = memory(ep)
    put(first, (ep, rec, vec(1)))
    assert [h[0] for h in second.vector_search(ACCESS, q(), vec(1), 5)] == [rec.id]
    assert [h[0] for h in second.lexical_search(ACCESS, q(), ["fresh"], 5)] == [rec.id]
    with first.transaction() as tx:
        tx.erase(ACCESS, ScopeFilter(user_id="u1"))
    assert second.vector_search(ACCESS, q(), vec(1), 5) == []


def test_the_embedder_is_bound_once(open_store: Callable[[], Store]) -> None:
    store = open_store()
    store.bind_embedder("test-embedder", DIM)
    with pytest.raises(EmbedderMismatchError, match="test-embedder"):
        store.bind_embedder("another", DIM)
    with pytest.raises(EmbedderMismatchError):
        store.bind_embedder("test-embedder", DIM + 1)
    info = store.info()
    assert (info.embedder_id, info.dimension) == ("test-embedder", DIM)


def test_export_iterates_everything_in_scope(store: Store) -> None:
    a, b = episode(), episode(user="u2")
    ra, rb = memory(a, status="deleted"), memory(b)
    put(store, (a, ra, None), (b, rb, None))
    everything = list(store.iter_export(ACCESS, ScopeFilter()))
    assert {type(x).__name__ for x in everything} == {"Episode", "MemoryRecord"}
    assert len(everything) == 4
    only_u1 = list(store.iter_export(ACCESS, ScopeFilter(user_id="u1")))
    assert only_u1 == [a, ra]


def test_stats_count_the_scope(store: Store) -> None:
    a, b = episode(), episode(user="u2")
    put(store, (a, memory(a), None), (b, memory(b, kind="fact"), None))
    stats = store.stats(ACCESS, ScopeFilter())
    assert (stats.episodes, stats.memories, stats.users) == (2, 2, 2)
    assert stats.memories_by_kind == {"note": 1, "fact": 1}
    assert store.stats(ACCESS, ScopeFilter(user_id="u2")).memories == 1


def _rich(
    record: MemoryRecord,
    *,
    claims: tuple[ClaimRow, ...] = (),
    entities: tuple[str, ...] = (),
    time: tuple[datetime, datetime] | None = None,
) -> tuple[MemoryWrite, dict]:
    vector = vec(1.0)
    h = content_hash(record.text)
    write = MemoryWrite(
        record, IndexText(body=analyze(record.text)), h, norm_hash=content_hash(record.text.lower()),
        claims=claims, entity_keys=entities, time_start=time[0] if time else None,
        time_end=time[1] if time else None,
    )  # fmt: skip
    return write, {h: vector}


def test_slot_search_by_slot_or_by_attribute_of_anyone(store: Store) -> None:
    written = []
    for slot, value in (
        ("ana|residence", "Porto"),
        ("team|bo|residence", "Lisbon"),  # a subject holding "|"
        ("ana|employer", "Tidewater"),
    ):
        ep = episode(text=f"{slot} {value}")
        rec = memory(ep, kind="profile")
        write, vs = _rich(rec, claims=(ClaimRow(slot, value, value.lower(), True, True),))
        with store.transaction() as tx:
            tx.insert_episodes([ep])
            tx.put_vectors(vs)
            tx.insert_memories([write])
        written.append(rec.id)
    porto, lisbon, tidewater = written
    assert {m for m, _ in store.slot_search(ACCESS, q(), ["ana|residence"], 10)} == {porto}
    anyone = store.slot_search(ACCESS, q(), [], 10, attributes=["residence"])
    assert {m for m, _ in anyone} == {porto, lisbon}
    both = store.slot_search(ACCESS, q(), ["ana|employer"], 10, attributes=["residence"])
    assert {m for m, _ in both} == {porto, lisbon, tidewater}
    assert store.slot_search(ACCESS, q(), [], 10, attributes=["dence"]) == []
    assert store.slot_search(ACCESS, q(user="u2"), [], 10, attributes=["residence"]) == []


def test_entities_claims_and_links(store: Store) -> None:
    ep = episode(text="Ana lives in Porto")
    rec = memory(ep, kind="profile")
    claim = ClaimRow("ana|residence", "Porto", "porto", True, True)
    write, vs = _rich(rec, claims=(claim,), entities=("ana", "porto"))
    with store.transaction() as tx:
        tx.insert_episodes([ep])
        tx.upsert_entities(
            ACCESS,
            "u1",
            [EntityWrite("ana", "Ana", "person", T0), EntityWrite("porto", "Porto", "place", T0)],
        )
        tx.upsert_entities(ACCESS, "u1", [EntityWrite("ana", "Annie", "person", T0)])
        tx.upsert_entities(
            ACCESS, "u1", [EntityWrite("ana", "Ana", "person", T0, aliases=("bo's sister",))]
        )
        tx.put_vectors(vs)
        tx.insert_memories([write])
        found = tx.claims_for_slots(ACCESS, "u1", [("ana|residence", True)])
        assert [(m.id, c) for m, c in found] == [(rec.id, claim)]
        # Only the polarity asked for: no negative claim on that slot exists.
        assert tx.claims_for_slots(ACCESS, "u1", [("ana|residence", False)]) == []
        assert tx.claims_for_slots(ACCESS, "u1", [("ana|employer", True)]) == []
        assert (
            tx.find_by_norm(ACCESS, "u1", [write.norm_hash or ""])[write.norm_hash or ""].id
            == rec.id
        )
    [ana] = store.find_entities(ACCESS, "u1", ["annie"])
    assert (ana.name, ana.kind, ana.aliases, ana.mentions) == (
        "Ana",
        "person",
        ["Annie", "bo's sister"],
        3,
    )
    assert [e.id for e in store.find_entities(ACCESS, "u1", ["bo's sister"])] == [ana.id]
    assert ana.attributes == {"residence": ["Porto"]}
    [bare] = store.find_entities(ACCESS, "u1", ["ana"], with_attributes=False)
    assert bare.attributes == {}
    assert bare.model_copy(update={"attributes": ana.attributes}) == ana
    assert store.get_entity(ACCESS, ana.id) == ana
    assert store.get_entity(Access("t2"), ana.id) is None
    _page, total = store.list_entities(
        ACCESS, ScopeFilter(user_id="u1"), kind=None, text=None, offset=0, limit=10
    )
    assert total == 2
    assert [
        e.key
        for e in store.list_entities(
            ACCESS, ScopeFilter(), kind="place", text=None, offset=0, limit=10
        )[0]
    ] == ["porto"]
    assert [e.key for e in store.memory_entities(ACCESS, [rec.id])[rec.id]] == ["ana", "porto"]
    assert [m.id for m in store.entity_memories(ACCESS, ana.id, ("active",), 10)] == [rec.id]
    graph = store.entity_graph(ACCESS, q())
    assert sorted(graph.entity_ids) == sorted(
        [ana.id, store.find_entities(ACCESS, "u1", ["porto"])[0].id]
    )
    assert len(graph.edge_memory) == 2


def test_state_updates_and_merges(store: Store) -> None:
    ep, ep2 = episode(text="first"), episode(text="second")
    rec = memory(ep)
    put(store, (ep, rec, None))
    ended = rec.model_copy(
        update={"status": "superseded", "valid_to": T0 + timedelta(days=1), "version": 2}
    )
    with store.transaction() as tx:
        tx.insert_episodes([ep2])
        tx.update_state(ACCESS, ended)
        tx.add_evidence(ACCESS, rec.id, [ep2.id])
        assert [m.id for m in tx.memories_of_episodes(ACCESS, [ep.id])] == [rec.id]
        assert tx.recent_memories(ACCESS, "u1", speaker=None, limit=5) == []
    got = store.get_memories(ACCESS, [rec.id])[0]
    assert (got.status, got.version, got.valid_to, got.episode_ids) == (
        "superseded",
        2,
        ended.valid_to,
        [ep.id, ep2.id],
    )
    assert store.vector_search(ACCESS, q(), vec(1.0), 5) == []


def test_time_search_overlaps_the_window(store: Store) -> None:
    eps = [episode(text=f"event {i}") for i in range(3)]
    spans = [
        (T0, T0 + timedelta(days=1)),
        (T0 + timedelta(days=40), T0 + timedelta(days=41)),
        (T0, T0 + timedelta(days=365)),
    ]
    recs = [memory(e) for e in eps]
    with store.transaction() as tx:
        tx.insert_episodes(eps)
        for r, span in zip(recs, spans, strict=True):
            w, vs = _rich(r, time=span)
            tx.put_vectors(vs)
            tx.insert_memories([w])
    hits = store.time_search(ACCESS, q(), T0, T0 + timedelta(days=2), 10)
    assert [h[0] for h in hits] == [recs[0].id, recs[2].id]
    assert hits[0][1] == pytest.approx(1.0)
    assert hits[1][1] == pytest.approx(2 / 365)


def test_neighbors_notes_and_recent_episodes(store: Store) -> None:
    eps = [
        episode(text=f"turn {i}", session_id="s1", at=T0 + timedelta(minutes=i)) for i in range(5)
    ]
    other = episode(text="other session", session_id="s2", at=T0)
    recs = [memory(e) for e in eps]
    with store.transaction() as tx:
        tx.insert_episodes([*eps, other])
        for r in recs:
            w, vs = write(r)
            tx.put_vectors(vs)
            tx.insert_memories([w])
    around = store.neighbors(ACCESS, [eps[2].id], 2, 1)
    assert [e.text for e in around[eps[2].id]] == ["turn 0", "turn 1", "turn 3"]
    assert [e.text for e in store.neighbors(ACCESS, [eps[0].id], 1, 1)[eps[0].id]] == ["turn 1"]
    assert store.neighbors(Access("t2"), [eps[2].id], 1, 1) == {eps[2].id: []}
    notes = store.episode_notes(ACCESS, [eps[1].id, other.id], ("active",))
    assert list(notes) == [eps[1].id]
    recent = store.recent_episodes(ACCESS, ScopeFilter(user_id="u1", session_id="s1"), 2)
    assert [e.text for e in recent] == ["turn 3", "turn 4"]


def test_vector_search_many_matches_single_searches(store: Store) -> None:
    eps = [episode(text=f"v{i}") for i in range(3)]
    put(store, *[(e, memory(e), vec(1, i)) for i, e in enumerate(eps)])
    queries = np.stack([vec(1, 0), vec(0, 1)])
    many = store.vector_search_many(ACCESS, q(), queries, 2)
    assert many == [
        store.vector_search(ACCESS, q(), queries[0], 2),
        store.vector_search(ACCESS, q(), queries[1], 2),
    ]


def test_speaker_filter(store: Store) -> None:
    a, b = episode(text="tea in the morning"), episode(text="tea at night")
    ra, rb = memory(a, attributes={"speaker": "Ana"}), memory(b, attributes={"speaker": "Bo"})
    put(store, (a, ra, None), (b, rb, None))
    assert [h[0] for h in store.lexical_search(ACCESS, q(speakers=("Bo",)), ["tea"], 5)] == [rb.id]


def test_entity_graph_stays_in_the_neighbourhood_of_its_seeds(store: Store) -> None:
    eps = [episode(text=f"m{i}") for i in range(4)]
    recs = [memory(e) for e in eps]
    links = [("hub", "clara"), ("hub", "sintra"), ("hub", "other"), ("clara", "piano")]
    with store.transaction() as tx:
        tx.insert_episodes(eps)
        tx.upsert_entities(
            ACCESS,
            "u1",
            [EntityWrite(k, k, "thing", T0) for k in ("hub", "clara", "sintra", "other", "piano")],
        )
        for r, keys in zip(recs, links, strict=True):
            w, vs = _rich(r, entities=keys)
            tx.put_vectors(vs)
            tx.insert_memories([w])
    ids = {e.key: e.id for e in store.find_entities(ACCESS, "u1", ["hub", "clara", "piano"])}
    whole = store.entity_graph(ACCESS, q())
    assert len(whole.edge_memory) == 8
    near = store.entity_graph(ACCESS, q(), [ids["piano"]], hops=2)
    reached = {str(near.memory_ids[m]) for m in near.edge_memory}
    assert reached == {recs[3].id, recs[0].id}
    # A scope no larger than whole_below comes whole, with the seeds' nodes marked.
    larger = store.entity_graph(ACCESS, q(), [ids["piano"]], hops=2, whole_below=3)
    assert {str(larger.memory_ids[m]) for m in larger.edge_memory} == reached
    small = store.entity_graph(ACCESS, q(), [ids["piano"], "nowhere"], hops=2, whole_below=4)
    assert {str(small.memory_ids[m]) for m in small.edge_memory} == {r.id for r in recs}
    assert small.seed_nodes is not None
    assert [str(small.entity_ids[n]) for n in small.seed_nodes] == [ids["piano"]]


def test_pending_episodes_queue_in_order_until_taken(open_store: Callable[[], Store]) -> None:
    store = open_store()
    eps = [
        episode(text=f"turn {i}", session_id="s1", at=T0 + timedelta(minutes=i)) for i in range(4)
    ]
    elsewhere = episode(text="another tenant", tenant="t2")
    with store.transaction() as tx:
        tx.insert_episodes(eps[:1])  # derived at once: not queued
        tx.insert_episodes([*eps[1:3], elsewhere], pending=True)
        tx.insert_episodes(eps[3:], pending=True)
    assert store.count_pending() == 4
    # Every tenant's, in the order they came, up to the limit.
    assert [e.text for e in store.pending_episodes(10)] == [
        "turn 1", "turn 2", "another tenant", "turn 3"
    ]  # fmt: skip
    assert [e.text for e in store.pending_episodes(2)] == ["turn 1", "turn 2"]
    # The turns before a queued one, as its context.
    before = store.recent_episodes(ACCESS, ScopeFilter(user_id="u1", session_id="s1"), 4,
                                   before=eps[2].id)  # fmt: skip
    assert [e.text for e in before] == ["turn 0", "turn 1"]
    # Taking is all or what is left: another store on the file sees what one took.
    with store.transaction() as tx:
        assert tx.take_pending([eps[1].id, eps[2].id]) == 2
    other = open_store()
    with other.transaction() as tx:
        assert tx.take_pending([eps[1].id, eps[3].id]) == 1
    assert [e.text for e in store.pending_episodes(10)] == ["another tenant"]
    # A failed transaction leaves the queue as it was.
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.take_pending([elsewhere.id])
        raise RuntimeError("boom")
    assert store.count_pending() == 1
    # Erasing the episode's scope takes it off the queue.
    with store.transaction() as tx:
        tx.erase(Access("t2"), ScopeFilter(user_id="u1"))
    assert store.count_pending() == 0
