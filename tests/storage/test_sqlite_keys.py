"""The API-key table arrives by a recorded migration on stores written before it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mnemos import Memory
from mnemos.storage.migrations import LATEST_VERSION, MIGRATIONS


def test_a_store_from_before_api_keys_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Memory(path, embedder="hash") as mem:
        mem.add("kept across the migration", user_id="ana")
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DROP TABLE api_keys")
        conn.execute("DROP TABLE entity_aliases")
        conn.execute("DROP INDEX episodes_session")
        conn.execute("DROP INDEX episodes_recent")
        conn.execute("DROP TABLE pending_episodes")
        conn.execute("DELETE FROM mnemos_migrations WHERE version > 2")
        conn.execute("UPDATE mnemos_meta SET value = '2' WHERE key = 'schema_version'")
    conn.close()
    with Memory(path, embedder="hash") as mem:
        issued = mem.keys.create(user_ids=["ana"])
        assert mem.keys.authenticate(issued.token).user_ids == ["ana"]
        assert [m.text for m in mem.get_all(user_id="ana").items][-1] == "kept across the migration"
        assert mem.stats().schema_version == LATEST_VERSION
    conn = sqlite3.connect(path)
    names = [n for (n,) in conn.execute("SELECT name FROM mnemos_migrations ORDER BY version")]
    indexes = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    conn.close()
    assert {"episodes_session", "episodes_recent"} <= indexes
    assert "api keys" in names
    assert len(names) == len(MIGRATIONS)
