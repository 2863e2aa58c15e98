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

_KNOWLEDGE = """
ALTER TABLE memories ADD COLUMN norm_hash TEXT;
ALTER TABLE memories ADD COLUMN time_start TEXT;
ALTER TABLE memories ADD COLUMN time_end TEXT;
ALTER TABLE memories ADD COLUMN primary_episode INTEGER;
CREATE INDEX memories_norm ON memories (tenant, user_id, norm_hash);
CREATE INDEX memories_time ON memories (tenant, user_id, time_start);
CREATE INDEX memories_primary ON memories (primary_episode);

CREATE TABLE claims (
    memory_rid INTEGER NOT NULL REFERENCES memories (rid) ON DELETE CASCADE,
    tenant TEXT NOT NULL,
    user_id TEXT NOT NULL,
    slot TEXT NOT NULL,
    value TEXT NOT NULL,
    value_key TEXT NOT NULL,
    single INTEGER NOT NULL,
    positive INTEGER NOT NULL,
    PRIMARY KEY (memory_rid, slot, value_key)
) WITHOUT ROWID;
CREATE INDEX claims_slot ON claims (tenant, user_id, slot);

CREATE TABLE entities (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    aliases TEXT NOT NULL,
    mentions INTEGER NOT NULL,
    first_seen TEXT,
    last_seen TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant, user_id, key)
);

CREATE TABLE memory_entities (
    memory_rid INTEGER NOT NULL REFERENCES memories (rid) ON DELETE CASCADE,
    entity_rid INTEGER NOT NULL REFERENCES entities (rid) ON DELETE CASCADE,
    PRIMARY KEY (memory_rid, entity_rid)
) WITHOUT ROWID;
CREATE INDEX memory_entities_entity ON memory_entities (entity_rid);

DROP TABLE memory_fts;
CREATE VIRTUAL TABLE memory_fts USING fts5 (
    scope, body, turn, ctx, keys, tokenize = 'unicode61 remove_diacritics 2'
)
"""


def _knowledge(conn: sqlite3.Connection) -> None:
    """Add claims, entities, event times and the multi-column full-text index, and
    reindex existing memories into it (their text as body, speaker and keys as keys)."""
    import json

    from mnemos.engine.text import analyze

    _script(_KNOWLEDGE)(conn)
    rows = conn.execute("SELECT rid, tenant, user_id, text, attributes FROM memories").fetchall()
    from mnemos.storage.sqlite import scope_token

    for rid, tenant, user_id, text, attributes in rows:
        attrs = json.loads(attributes)
        keys = [
            attrs.get("speaker") or "",
            *[k for k in attrs.get("keys", []) if isinstance(k, str)],
        ]
        conn.execute(
            "INSERT INTO memory_fts (rowid, scope, body, turn, ctx, keys) VALUES (?,?,?,?,?,?)",
            (
                rid,
                scope_token(tenant, user_id),
                " ".join(analyze(text)),
                "",
                "",
                " ".join(analyze(" ".join(keys))),
            ),
        )
    conn.execute(
        "UPDATE memories SET primary_episode = (SELECT min(episode_rid) FROM memory_evidence"
        " WHERE memory_rid = memories.rid)"
    )


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

_ALIASES = """
CREATE TABLE entity_aliases (
    tenant TEXT NOT NULL,
    user_id TEXT NOT NULL,
    alias TEXT NOT NULL,
    entity_rid INTEGER NOT NULL REFERENCES entities (rid) ON DELETE CASCADE,
    PRIMARY KEY (tenant, user_id, alias, entity_rid)
) WITHOUT ROWID;
CREATE INDEX entity_aliases_entity ON entity_aliases (entity_rid);
INSERT OR IGNORE INTO entity_aliases (tenant, user_id, alias, entity_rid)
    SELECT e.tenant, e.user_id, lower(j.value), e.rid FROM entities e, json_each(e.aliases) j
"""

_SESSION_INDEX = """
CREATE INDEX episodes_session ON episodes (tenant, user_id, session_id, agent_id, occurred_at, rid)
"""

# A WITHOUT ROWID table keeps at most about a quarter of a page in a row, so every vector
# (1 KiB at 256 dimensions) went to an overflow page of its own: four times the space.
# In a rowid table a vector fits in its row; the hash stays unique through an index.
_VECTORS_BY_ROWID = """
CREATE TABLE vectors_by_rowid (
    rid INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    vec BLOB NOT NULL
);
INSERT INTO vectors_by_rowid (hash, vec) SELECT hash, vec FROM vectors;
DROP TABLE vectors;
ALTER TABLE vectors_by_rowid RENAME TO vectors
"""

# The last turns of a session (what a new message follows) without walking the user's
# every turn: the scope index orders by time but not by session, so a session with no turn
# yet read them all, and the session index puts the agent before the time.
_RECENT_INDEX = """
CREATE INDEX episodes_recent ON episodes (tenant, user_id, session_id, occurred_at, rid)
"""

# Episodes stored by ``add(wait=False)`` whose memories are not derived yet, in the order
# they came; a row goes with its episode (erase) and when its memories are written.
_PENDING = """
CREATE TABLE pending_episodes (
    episode_rid INTEGER PRIMARY KEY REFERENCES episodes (rid) ON DELETE CASCADE
)
"""

# A message's question (the turn before it, when that asks something: a "?" in it) moves
# from the ``ctx`` field to the ``turn`` field, which search weighs more; what "Three times
# a week" is about is in "How often do you all work out?".
_QUESTIONS = """
UPDATE memory_fts SET turn = ctx, ctx = ''
WHERE ctx != '' AND rowid IN (
    SELECT m.rid FROM memories m JOIN (
        SELECT rid, lag(text) OVER (
            PARTITION BY tenant, user_id, agent_id, session_id ORDER BY occurred_at, rid
        ) AS before
        FROM episodes
    ) e ON e.rid = m.primary_episode
    WHERE m.kind = 'note' AND instr(e.before, '?') > 0
)
"""


MIGRATIONS: list[Migration] = [
    Migration(
        1, "initial schema: episodes, memories, evidence, history, vectors, fts", _script(_INITIAL)
    ),
    Migration(
        2, "knowledge: claims, entities, event times, multi-column full-text index", _knowledge
    ),
    Migration(3, "api keys", _script(_API_KEYS)),
    Migration(
        4,
        "entity aliases: an index for looking entities up by any of their names",
        _script(_ALIASES),
    ),
    Migration(
        5,
        "episodes by session: an index for the turns around a recalled one",
        _script(_SESSION_INDEX),
    ),
    Migration(
        6,
        "vectors in a rowid table: each vector in its row instead of an overflow page",
        _script(_VECTORS_BY_ROWID),
    ),
    Migration(
        7,
        "recent turns of a session: an index by session and time",
        _script(_RECENT_INDEX),
    ),
    Migration(
        8,
        "pending episodes: turns stored without waiting, whose memories are derived later",
        _script(_PENDING),
    ),
    Migration(
        9,
        "the question a message answers: indexed in the turn field instead of the context",
        _script(_QUESTIONS),
    ),
]
LATEST_VERSION = MIGRATIONS[-1].version
