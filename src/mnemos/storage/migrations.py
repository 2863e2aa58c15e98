"""Named, recorded schema migrations for the SQLite store.

Each migration runs inside the transaction that opens the store, so a store is always at a
recorded version: applied migrations are listed in ``mnemos_migrations`` and the current
version is ``mnemos_meta.schema_version``. Add a migration by appending to ``MIGRATIONS``;
never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LATEST_VERSION", "MIGRATIONS", "Migration"]


@dataclass(frozen=True)
class Migration:
    """One schema change: a version number, a name, and the function that applies it."""

    version: int
    name: str
    apply: Callable[[sqlite3.Connection], None]


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    statements = [s.strip() for s in sql.split(";") if s.strip()]

    def run(conn: sqlite3.Connection) -> None:
        # executescript would commit the surrounding transaction; run statement by statement.
        for statement in statements:
            conn.execute(statement)

    return run


_INITIAL = """
CREATE TABLE episodes (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    user_id TEXT NOT NULL,
    agent_id TEXT,
    session_id TEXT,
    role TEXT NOT NULL,
    name TEXT,
    text TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    metadata TEXT NOT NULL
);
CREATE INDEX episodes_scope ON episodes (tenant, user_id, occurred_at, rid);

CREATE TABLE memories (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    user_id TEXT NOT NULL,
    agent_id TEXT,
    session_id TEXT,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    occurred_at TEXT,
    valid_from TEXT,
    valid_to TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    expired_at TEXT,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    superseded_by TEXT,
    metadata TEXT NOT NULL,
    attributes TEXT NOT NULL,
    embed_hash TEXT,
    change_seq INTEGER NOT NULL
);
CREATE INDEX memories_scope ON memories (tenant, user_id, status, created_at);
CREATE INDEX memories_changes ON memories (tenant, user_id, change_seq);
CREATE INDEX memories_embed ON memories (embed_hash);

CREATE TABLE memory_evidence (
    memory_rid INTEGER NOT NULL REFERENCES memories (rid) ON DELETE CASCADE,
    episode_rid INTEGER NOT NULL REFERENCES episodes (rid) ON DELETE CASCADE,
    PRIMARY KEY (memory_rid, episode_rid)
) WITHOUT ROWID;
CREATE INDEX evidence_episode ON memory_evidence (episode_rid);

CREATE TABLE memory_history (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    memory_id TEXT NOT NULL,
    tenant TEXT NOT NULL,
    user_id TEXT NOT NULL,
    event TEXT NOT NULL,
    version INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor TEXT,
    reason TEXT,
    before TEXT,
    after TEXT
);
CREATE INDEX history_memory ON memory_history (memory_id, rid);
CREATE INDEX history_scope ON memory_history (tenant, user_id);

CREATE TABLE vectors (hash TEXT PRIMARY KEY, vec BLOB NOT NULL) WITHOUT ROWID;

CREATE VIRTUAL TABLE memory_fts USING fts5 (
    scope, terms, tokenize = 'unicode61 remove_diacritics 2'
)
"""

# Version 3, not 2: version 2 (entities) is being written on another line of work, and the
# numbers record the order migrations are applied in once both are in.
_API_KEYS = """
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    name TEXT,
    user_ids TEXT,
    token_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX api_keys_tenant ON api_keys (tenant, created_at)
"""

MIGRATIONS: list[Migration] = [
    Migration(
        1, "initial schema: episodes, memories, evidence, history, vectors, fts", _script(_INITIAL)
    ),
    Migration(3, "api keys", _script(_API_KEYS)),
]
LATEST_VERSION = MIGRATIONS[-1].version
