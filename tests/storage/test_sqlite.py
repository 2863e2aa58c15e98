"""What is particular to the SQLite store: the file, its schema, and concurrent writers."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mnemos import Memory
from mnemos.embedders import create_embedder
from mnemos.engine.text import analyze
from mnemos.errors import InvalidInputError
from mnemos.storage.base import IndexText, MemoryWrite
from mnemos.storage.migrations import LATEST_VERSION, MIGRATIONS
from mnemos.storage.sqlite import SQLiteStore
from tests.storage.test_contract import ACCESS, episode, memory, q, write


def test_a_new_store_records_schema_embedder_and_migrations(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Memory(path, embedder="hash").close()
    conn = sqlite3.connect(path)
    meta = dict(conn.execute("SELECT key, value FROM mnemos_meta"))
    applied = conn.execute(
        "SELECT version, name FROM mnemos_migrations ORDER BY version"
    ).fetchall()
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    conn.close()
    assert meta["format"] == "mnemos"
    assert int(meta["schema_version"]) == LATEST_VERSION
    assert (meta["embedder"], meta["dimension"]) == ("hash-v1-64", "64")
    assert applied == [(m.version, m.name) for m in MIGRATIONS]
    assert journal == "wal"


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    for _ in range(3):
        with Memory(path, embedder="hash") as mem:
            mem.add("again", user_id="u")
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM mnemos_migrations").fetchone()[0] == len(MIGRATIONS)
    conn.close()
    with Memory(path, embedder="hash") as mem:
        assert mem.stats().episodes == 3


def test_default_path_is_under_the_data_dir(tmp_path: Path) -> None:
    with Memory(embedder="hash") as mem:
        assert mem.settings.store_path == tmp_path / "data" / "mnemos.db"
        mem.add("x", user_id="u")
    assert (tmp_path / "data" / "mnemos.db").is_file()


def test_store_info_and_close(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store.bind_embedder("e", 4)
    info = store.info()
    assert (info.schema_version, info.embedder_id, info.dimension) == (LATEST_VERSION, "e", 4)
    store.close()
    store.close()


def _writer(path: str, worker: int, count: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    try:
        with Memory(path, embedder="hash", busy_timeout_s=60) as mem:
            for i in range(count):
                mem.add(
                    [{"role": "user", "content": f"worker {worker} message {i}"}],
                    user_id="shared",
                    session_id=f"w{worker}",
                )
                mem.search(f"message {i}", user_id="shared")
        queue.put((worker, "ok"))
    except Exception as exc:  # report any failure, "database is locked" included
        queue.put((worker, f"{type(exc).__name__}: {exc}"))


def test_two_processes_writing_one_file_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    Memory(path, embedder="hash").close()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    count = 150
    procs = [ctx.Process(target=_writer, args=(path, w, count, queue)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    results = sorted(queue.get(timeout=5) for _ in procs)
    assert results == [(0, "ok"), (1, "ok")]
    with Memory(path, embedder="hash") as mem:
        assert mem.stats().episodes == 2 * count
        texts = {e.text for e in mem.episodes.list(user_id="shared", limit=1000).items}
        assert texts == {f"worker {w} message {i}" for w in range(2) for i in range(count)}
        for w in range(2):
            hits = mem.search(f"worker {w} message 7", user_id="shared", session_id=f"w{w}").hits
            assert hits[0].text == f"worker {w} message 7"


@pytest.mark.parametrize("threads", [8])
def test_threads_share_one_memory(tmp_path: Path, threads: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with Memory(tmp_path / "t.db", embedder="hash") as mem:

        def work(n: int) -> int:
            for i in range(25):
                mem.add(f"thread {n} note {i}", user_id="u")
                mem.search(f"note {i}", user_id="u")
            return n

        with ThreadPoolExecutor(threads) as pool:
            assert sorted(pool.map(work, range(threads))) == list(range(threads))
        assert mem.stats().episodes == threads * 25


def test_a_version_1_store_migrates_forward_keeping_everything(tmp_path: Path) -> None:
    """Build a store at schema 1 with the first migration only, then open it normally."""
    import json

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE mnemos_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute(
        "CREATE TABLE mnemos_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    conn.execute("BEGIN")
    MIGRATIONS[0].apply(conn)
    conn.executemany(
        "INSERT INTO mnemos_meta VALUES (?, ?)",
        [("format", "mnemos"), ("schema_version", "1"), ("created_at", "2024-01-01T00:00:00.000000Z"),
         ("change_seq", "1"), ("epoch", "0"), ("embedder", "hash-v1-64"), ("dimension", "64")],
    )  # fmt: skip
    conn.execute(
        "INSERT INTO mnemos_migrations VALUES (1, 'initial', '2024-01-01T00:00:00.000000Z')"
    )
    stamp = "2024-01-01T00:00:00.000000Z"
    conn.execute(
        "INSERT INTO episodes (id, tenant, user_id, role, name, text, occurred_at, recorded_at, metadata)"
        " VALUES (?, 'default', 'u', 'user', 'Ana', 'I adore gooseberry jam', ?, ?, '{}')",
        ("ep-1", stamp, stamp),
    )
    conn.execute(
        "INSERT INTO memories (id, tenant, user_id, kind, text, occurred_at, valid_from, created_at,"
        " updated_at, status, version, metadata, attributes, embed_hash, change_seq)"
        " VALUES ('m-1', 'default', 'u', 'note', 'I adore gooseberry jam', ?, ?, ?, ?, 'active', 1, '{}', ?, 'h-1', 1)",
        (stamp, stamp, stamp, stamp, json.dumps({"speaker": "Ana"})),
    )
    # The vector as the hash embedder makes it, in version 1's WITHOUT ROWID table.
    vector = create_embedder("hash", dimension=64).embed(["I adore gooseberry jam"])[0]
    conn.execute("INSERT INTO vectors VALUES ('h-1', ?)", (vector.astype("float32").tobytes(),))
    conn.execute("INSERT INTO memory_evidence VALUES (1, 1)")
    conn.execute(
        "INSERT INTO memory_fts (rowid, scope, terms) VALUES (1, 'x', 'ador gooseberri jam')"
    )
    conn.execute("COMMIT")
    conn.close()
    with Memory(path, embedder="hash") as mem:
        assert mem.stats().schema_version == LATEST_VERSION
        assert mem.get("m-1").text == "I adore gooseberry jam"
        assert mem.episodes.get("ep-1").name == "Ana"
        hits = mem.search("gooseberry", user_id="u").hits
        assert [h.id for h in hits] == ["m-1"]
        assert hits[0].ranks.get("vector") == 1  # its vector came through the migration
        assert mem.add("I adore rhubarb too", user_id="u").episodes
    conn = sqlite3.connect(path)
    applied = [r[0] for r in conn.execute("SELECT version FROM mnemos_migrations ORDER BY version")]
    table = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'vectors'").fetchone()[0]
    stored = conn.execute("SELECT vec FROM vectors WHERE hash = 'h-1'").fetchone()[0]
    conn.close()
    assert applied == [m.version for m in MIGRATIONS]
    assert "WITHOUT ROWID" not in table  # a vector fits in its row, not an overflow page
    assert stored == vector.astype("float32").tobytes()


def test_a_version_8_store_moves_the_questions_replies_answer_to_the_turn_field(
    tmp_path: Path,
) -> None:
    """Version 8 indexed the turn before every message as its context; version 9 moves
    the ones that ask something to the turn field."""
    path = tmp_path / "v8.db"
    turns = [
        ("Bo", "We went rock climbing."),
        ("Ana", "Sounds fun."),
        ("Bo", "How often do you climb?"),
        ("Ana", "Most weekends."),
    ]
    with Memory(path, embedder="hash") as mem:
        for who, text in turns:
            mem.add([{"role": "user", "name": who, "content": text}], user_id="u", session_id="s")

    def fields() -> dict[str, tuple[str, str]]:
        conn = sqlite3.connect(path)
        rows = conn.execute(
            "SELECT m.text, f.turn, f.ctx FROM memory_fts f JOIN memories m ON m.rid = f.rowid"
            " WHERE m.kind = 'note'"
        ).fetchall()
        conn.close()
        return {text: (turn, ctx) for text, turn, ctx in rows}

    now = fields()
    assert now["Most weekends."] == ("often climb", "")
    assert now["Sounds fun."] == ("", "went rock climb")
    # Back to version 8: every turn before a message in the context field.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE memory_fts SET ctx = ctx || turn, turn = ''")
    conn.execute("DELETE FROM mnemos_migrations WHERE version = 9")
    conn.execute("UPDATE mnemos_meta SET value = '8' WHERE key = 'schema_version'")
    conn.close()
    assert fields()["Most weekends."] == ("", "often climb")
    with Memory(path, embedder="hash") as mem:
        assert mem.stats().schema_version == LATEST_VERSION
    assert fields() == now


def test_lexical_search_scores_rare_terms_everywhere_and_common_ones_recently(
    tmp_path: Path,
) -> None:
    """The bounded lexical path: rare terms reach every memory of the scope, however old;
    common terms are scored over the most recent memories that hold them; memories without
    a vector are found; other scopes never leak in."""
    store = SQLiteStore(tmp_path / "s.db", lexical_exact_postings=3, lexical_recent=4)
    store.bind_embedder("test-embedder", 8)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    oldest = episode(text="coffee in Zanzibar", at=t0)
    others = [episode(text=f"coffee number {i}", at=t0 + timedelta(days=i + 1)) for i in range(9)]
    vectorless = episode(text="a quiet coffee", at=t0 + timedelta(days=20))
    elsewhere = episode(user="u2", text="Zanzibar coffee", at=t0 + timedelta(days=30))
    recs = {e.id: memory(e) for e in (oldest, *others, vectorless, elsewhere)}
    with store.transaction() as tx:
        tx.insert_episodes([oldest, *others, vectorless, elsewhere])
        for e in (oldest, *others, elsewhere):
            w, vs = write(recs[e.id])
            tx.put_vectors(vs)
            tx.insert_memories([w])
        bare = recs[vectorless.id]
        tx.insert_memories([MemoryWrite(bare, IndexText(body=analyze(bare.text)), None)])
    try:
        hits = store.lexical_search(ACCESS, q(), analyze("coffee in Zanzibar"), 10)
        ids = [h[0] for h in hits]
        assert ids[0] == recs[oldest.id].id  # rare term: found though it is the oldest
        assert recs[elsewhere.id].id not in ids
        common = [h[0] for h in store.lexical_search(ACCESS, q(), analyze("coffee"), 10)]
        newest = [recs[e.id].id for e in (vectorless, *others[::-1])][:4]
        assert set(common) == set(newest)  # the four most recent of u1's eleven
        assert recs[vectorless.id].id in common
        # Other users' memories hold the rare term too, yet only u1's are returned.
        u2 = store.lexical_search(ACCESS, q(user="u2"), analyze("Zanzibar"), 10)
        assert [h[0] for h in u2] == [recs[elsewhere.id].id]
    finally:
        store.close()


def test_common_terms_of_a_small_scope_stay_within_it(tmp_path: Path) -> None:
    """A scope holding most of the store reads the store's most recent matches of its
    common terms unscoped; a small scope must still reach its own, older memories."""
    store = SQLiteStore(tmp_path / "s.db", lexical_exact_postings=3, lexical_recent=4)
    store.bind_embedder("test-embedder", 8)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    small = episode(user="u2", text="coffee with Ana", at=t0)
    big = [episode(text=f"coffee number {i}", at=t0 + timedelta(days=i + 1)) for i in range(9)]
    recs = {e.id: memory(e) for e in (small, *big)}
    with store.transaction() as tx:
        tx.insert_episodes([small, *big])
        for e in (small, *big):
            w, vs = write(recs[e.id])
            tx.put_vectors(vs)
            tx.insert_memories([w])
    try:
        for _ in range(2):  # the second time with both partitions loaded
            u1 = [h[0] for h in store.lexical_search(ACCESS, q(), analyze("coffee"), 10)]
            # The four most recent, and (unscoped, reading 4 x 10 / 9 rows) one more.
            assert {recs[e.id].id for e in big[-4:]} <= set(u1)
            assert set(u1) <= {recs[e.id].id for e in big[-5:]}
            u2 = store.lexical_search(ACCESS, q(user="u2"), analyze("coffee"), 10)
            assert [h[0] for h in u2] == [recs[small.id].id]
    finally:
        store.close()


def _coffee_store(path: Path, users: int) -> SQLiteStore:
    """Ten memories per user, each holding "coffee" and "tea"."""
    store = SQLiteStore(path)
    store.bind_embedder("test-embedder", 8)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    eps = [
        episode(user=f"u{i % users}", text=f"coffee and tea {i}", at=t0 + timedelta(days=i))
        for i in range(10 * users)
    ]
    with store.transaction() as tx:
        tx.insert_episodes(eps)
        for e in eps:
            w, vs = write(memory(e))
            tx.put_vectors(vs)
            tx.insert_memories([w])
    return store


def test_the_scope_phrase_is_used_where_it_spares_other_scopes_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small scope among many is searched with its scope phrase, and the one scope of a
    store without it; the phrase changes what is read, never the scores."""
    import mnemos.storage.sqlite as sqlite_module

    terms = analyze("coffee tea")
    statements: list[str] = []

    def search(store: SQLiteStore, user: str = "u1") -> list[tuple[str, float]]:
        statements.clear()
        store._reader().set_trace_callback(statements.append)
        try:
            return store.lexical_search(ACCESS, q(user=user), terms, 20)
        finally:
            store._reader().set_trace_callback(None)

    def phrased() -> bool:
        return any("bm25" in s and "scope :" in s for s in statements)

    many = _coffee_store(tmp_path / "many.db", users=8)
    try:
        search(many)  # loads the partition: its size is known from here on
        found = search(many)
        assert len(found) == 10
        assert phrased()  # 10 of 80 memories: the other 70 matches are spared
        # Without the phrase (reading the scope's list priced above any match it spares),
        # the same memories with the same scores.
        monkeypatch.setattr(sqlite_module, "_SCOPE_POSTING_COST", float("inf"))
        assert search(many) == found
        assert not phrased()
    finally:
        many.close()
    alone = _coffee_store(tmp_path / "alone.db", users=1)
    try:
        # However cheap reading the scope's list, it would spare nothing: the scope is
        # the whole store.
        monkeypatch.setattr(sqlite_module, "_SCOPE_POSTING_COST", 0.0)
        search(alone, "u0")
        assert len(search(alone, "u0")) == 10
        assert not phrased()
    finally:
        alone.close()


def test_planner_statistics_are_taken_as_the_store_grows(tmp_path: Path) -> None:
    """Without statistics SQLite guesses how selective an index is, and at scale guessed
    badly; a store that grows gets them without being closed or analysed by hand."""
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    store.bind_embedder("test-embedder", 8)

    def stats() -> list[str]:
        conn = sqlite3.connect(path)
        try:
            return [
                r[0] for r in conn.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'memories'")
            ]
        except sqlite3.OperationalError:  # no statistics table yet
            return []
        finally:
            conn.close()

    def grow(n: int) -> None:
        eps = [episode(text=f"note number {i}") for i in range(n)]
        with store.transaction() as tx:
            tx.insert_episodes(eps)
            tx.insert_memories([write(memory(e))[0] for e in eps])

    try:
        grow(600)
        assert stats() == []
        grow(600)  # 1,200 written: the first statistics
        first = stats()
        assert first
        grow(600)  # fewer than were analysed: not yet again
        assert stats() == first
        grow(700)  # 1,300 since: taken again (sampled, so compared, not counted)
        assert stats()
        assert stats() != first
    finally:
        store.close()


def _wal_frames(path: Path) -> int:
    """Frames in the store's write-ahead log since it last restarted (as a checkpoint
    reports them)."""
    conn = sqlite3.connect(path)
    try:
        _, logged, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(logged)
    finally:
        conn.close()


def _grow(store: SQLiteStore, n: int, tag: str) -> None:
    eps = [episode(text=f"message {tag} {i} about the harbour and a long walk") for i in range(n)]
    with store.transaction() as tx:
        tx.insert_episodes(eps)
        tx.insert_memories([write(memory(e))[0] for e in eps])


def test_checkpoints_run_off_the_writer(tmp_path: Path) -> None:
    """Small writes never reach the writer's own checkpoint (at 4,000 pages), yet the
    database file fills: a thread of the store copies the log."""
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    store.bind_embedder("test-embedder", 8)
    try:
        assert store._writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 4000
        before = path.stat().st_size
        for i in range(100):
            _grow(store, 10, str(i))
        store._checkpointer.stop()  # wait for a checkpoint in flight
        assert store._checkpointer.checkpoints >= 2
        assert not store._checkpointer.failed
        assert path.stat().st_size > before + 100 * 4096
        # Nothing reached the writer's threshold, so the thread did the copying.
        assert _wal_frames(path) < 4000
    finally:
        store.close()


def test_the_log_stays_bounded_under_large_and_steady_writes(tmp_path: Path) -> None:
    """Writes larger than the writer's threshold (here 4 x 50 pages) between runs of small
    ones: the log's file grows no more than with SQLite checkpointing in the writer."""

    def wal_after_rounds(store: SQLiteStore, wal: Path) -> int:
        store.bind_embedder("test-embedder", 8)
        for round_ in range(8):
            _grow(store, 1500, f"big {round_}")
            for i in range(60):
                _grow(store, 1, f"small {round_} {i}")
        size = wal.stat().st_size
        store.close()
        return size

    ours = wal_after_rounds(
        SQLiteStore(tmp_path / "a.db", checkpoint_pages=50), tmp_path / "a.db-wal"
    )
    plain = SQLiteStore(tmp_path / "b.db", checkpoint_pages=50)
    plain._checkpointer.stop()
    plain._writer.execute("PRAGMA wal_autocheckpoint = 50")
    sqlite_own = wal_after_rounds(plain, tmp_path / "b.db-wal")
    assert ours > 4 * 50 * 4096  # the large writes did pass the writer's threshold
    assert ours < 1.5 * sqlite_own


def test_a_failed_checkpointer_hands_checkpoints_back_to_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    try:
        store._checkpointer.stop()
        store._checkpointer._fail()
        assert store._writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    finally:
        store.close()


def test_partitions_catch_up_only_when_the_store_changed(tmp_path: Path) -> None:
    """A search reads what another process wrote, and asks for nothing when no one wrote."""
    path = tmp_path / "s.db"
    with Memory(path, embedder="hash") as a, Memory(path, embedder="hash") as b:
        store = a._engine_.store
        loads: list[int] = []
        load = store._load_partition

        def counting(tenant: str, user_id: str, since: int):  # type: ignore[no-untyped-def]
            loads.append(since)
            return load(tenant, user_id, since)

        store._load_partition = counting  # type: ignore[method-assign]
        a.add("I keep bees in the garden", user_id="u")
        assert a.search("bees", user_id="u").hits
        calls = len(loads)
        assert calls > 0
        a.search("bees in the garden", user_id="u")
        assert len(loads) == calls  # nothing written since: no catch-up query
        b.add("I adopted a greyhound named Pixel", user_id="u")
        hits = a.search("greyhound Pixel", user_id="u").hits
        assert len(loads) > calls
        assert any("Pixel" in h.text for h in hits)


def test_a_query_of_thousands_of_distinct_words_is_searched(tmp_path: Path) -> None:
    """Term counts are batched into few statements, within SQLite's 2,000-column limit."""
    from itertools import product

    from mnemos.engine.text import analyze

    words = ["".join(w) for w in product("bcdfghjklmnpqrstvwxz", repeat=3)][:2400]
    query = " ".join([*words, "bees"])
    assert len(query) <= 10_000
    assert len(set(analyze(query))) > 2000
    with Memory(tmp_path / "s.db", embedder="hash") as mem:
        mem.add("I keep bees in the garden", user_id="u")
        hits = mem.search(query, user_id="u").hits
    assert [h.text for h in hits] == ["I keep bees in the garden"]


def test_a_store_dropped_without_close_stops_its_checkpoint_thread(tmp_path: Path) -> None:
    import gc

    store = SQLiteStore(tmp_path / "s.db")
    thread = store._checkpointer._thread
    assert thread.is_alive()
    del store
    gc.collect()
    thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.mark.parametrize("pages", [0, -5, 2.5, "1000", True])
def test_a_bad_checkpoint_threshold_is_refused_before_the_store_is_touched(
    tmp_path: Path, pages: object
) -> None:
    path = tmp_path / "never.db"
    with pytest.raises(InvalidInputError, match="checkpoint_pages"):
        SQLiteStore(path, checkpoint_pages=pages)  # type: ignore[arg-type]
    assert not path.exists()
