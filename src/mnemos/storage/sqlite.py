"""The default store: one SQLite file, WAL, FTS5 for BM25, vectors in the file.

Concurrency is explicit. One writer connection per process, serialised by a lock, opens
every write with ``BEGIN IMMEDIATE`` (so a second process waits on SQLite's busy handler
instead of failing mid-transaction); readers use their own WAL connections, one per thread,
and never block the writer. ``secure_delete`` is on, so erased rows do not linger in free
pages, and ``erase`` checkpoints the WAL afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from mnemos._ids import new_id
from mnemos._time import from_db, now, to_db
from mnemos.errors import (
    ClosedError,
    ConflictError,
    EmbedderMismatchError,
    InvalidInputError,
    MnemosError,
    NotAStoreError,
    SchemaVersionError,
    StoreBusyError,
    StoreError,
    StorePathError,
)
from mnemos.keys import ApiKey
from mnemos.models import (
    Entity,
    Episode,
    EraseResult,
    HistoryEvent,
    MemoryRecord,
    StoreStats,
    trusted,
)
from mnemos.storage.base import (
    Access,
    ClaimRow,
    Condition,
    EntityWrite,
    IndexText,
    MemoryQuery,
    MemoryWrite,
    ScopeFilter,
    StoreInfo,
    Vector,
)
from mnemos.storage.migrations import LATEST_VERSION, MIGRATIONS
from mnemos.storage.vector_index import GraphView, PartitionRow, VectorCache

__all__ = ["SQLiteStore", "scope_token"]

_SQLITE_MAGIC = b"SQLite format 3\x00"
_CHUNK = 900  # stay far below SQLite's bound-parameter limit
# Lexical search: postings scored exactly (rarer terms first), and how many of the most
# recent memories holding the remaining, common terms are scored.
LEXICAL_EXACT_POSTINGS = 8_000
LEXICAL_RECENT = 2_000
# Reading one posting of a scope's phrase costs a small share of scoring one matched row
# with BM25 (a thirtieth to a twentieth, measured on a store of ten scopes).
_SCOPE_POSTING_COST = 1 / 16
_PARTITION_BATCH = 10_000  # rows per batch when a scope's partition loads
# Planner statistics: first taken once this many memories are written, and sampled from
# at most about this many rows of each index.
_ANALYSIS_MIN_ROWS = 1_000
_ANALYSIS_LIMIT = 1_000
_CHECKPOINT_PAGES = 1_000  # WAL pages that make a checkpoint due (SQLite's own default)
T = TypeVar("T")
log = logging.getLogger("mnemos.storage")

_MEMORY_COLUMNS = (
    "rid, id, tenant, user_id, agent_id, session_id, kind, text, occurred_at, valid_from, "
    "valid_to, created_at, updated_at, expired_at, status, version, superseded_by, metadata, "
    "attributes"
)
_EPISODE_COLUMNS = (
    "rid, id, tenant, user_id, agent_id, session_id, role, name, text, occurred_at, "
    "recorded_at, metadata"
)
_HISTORY_COLUMNS = "id, memory_id, event, version, at, actor, reason, before, after"
_ENTITY_COLUMNS = (
    "rid, id, tenant, user_id, key, name, kind, aliases, mentions, first_seen, last_seen"
)
_ENTITY_COLUMNS_E = ", ".join("e." + c.strip() for c in _ENTITY_COLUMNS.split(","))
_MEMORY_COLUMNS_M = ", ".join("m." + c.strip() for c in _MEMORY_COLUMNS.split(","))
_EPISODE_COLUMNS_E = ", ".join("e." + c.strip() for c in _EPISODE_COLUMNS.split(","))
_HISTORY_COLUMNS_H = ", ".join("h." + c.strip() for c in _HISTORY_COLUMNS.split(","))


def scope_token(tenant: str, user_id: str) -> str:
    """The token that tags a memory's full-text row with its (tenant, user) scope."""
    digest = hashlib.blake2b(f"{tenant}\x00{user_id}".encode(), digest_size=10).hexdigest()
    return f"s{digest}"


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _translate(exc: sqlite3.Error, path: str) -> MnemosError:
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return StoreBusyError(f"the store {path} stayed locked by another writer: {text}")
    if "not a database" in lowered or "malformed" in lowered:
        return NotAStoreError(f"{path} is not a mnemos store (SQLite says: {text})", path=path)
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        return StorePathError(f"cannot write the store {path}: {text}", path=path)
    if "disk i/o" in lowered or "full" in lowered:
        return StorePathError(f"cannot write the store {path}: {text}", path=path)
    if "unique constraint" in lowered:
        return ConflictError(f"a record with that id already exists: {text}")
    return StoreError(f"store error on {path}: {text}", path=path)


class _Transaction:
    """The write operations of one ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self, store: SQLiteStore, conn: sqlite3.Connection, seq: int) -> None:
        self._store = store
        self._conn = conn
        self.seq = seq
        self.hard_deleted = False
        self.inserted = 0  # memories written, for keeping the planner's statistics current

    # -- helpers ---------------------------------------------------------------------------

    def _rids(self, table: Literal["episodes", "memories"], ids: Sequence[str]) -> dict[str, int]:
        """Row ids of records by id."""
        out: dict[str, int] = {}
        for chunk in _chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            for rid, record_id in self._conn.execute(
                f"SELECT rid, id FROM {table} WHERE id IN ({marks})", tuple(chunk)
            ):
                out[record_id] = rid
        return out

    @staticmethod
    def _fts_values(rid: int, record: MemoryRecord, index: IndexText) -> tuple[Any, ...]:
        return (
            rid,
            scope_token(record.tenant, record.user_id),
            " ".join(index.body),
            " ".join(index.turn),
            " ".join(index.context),
            " ".join(index.keys),
        )

    def _write_fts(self, rid: int, record: MemoryRecord, index: IndexText) -> None:
        self._conn.execute(
            "INSERT INTO memory_fts (rowid, scope, body, turn, ctx, keys) VALUES (?,?,?,?,?,?)",
            self._fts_values(rid, record, index),
        )

    def _link_entities(self, memories: Sequence[tuple[int, MemoryWrite]]) -> None:
        """Link memories to the entities they name, in their own scope (entities must exist:
        a key with no entity is skipped, as before)."""
        wanted: dict[tuple[str, str], set[str]] = {}
        for _, m in memories:
            if m.entity_keys:
                scope = (m.record.tenant, m.record.user_id)
                wanted.setdefault(scope, set()).update(m.entity_keys)
        if not wanted:
            return
        found: dict[tuple[str, str, str], int] = {}
        for (tenant, user), keys in wanted.items():
            for chunk in _chunks(sorted(keys)):
                marks = ",".join("?" * len(chunk))
                for key, rid in self._conn.execute(
                    "SELECT key, rid FROM entities WHERE tenant = ? AND user_id = ?"
                    f" AND key IN ({marks})",
                    (tenant, user, *chunk),
                ):
                    found[(tenant, user, key)] = rid
        links = []
        for rid, m in memories:
            for key in dict.fromkeys(m.entity_keys):
                entity = found.get((m.record.tenant, m.record.user_id, key))
                if entity is not None:
                    links.append((rid, entity))
        self._conn.executemany(
            "INSERT OR IGNORE INTO memory_entities (memory_rid, entity_rid) VALUES (?, ?)", links
        )

    def _insert_claims(self, memories: Sequence[tuple[int, MemoryWrite]]) -> None:
        self._conn.executemany(
            "INSERT OR IGNORE INTO claims (memory_rid, tenant, user_id, slot, value, value_key,"
            " single, positive) VALUES (?,?,?,?,?,?,?,?)",
            [
                (
                    rid,
                    m.record.tenant,
                    m.record.user_id,
                    c.slot,
                    c.value,
                    c.value_key,
                    int(c.single),
                    int(c.positive),
                )
                for rid, m in memories
                for c in m.claims
            ],
        )

    def _memory_values(self, m: MemoryWrite) -> tuple[Any, ...]:
        r = m.record
        return (
            r.id,
            r.tenant,
            r.user_id,
            r.agent_id,
            r.session_id,
            r.kind,
            r.text,
            to_db(r.occurred_at),
            to_db(r.valid_from),
            to_db(r.valid_to),
            to_db(r.created_at),
            to_db(r.updated_at),
            to_db(r.expired_at),
            r.status,
            r.version,
            r.superseded_by,
            _json(r.metadata),
            _json(r.attributes),
            m.embed_hash,
            self.seq,
            m.norm_hash,
            to_db(m.time_start),
            to_db(m.time_end),
        )

    # -- protocol --------------------------------------------------------------------------

    def insert_episodes(self, episodes: Sequence[Episode], *, pending: bool = False) -> None:
        self._conn.executemany(
            "INSERT INTO episodes (id, tenant, user_id, agent_id, session_id, role, name, text,"
            " occurred_at, recorded_at, metadata) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    e.id,
                    e.tenant,
                    e.user_id,
                    e.agent_id,
                    e.session_id,
                    e.role,
                    e.name,
                    e.text,
                    to_db(e.occurred_at),
                    to_db(e.recorded_at),
                    _json(e.metadata),
                )
                for e in episodes
            ],
        )
        if pending:
            self._conn.executemany(
                "INSERT INTO pending_episodes (episode_rid) SELECT rid FROM episodes WHERE id = ?",
                [(e.id,) for e in episodes],
            )

    def take_pending(self, episode_ids: Sequence[str]) -> int:
        taken = 0
        for chunk in _chunks(list(episode_ids)):
            marks = ",".join("?" * len(chunk))
            taken += self._conn.execute(
                "DELETE FROM pending_episodes WHERE episode_rid IN"
                f" (SELECT rid FROM episodes WHERE id IN ({marks}))",
                tuple(chunk),
            ).rowcount
        return taken

    def insert_memories(self, memories: Sequence[MemoryWrite]) -> None:
        if not memories:
            return
        self.inserted += len(memories)
        needed = {eid for m in memories for eid in m.record.episode_ids}
        rids = self._rids("episodes", sorted(needed))
        missing = needed - rids.keys()
        if missing:
            raise InvalidInputError(
                f"memory evidence names episodes that do not exist: {sorted(missing)[:5]}",
                episode_ids=sorted(missing)[:20],
            )
        evidence = [[rids[eid] for eid in m.record.episode_ids] for m in memories]
        self._conn.executemany(
            "INSERT INTO memories (id, tenant, user_id, agent_id, session_id, kind, text,"
            " occurred_at, valid_from, valid_to, created_at, updated_at, expired_at, status,"
            " version, superseded_by, metadata, attributes, embed_hash, change_seq,"
            " norm_hash, time_start, time_end, primary_episode)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (*self._memory_values(m), min(ev) if ev else None)
                for m, ev in zip(memories, evidence, strict=True)
            ],
        )
        memory_rids = self._rids("memories", [m.record.id for m in memories])
        rows = [memory_rids[m.record.id] for m in memories]
        self._conn.executemany(
            "INSERT OR IGNORE INTO memory_evidence (memory_rid, episode_rid) VALUES (?, ?)",
            [(rid, e) for rid, ev in zip(rows, evidence, strict=True) for e in ev],
        )
        self._conn.executemany(
            "INSERT INTO memory_fts (rowid, scope, body, turn, ctx, keys) VALUES (?,?,?,?,?,?)",
            [
                self._fts_values(rid, m.record, m.index)
                for rid, m in zip(rows, memories, strict=True)
            ],
        )
        self._insert_claims([(rid, m) for rid, m in zip(rows, memories, strict=True) if m.claims])
        self._link_entities([(rid, m) for rid, m in zip(rows, memories, strict=True)])

    def replace_memory(self, access: Access, memory: MemoryWrite) -> None:
        r = memory.record
        access.require(r.user_id)
        row = self._conn.execute(
            "SELECT rid FROM memories WHERE id = ? AND tenant = ?", (r.id, access.tenant)
        ).fetchone()
        if row is None:
            raise StoreError(f"memory {r.id} vanished during the transaction")
        rid = int(row[0])
        wanted = self._rids("episodes", r.episode_ids)
        evidence = [wanted[eid] for eid in r.episode_ids if eid in wanted]
        self._conn.execute(
            "UPDATE memories SET id=?, tenant=?, user_id=?, agent_id=?, session_id=?, kind=?,"
            " text=?, occurred_at=?, valid_from=?, valid_to=?, created_at=?, updated_at=?,"
            " expired_at=?, status=?, version=?, superseded_by=?, metadata=?, attributes=?,"
            " embed_hash=?, change_seq=?, norm_hash=?, time_start=?, time_end=?,"
            " primary_episode=? WHERE rid=?",
            (*self._memory_values(memory), min(evidence) if evidence else None, rid),
        )
        self._conn.execute("DELETE FROM memory_fts WHERE rowid = ?", (rid,))
        self._write_fts(rid, r, memory.index)
        self._conn.execute("DELETE FROM memory_evidence WHERE memory_rid = ?", (rid,))
        self._conn.executemany(
            "INSERT OR IGNORE INTO memory_evidence (memory_rid, episode_rid) VALUES (?, ?)",
            [(rid, e) for e in evidence],
        )
        self._conn.execute("DELETE FROM claims WHERE memory_rid = ?", (rid,))
        self._conn.execute("DELETE FROM memory_entities WHERE memory_rid = ?", (rid,))
        self._insert_claims([(rid, memory)])
        self._link_entities([(rid, memory)])

    def add_history(self, events: Sequence[HistoryEvent]) -> None:
        if not events:
            return
        owners: dict[str, tuple[str, str]] = {}
        for chunk in _chunks(sorted({e.memory_id for e in events})):
            marks = ",".join("?" * len(chunk))
            for mid, tenant, user in self._conn.execute(
                f"SELECT id, tenant, user_id FROM memories WHERE id IN ({marks})", tuple(chunk)
            ):
                owners[mid] = (tenant, user)
        rows = []
        for e in events:
            if e.memory_id not in owners:
                raise StoreError(f"history event for unknown memory {e.memory_id}")
            tenant, user = owners[e.memory_id]
            rows.append(
                (
                    e.id,
                    e.memory_id,
                    tenant,
                    user,
                    e.event,
                    e.version,
                    to_db(e.at),
                    e.actor,
                    e.reason,
                    None if e.before is None else _json(e.before),
                    None if e.after is None else _json(e.after),
                )
            )
        self._conn.executemany(
            "INSERT INTO memory_history (id, memory_id, tenant, user_id, event, version, at,"
            " actor, reason, before, after) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )

    def put_vectors(self, vectors: dict[str, Vector]) -> None:
        self._conn.executemany(
            "INSERT OR IGNORE INTO vectors (hash, vec) VALUES (?, ?)",
            [(h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()],
        )

    def update_state(self, access: Access, record: MemoryRecord) -> None:
        access.require(record.user_id)
        cur = self._conn.execute(
            "UPDATE memories SET status = ?, valid_from = ?, valid_to = ?, expired_at = ?,"
            " superseded_by = ?, version = ?, updated_at = ?, change_seq = ?"
            " WHERE id = ? AND tenant = ?",
            (
                record.status,
                to_db(record.valid_from),
                to_db(record.valid_to),
                to_db(record.expired_at),
                record.superseded_by,
                record.version,
                to_db(record.updated_at),
                self.seq,
                record.id,
                access.tenant,
            ),
        )
        if cur.rowcount != 1:
            raise StoreError(f"memory {record.id} vanished during the transaction")

    def memories_of_episodes(
        self, access: Access, episode_ids: Sequence[str]
    ) -> list[MemoryRecord]:
        rids = self._rids("episodes", episode_ids)
        if not rids:
            return []
        where, params = _scope_sql(access, ScopeFilter(), by_id=True)
        marks = ",".join("?" * len(rids))
        return self._store._memories_where(
            self._conn,
            f"{where} AND m.primary_episode IN ({marks}) AND m.status != 'deleted'",
            [*params, *rids.values()],
            "ORDER BY m.rid",
        )

    def recent_memories(
        self, access: Access, user_id: str, *, speaker: str | None, limit: int
    ) -> list[MemoryRecord]:
        access.require(user_id)
        clause = " AND json_extract(m.attributes, '$.speaker') = ?" if speaker else ""
        params: list[Any] = [access.tenant, user_id, *([speaker] if speaker else []), limit]
        return self._store._memories_where(
            self._conn,
            "m.tenant = ? AND m.user_id = ? AND m.status = 'active' AND m.kind != 'note'" + clause,
            params,
            "ORDER BY m.rid DESC LIMIT ?",
        )

    def add_evidence(self, access: Access, memory_id: str, episode_ids: Sequence[str]) -> None:
        row = self._conn.execute(
            "SELECT rid, user_id FROM memories WHERE id = ? AND tenant = ?",
            (memory_id, access.tenant),
        ).fetchone()
        if row is None:
            raise StoreError(f"memory {memory_id} vanished during the transaction")
        access.require(row[1])
        rids = self._rids("episodes", episode_ids)
        self._conn.executemany(
            "INSERT OR IGNORE INTO memory_evidence (memory_rid, episode_rid) VALUES (?, ?)",
            [(row[0], rids[e]) for e in episode_ids if e in rids],
        )
        self._conn.execute("UPDATE memories SET change_seq = ? WHERE rid = ?", (self.seq, row[0]))

    def upsert_entities(
        self, access: Access, user_id: str, entities: Sequence[EntityWrite]
    ) -> None:
        access.require(user_id)
        stamp = to_db(now())
        self._conn.executemany(
            "INSERT INTO entities (id, tenant, user_id, key, name, kind, aliases, mentions,"
            " first_seen, last_seen, created_at, updated_at) VALUES (?,?,?,?,?,?,?,1,?,?,?,?)"
            " ON CONFLICT (tenant, user_id, key) DO UPDATE SET mentions = mentions + 1,"
            " last_seen = max(coalesce(last_seen, excluded.last_seen), excluded.last_seen),"
            " first_seen = min(coalesce(first_seen, excluded.first_seen), excluded.first_seen),"
            " aliases = CASE WHEN excluded.name != name"
            " AND instr(aliases, json_quote(excluded.name)) = 0"
            " THEN json_insert(aliases, '$[#]', excluded.name) ELSE aliases END,"
            " kind = CASE WHEN kind IN ('thing', 'concept')"
            " AND excluded.kind NOT IN ('thing', 'concept') THEN excluded.kind ELSE kind END,"
            " updated_at = excluded.updated_at",
            [
                (
                    new_id(),
                    access.tenant,
                    user_id,
                    e.key,
                    e.name,
                    e.kind,
                    "[]",
                    to_db(e.seen_at),
                    to_db(e.seen_at),
                    stamp,
                    stamp,
                )
                for e in entities
            ],
        )
        self._index_aliases(access.tenant, user_id, [(e.key, e.name) for e in entities])
        extra = [(e.key, alias) for e in entities for alias in e.aliases]
        if extra:
            self._conn.executemany(
                "UPDATE entities SET aliases = json_insert(aliases, '$[#]', ?)"
                " WHERE tenant = ? AND user_id = ? AND key = ?"
                " AND instr(aliases, json_quote(?)) = 0",
                [(alias, access.tenant, user_id, key, alias) for key, alias in extra],
            )
            self._index_aliases(access.tenant, user_id, extra)

    def _index_aliases(self, tenant: str, user_id: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Record each (key, spelling) as an alias of the entity with that key."""
        self._conn.executemany(
            "INSERT OR IGNORE INTO entity_aliases (tenant, user_id, alias, entity_rid)"
            " SELECT ?, ?, ?, rid FROM entities WHERE tenant = ? AND user_id = ? AND key = ?",
            [(tenant, user_id, name.lower(), tenant, user_id, key) for key, name in pairs],
        )

    def claims_for_slots(
        self, access: Access, user_id: str, wanted: Sequence[tuple[str, bool]]
    ) -> list[tuple[MemoryRecord, ClaimRow]]:
        return self._store._claims_for_slots(self._conn, access, user_id, wanted)

    def insert_entities(self, access: Access, entities: Sequence[Entity]) -> None:
        for e in entities:
            access.require(e.user_id)
        self._conn.executemany(
            "INSERT INTO entities (id, tenant, user_id, key, name, kind, aliases, mentions,"
            " first_seen, last_seen, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    e.id,
                    access.tenant,
                    e.user_id,
                    e.key,
                    e.name,
                    e.kind,
                    _json(e.aliases),
                    e.mentions,
                    to_db(e.first_seen),
                    to_db(e.last_seen),
                    to_db(now()),
                    to_db(now()),
                )
                for e in entities
            ],
        )
        for e in entities:
            self._index_aliases(
                access.tenant, e.user_id, [(e.key, n) for n in [e.name, *e.aliases]]
            )

    def find_by_norm(
        self, access: Access, user_id: str, norm_hashes: Sequence[str]
    ) -> dict[str, MemoryRecord]:
        access.require(user_id)
        out: dict[str, MemoryRecord] = {}
        for chunk in _chunks(list(dict.fromkeys(norm_hashes))):
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT {_MEMORY_COLUMNS}, m.norm_hash FROM memories m WHERE m.tenant = ?"
                f" AND m.user_id = ? AND m.status IN ('active', 'superseded')"
                f" AND m.norm_hash IN ({marks}) ORDER BY m.status = 'active' DESC, m.rid",
                (access.tenant, user_id, *chunk),
            ).fetchall()
            evidence = self._store._evidence_ids(self._conn, [r[0] for r in rows])
            for r in rows:
                out.setdefault(r[-1], self._store._memory_from_row(r[:-1], evidence[r[0]]))
        return out

    def erase(self, access: Access, scope: ScopeFilter) -> EraseResult:
        if scope.user_id is None:
            raise InvalidInputError("erase needs a user_id", field="user_id")
        access.require(scope.user_id)
        where, params = _scope_sql(access, scope, alias="")
        conn = self._conn
        hashes = [
            h
            for (h,) in conn.execute(
                f"SELECT DISTINCT embed_hash FROM memories WHERE {where}"
                " AND embed_hash IS NOT NULL",
                params,
            )
        ]
        memory_rows = conn.execute(f"SELECT rid, id FROM memories WHERE {where}", params).fetchall()
        history = 0
        for chunk in _chunks([mid for _, mid in memory_rows]):
            marks = ",".join("?" * len(chunk))
            history += conn.execute(
                f"DELETE FROM memory_history WHERE memory_id IN ({marks})", tuple(chunk)
            ).rowcount
        for chunk in _chunks([rid for rid, _ in memory_rows]):
            marks = ",".join("?" * len(chunk))
            conn.execute(f"DELETE FROM memory_fts WHERE rowid IN ({marks})", tuple(chunk))
        memories = conn.execute(f"DELETE FROM memories WHERE {where}", params).rowcount
        episodes = conn.execute(f"DELETE FROM episodes WHERE {where}", params).rowcount
        if scope.agent_id is None and scope.session_id is None:
            conn.execute(
                "DELETE FROM entities WHERE tenant = ? AND user_id = ?",
                (access.tenant, scope.user_id),
            )
        else:
            conn.execute(
                "DELETE FROM entities WHERE tenant = ? AND user_id = ? AND NOT EXISTS"
                " (SELECT 1 FROM memory_entities me WHERE me.entity_rid = entities.rid)",
                (access.tenant, scope.user_id),
            )
        vectors = 0
        for chunk in _chunks(hashes):
            marks = ",".join("?" * len(chunk))
            vectors += conn.execute(
                f"DELETE FROM vectors WHERE hash IN ({marks}) AND NOT EXISTS "
                "(SELECT 1 FROM memories m WHERE m.embed_hash = vectors.hash)",
                tuple(chunk),
            ).rowcount
        if memories:
            # Merge FTS5 segments so the deleted terms are rewritten out of the index.
            conn.execute("INSERT INTO memory_fts (memory_fts) VALUES ('optimize')")
        self.hard_deleted = True
        return EraseResult(episodes=episodes, memories=memories, history=history, vectors=vectors)


def _scope_sql(
    access: Access, scope: ScopeFilter, alias: str = "m", *, by_id: bool = False
) -> tuple[str, list[Any]]:
    """The WHERE clause that confines a query to the caller's tenant, users and scope.

    ``by_id`` is for lookups by id: the scope columns are then written ``+column``, which
    keeps SQLite from choosing a scope index over the unique id index.
    """
    p = ("+" if by_id else "") + (f"{alias}." if alias else "")
    clauses = [f"{p}tenant = ?"]
    params: list[Any] = [access.tenant]
    if access.user_ids is not None:
        users = sorted(access.user_ids)
        clauses.append(f"{p}user_id IN ({','.join('?' * len(users))})" if users else "0")
        params.extend(users)
    for column, value in (
        ("user_id", scope.user_id),
        ("agent_id", scope.agent_id),
        ("session_id", scope.session_id),
    ):
        if value is not None:
            clauses.append(f"{p}{column} = ?")
            params.append(value)
    return " AND ".join(clauses), params


def _json_path(path: tuple[str, ...]) -> str:
    return "$" + "".join('."' + seg.replace('"', "") + '"' for seg in path)


def _sql_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return to_db(value)
    return value


def _condition_sql(cond: Condition, alias: str) -> tuple[str, list[Any]]:
    expr = f"json_extract({alias}.metadata, ?)"
    path = _json_path(cond.path)
    if cond.op == "exists":
        sql = f"json_type({alias}.metadata, ?) IS {'NOT ' if cond.value else ''}NULL"
        return sql, [path]
    if cond.op in ("in", "nin"):
        values = [_sql_value(v) for v in cond.value]
        if not values:
            return ("0" if cond.op == "in" else "1"), []
        marks = ",".join("?" * len(values))
        neg = "NOT " if cond.op == "nin" else ""
        return f"{expr} {neg}IN ({marks})", [path, *values]
    op = {"eq": "=", "ne": "IS NOT", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[cond.op]
    return f"{expr} {op} ?", [path, _sql_value(cond.value)]


def _query_sql(access: Access, query: MemoryQuery, alias: str = "m") -> tuple[str, list[Any]]:
    where, params = _scope_sql(access, query.scope, alias)
    clauses = [where]
    marks = ",".join("?" * len(query.statuses))
    clauses.append(f"{alias}.status IN ({marks})" if query.statuses else "0")
    params.extend(query.statuses)
    if query.kinds is not None:
        clauses.append(
            f"{alias}.kind IN ({','.join('?' * len(query.kinds))})" if query.kinds else "0"
        )
        params.extend(query.kinds)
    if query.valid_at is not None:
        t = to_db(query.valid_at)
        clauses.append(
            f"({alias}.valid_from IS NULL OR {alias}.valid_from <= ?)"
            f" AND ({alias}.valid_to IS NULL OR {alias}.valid_to > ?)"
        )
        params.extend([t, t])
    if query.occurred_after is not None:
        clauses.append(f"{alias}.occurred_at >= ?")
        params.append(to_db(query.occurred_after))
    if query.occurred_before is not None:
        clauses.append(f"{alias}.occurred_at < ?")
        params.append(to_db(query.occurred_before))
    for cond in query.conditions:
        sql, cond_params = _condition_sql(cond, alias)
        clauses.append(sql)
        params.extend(cond_params)
    if query.speakers is not None:
        marks = ",".join("?" * len(query.speakers))
        clauses.append(
            f"json_extract({alias}.attributes, '$.speaker') IN ({marks})" if query.speakers else "0"
        )
        params.extend(query.speakers)
    if query.ids is not None:
        ids = sorted(query.ids)
        clauses.append(f"{alias}.id IN ({','.join('?' * len(ids))})" if ids else "0")
        params.extend(ids)
    return " AND ".join(clauses), params


class _Checkpointer:
    """Copies the write-ahead log into the database file on a thread of its own.

    SQLite checkpoints in the committing thread once the log holds 1,000 pages
    (``wal_autocheckpoint``), so every few dozen one-turn writes, one of them waits for the
    copy and two fsyncs: 15-20 ms, about half of what a one-turn ``add`` costs when spread
    over the writes. Here the writer reports each commit, and once about ``pages`` new
    pages should be in the log (pages per commit as the last checkpoint found them) this
    thread runs a PASSIVE checkpoint, which blocks neither the writer nor readers.

    The log restarts from its beginning only when a write begins with every frame copied,
    which a writer that never pauses does not allow. So once the log holds ``2 * pages``
    frames, the thread copies what came in meanwhile holding the write lock (a write
    arriving then waits, as it waited for every checkpoint before). A single write can
    also hold thousands of pages, and the thread only hears of it afterwards: the writer
    keeps SQLite's own checkpoint at ``4 * pages``, which bounds the log as before. SQLite
    also checkpoints when the last connection closes. Should the thread fail, the writer's
    checkpoints come back at ``pages``.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        writer: sqlite3.Connection,
        write_lock: threading.RLock,
        pages: int = _CHECKPOINT_PAGES,
    ) -> None:
        # The thread holds its connection, the writer and the lock, never the store: a
        # store dropped without ``close`` can still be collected (and stops the thread).
        self._writer = writer
        self._write_lock = write_lock
        self.pages = pages
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._commits = 0
        self._due = 16  # commits until the first checkpoint, before any estimate
        self.checkpoints = 0
        self.failed = False
        writer.execute(f"PRAGMA wal_autocheckpoint = {4 * pages}")
        self._thread = threading.Thread(
            target=self._run, args=(conn,), name="mnemos-checkpoint", daemon=True
        )
        self._thread.start()

    def committed(self) -> None:
        """Count a commit; called by the writer after each one."""
        with self._lock:
            self._commits += 1
            due = self._commits >= self._due
        if due:
            self._wake.set()

    def _run(self, conn: sqlite3.Connection) -> None:
        try:
            before = 0  # frames in the log at the last checkpoint
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stop:
                    return
                with self._lock:
                    commits, self._commits = self._commits, 0
                _, logged, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if logged >= 2 * self.pages:
                    # Copy what came in meanwhile with no write coming in, so that the
                    # next write finds the log copied and restarts it.
                    with self._write_lock:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                self.checkpoints += 1
                added = logged - before if logged >= before else logged  # else: restarted
                if added > 0 and commits:
                    self._due = min(self.pages, max(1, int(self.pages * commits / added)))
                before = logged
        except sqlite3.Error:
            self._fail()
        finally:
            conn.close()

    def _fail(self) -> None:
        log.warning("background checkpoints stopped; the writer checkpoints itself again")
        self.failed = True
        with self._write_lock, contextlib.suppress(sqlite3.Error):
            self._writer.execute(f"PRAGMA wal_autocheckpoint = {self.pages}")

    def halt(self) -> None:
        """Ask the thread to stop, without waiting for it."""
        self._stop = True
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread and wait for it (its connection closes with it)."""
        self.halt()
        self._thread.join()


class SQLiteStore:
    """A mnemos store in one SQLite file.

    Args:
        path: The store file; created (with its directory) if missing.
        busy_timeout_s: How long a write waits for another process's write to finish.
        lexical_exact_postings: Postings of the rarer query terms that lexical search
            scores over the whole scope (see :meth:`lexical_search`).
        lexical_recent: How many of the most recent memories holding the remaining,
            common query terms lexical search scores.
        checkpoint_pages: New write-ahead log pages that make a background checkpoint
            due; the writer checkpoints itself at four times as many.

    Raises:
        StorePathError: the path cannot be created or written.
        NotAStoreError: the file is not SQLite, or SQLite without a mnemos schema.
        SchemaVersionError: the store was written by a newer mnemos.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout_s: float = 30.0,
        lexical_exact_postings: int = LEXICAL_EXACT_POSTINGS,
        lexical_recent: int = LEXICAL_RECENT,
        checkpoint_pages: int = _CHECKPOINT_PAGES,
    ) -> None:
        if isinstance(checkpoint_pages, bool) or not isinstance(checkpoint_pages, int):
            raise InvalidInputError(
                "checkpoint_pages must be a whole number of pages", field="checkpoint_pages"
            )
        if checkpoint_pages < 1:
            raise InvalidInputError(
                f"checkpoint_pages must be at least 1, not {checkpoint_pages}",
                field="checkpoint_pages",
            )
        self.path = Path(path).expanduser()
        self._busy_timeout_s = busy_timeout_s
        self._lexical_exact = lexical_exact_postings
        self._lexical_recent = lexical_recent
        self._closed = False
        self._write_lock = threading.RLock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._vectors: VectorCache | None = None
        self._check_path()
        self._writer = self._connect()
        try:
            self._migrate()
            self._analysed = self._analysed_rows()
        except BaseException:
            self._writer.close()
            raise
        self._since_analysis = 0
        try:
            checkpoints = self._connect()
        except BaseException:
            self._writer.close()
            raise
        self._checkpointer = _Checkpointer(
            checkpoints, self._writer, self._write_lock, checkpoint_pages
        )
        weakref.finalize(self, self._checkpointer.halt)

    # -- connections -----------------------------------------------------------------------

    def _check_path(self) -> None:
        path = self.path
        if path.exists() and path.is_dir():
            raise StorePathError(f"{path} is a directory, not a store file", path=str(path))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorePathError(
                f"cannot create the directory for the store {path}: {exc.strerror or exc}",
                path=str(path),
            ) from None
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise StorePathError(
                f"cannot write the store {path}: directory {path.parent} is not writable",
                path=str(path),
            )
        if path.exists():
            if not os.access(path, os.R_OK | os.W_OK):
                raise StorePathError(f"cannot read and write the store {path}", path=str(path))
            with path.open("rb") as fh:
                head = fh.read(len(_SQLITE_MAGIC))
            if head and head != _SQLITE_MAGIC:
                raise NotAStoreError(
                    f"{path} is not a mnemos store (it is not an SQLite database)", path=str(path)
                )

    def _connect(self, *, readonly: bool = False) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            if not readonly:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("PRAGMA temp_store = MEMORY")
            if readonly:
                conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            raise _translate(exc, str(self.path)) from None
        return conn

    def _reader(self) -> sqlite3.Connection:
        self._ensure_open()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect(readonly=True)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def _ensure_open(self) -> None:
        if self._closed:
            raise ClosedError(f"the store {self.path} is closed")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read of this thread inside the block is one read transaction: one state of
        the store, whatever is committed meanwhile (see :meth:`Store.snapshot`)."""
        if getattr(self._local, "snapshot", None) is not None:
            yield
            return
        with self._read():
            self._local.snapshot = {}
            try:
                yield
            finally:
                self._local.snapshot = None

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._reader()
        if getattr(self._local, "snapshot", None) is not None:
            # Inside a snapshot: its read transaction is already open.
            try:
                yield conn
            except sqlite3.Error as exc:
                raise _translate(exc, str(self.path)) from None
            return
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _translate(exc, str(self.path)) from None

    def _read_one(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._read() as conn:
            return fn(conn)

    # -- schema ----------------------------------------------------------------------------

    def _migrate(self) -> None:
        conn = self._writer
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                tables = {
                    name
                    for (name,) in conn.execute(
                        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                    )
                }
                if tables and "mnemos_meta" not in tables:
                    raise NotAStoreError(
                        f"{self.path} is an SQLite database but not a mnemos store",
                        path=str(self.path),
                    )
                if not tables:
                    conn.execute(
                        "CREATE TABLE mnemos_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
                    )
                    conn.execute(
                        "CREATE TABLE mnemos_migrations (version INTEGER PRIMARY KEY,"
                        " name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                    )
                    conn.executemany(
                        "INSERT INTO mnemos_meta (key, value) VALUES (?, ?)",
                        [
                            ("format", "mnemos"),
                            ("schema_version", "0"),
                            ("created_at", to_db(now())),
                            ("change_seq", "0"),
                            ("epoch", "0"),
                        ],
                    )
                meta = dict(conn.execute("SELECT key, value FROM mnemos_meta").fetchall())
                if meta.get("format") != "mnemos":
                    raise NotAStoreError(
                        f"{self.path} is an SQLite database but not a mnemos store",
                        path=str(self.path),
                    )
                version = int(meta.get("schema_version", "0"))
                if version > LATEST_VERSION:
                    raise SchemaVersionError(
                        f"{self.path} has schema version {version}, newer than this mnemos "
                        f"understands ({LATEST_VERSION}); upgrade mnemos to open it",
                        schema_version=version,
                        supported=LATEST_VERSION,
                    )
                for migration in MIGRATIONS:
                    if migration.version <= version:
                        continue
                    migration.apply(conn)
                    conn.execute(
                        "INSERT INTO mnemos_migrations (version, name, applied_at) VALUES (?,?,?)",
                        (migration.version, migration.name, to_db(now())),
                    )
                    conn.execute(
                        "UPDATE mnemos_meta SET value = ? WHERE key = 'schema_version'",
                        (str(migration.version),),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise _translate(exc, str(self.path)) from None

    def _meta(self, conn: sqlite3.Connection) -> dict[str, str]:
        return dict(conn.execute("SELECT key, value FROM mnemos_meta").fetchall())

    def info(self) -> StoreInfo:
        """Location, schema version and recorded embedder."""
        meta = self._read_one(self._meta)
        dim = meta.get("dimension")
        return StoreInfo(
            location=str(self.path),
            schema_version=int(meta["schema_version"]),
            embedder_id=meta.get("embedder"),
            dimension=int(dim) if dim is not None else None,
        )

    def bind_embedder(self, embedder_id: str, dimension: int) -> None:
        """Record the embedder on a new store, or check it on an existing one."""
        self._ensure_open()
        with self._write_lock:
            try:
                self._writer.execute("BEGIN IMMEDIATE")
                try:
                    meta = self._meta(self._writer)
                    known, known_dim = meta.get("embedder"), meta.get("dimension")
                    if known is None:
                        self._writer.executemany(
                            "INSERT INTO mnemos_meta (key, value) VALUES (?, ?)",
                            [("embedder", embedder_id), ("dimension", str(dimension))],
                        )
                    elif known != embedder_id or int(known_dim or 0) != dimension:
                        raise EmbedderMismatchError(
                            f"the store {self.path} was built with embedder {known!r} "
                            f"(dimension {known_dim}); it cannot be opened with {embedder_id!r} "
                            f"(dimension {dimension}). Open it with embedder matching the store.",
                            store_embedder=known,
                            store_dimension=int(known_dim or 0),
                            embedder=embedder_id,
                            dimension=dimension,
                        )
                    self._writer.execute("COMMIT")
                except BaseException:
                    self._writer.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise _translate(exc, str(self.path)) from None
        self._vectors = VectorCache(dimension)

    # -- writes ----------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        """One write transaction (``BEGIN IMMEDIATE``), committed on a clean exit."""
        self._ensure_open()
        with self._write_lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _translate(exc, str(self.path)) from None
            try:
                seq = int(
                    conn.execute(
                        "UPDATE mnemos_meta SET value = CAST(value AS INTEGER) + 1"
                        " WHERE key = 'change_seq' RETURNING value"
                    ).fetchone()[0]
                )
                tx = _Transaction(self, conn, seq)
                yield tx
                if tx.hard_deleted:
                    conn.execute(
                        "UPDATE mnemos_meta SET value = CAST(value AS INTEGER) + 1"
                        " WHERE key = 'epoch'"
                    )
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise _translate(exc, str(self.path)) from None
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._checkpointer.committed()
            self._since_analysis += tx.inserted
            if self._since_analysis >= max(_ANALYSIS_MIN_ROWS, self._analysed):
                self._analyse(conn)
            if tx.hard_deleted:
                if self._vectors is not None:
                    self._vectors.clear()
                # Rewrite the WAL away so erased rows do not linger in it; a busy reader may
                # hold it, in which case SQLite's next checkpoint does the job.
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _analysed_rows(self) -> int:
        """How many memories had been written when the planner's statistics were last
        taken (0: none yet); for statistics found at open, how many are written now."""
        try:
            row = self._writer.execute(
                "SELECT 1 FROM sqlite_stat1 WHERE tbl = 'memories' LIMIT 1"
            ).fetchone()
        except sqlite3.Error:  # no statistics table yet
            return 0
        if row is None:
            return 0
        (written,) = self._writer.execute("SELECT max(rid) FROM memories").fetchone()
        return int(written or 0)

    def _analyse(self, conn: sqlite3.Connection) -> None:
        """Refresh the query planner's statistics, sampling each index.

        Without them SQLite guesses index selectivity, and at scale it guessed badly: with
        100k memories and no statistics, looking up a speaker's job claims took 31-43 ms
        instead of under one. They are refreshed each time the memories written since
        the last refresh reach the number it was taken over, so a growing store is
        analysed a logarithmic number of times.
        """
        with contextlib.suppress(sqlite3.Error):
            conn.execute(f"PRAGMA analysis_limit = {_ANALYSIS_LIMIT}")
            conn.execute("ANALYZE")
            self._analysed = self._analysed_rows()
        self._since_analysis = 0

    # -- reads -----------------------------------------------------------------------------

    def _memory_from_row(
        self, row: sqlite3.Row | tuple[Any, ...], episode_ids: list[str]
    ) -> MemoryRecord:
        (
            _rid,
            mid,
            tenant,
            user_id,
            agent_id,
            session_id,
            kind,
            text,
            occurred_at,
            valid_from,
            valid_to,
            created_at,
            updated_at,
            expired_at,
            status,
            version,
            superseded_by,
            metadata,
            attributes,
        ) = row
        created, updated = from_db(created_at), from_db(updated_at)
        assert created is not None
        assert updated is not None
        # Rows the store wrote itself were validated on the way in: skip re-validation.
        return trusted(
            MemoryRecord,
            id=mid,
            tenant=tenant,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            kind=kind,
            text=text,
            occurred_at=from_db(occurred_at),
            valid_from=from_db(valid_from),
            valid_to=from_db(valid_to),
            created_at=created,
            updated_at=updated,
            expired_at=from_db(expired_at),
            status=status,
            version=version,
            metadata=json.loads(metadata),
            episode_ids=episode_ids,
            superseded_by=superseded_by,
            attributes=json.loads(attributes),
        )

    @staticmethod
    def _episode_from_row(row: tuple[Any, ...]) -> Episode:
        (
            _rid,
            eid,
            tenant,
            user_id,
            agent_id,
            session_id,
            role,
            name,
            text,
            occurred_at,
            recorded_at,
            metadata,
        ) = row
        occurred = from_db(occurred_at)
        recorded = from_db(recorded_at)
        assert occurred is not None
        assert recorded is not None
        return trusted(
            Episode,
            id=eid,
            tenant=tenant,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            role=role,
            name=name,
            text=text,
            occurred_at=occurred,
            recorded_at=recorded,
            metadata=json.loads(metadata),
        )

    def _evidence_ids(self, conn: sqlite3.Connection, rids: Sequence[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {rid: [] for rid in rids}
        for chunk in _chunks(list(rids)):
            marks = ",".join("?" * len(chunk))
            for mrid, eid in conn.execute(
                "SELECT me.memory_rid, e.id FROM memory_evidence me"
                " JOIN episodes e ON e.rid = me.episode_rid"
                f" WHERE me.memory_rid IN ({marks}) ORDER BY e.occurred_at, e.rid",
                tuple(chunk),
            ):
                out[mrid].append(eid)
        return out

    def _memories_where(
        self, conn: sqlite3.Connection, where: str, params: Sequence[Any], suffix: str = ""
    ) -> list[MemoryRecord]:
        rows = conn.execute(
            f"SELECT {_MEMORY_COLUMNS} FROM memories m WHERE {where} {suffix}", tuple(params)
        ).fetchall()
        evidence = self._evidence_ids(conn, [r[0] for r in rows])
        return [self._memory_from_row(r, evidence[r[0]]) for r in rows]

    def get_memories(self, access: Access, ids: Sequence[str]) -> list[MemoryRecord]:
        """Memories by id within the access, in the order asked (missing ids skipped)."""
        if not ids:
            return []
        found: dict[str, MemoryRecord] = {}
        with self._read() as conn:
            for chunk in _chunks(list(dict.fromkeys(ids))):
                where, params = _scope_sql(access, ScopeFilter(), by_id=True)
                where += f" AND m.id IN ({','.join('?' * len(chunk))})"
                for rec in self._memories_where(conn, where, [*params, *chunk]):
                    found[rec.id] = rec
        return [found[i] for i in ids if i in found]

    def list_memories(
        self, access: Access, query: MemoryQuery, *, offset: int, limit: int
    ) -> tuple[list[MemoryRecord], int]:
        """A page of matching memories, newest first, and the total."""
        where, params = _query_sql(access, query)
        with self._read() as conn:
            total = int(
                conn.execute(f"SELECT count(*) FROM memories m WHERE {where}", params).fetchone()[0]
            )
            items = self._memories_where(
                conn,
                where,
                [*params, limit, offset],
                "ORDER BY m.created_at DESC, m.rid DESC LIMIT ? OFFSET ?",
            )
        return items, total

    def get_episodes(self, access: Access, ids: Sequence[str]) -> list[Episode]:
        """Episodes by id within the access, in the order asked."""
        found: dict[str, Episode] = {}
        with self._read() as conn:
            for chunk in _chunks(list(dict.fromkeys(ids))):
                where, params = _scope_sql(access, ScopeFilter(), alias="e", by_id=True)
                sql = (
                    f"SELECT {_EPISODE_COLUMNS} FROM episodes e WHERE {where}"
                    f" AND e.id IN ({','.join('?' * len(chunk))})"
                )
                for row in conn.execute(sql, [*params, *chunk]):
                    ep = self._episode_from_row(row)
                    found[ep.id] = ep
        return [found[i] for i in ids if i in found]

    def list_episodes(
        self, access: Access, scope: ScopeFilter, *, offset: int, limit: int
    ) -> tuple[list[Episode], int]:
        """A page of episodes in time order, and the total."""
        where, params = _scope_sql(access, scope, alias="e")
        with self._read() as conn:
            total = int(
                conn.execute(f"SELECT count(*) FROM episodes e WHERE {where}", params).fetchone()[0]
            )
            rows = conn.execute(
                f"SELECT {_EPISODE_COLUMNS} FROM episodes e WHERE {where}"
                " ORDER BY e.occurred_at, e.rid LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
        return [self._episode_from_row(r) for r in rows], total

    def evidence(self, access: Access, memory_ids: Sequence[str]) -> dict[str, list[Episode]]:
        """The episodes each memory rests on, in time order."""
        out: dict[str, list[Episode]] = {mid: [] for mid in memory_ids}
        if not memory_ids:
            return out
        where, params = _scope_sql(access, ScopeFilter(), alias="m", by_id=True)
        with self._read() as conn:
            for chunk in _chunks(list(dict.fromkeys(memory_ids))):
                sql = (
                    f"SELECT m.id, {_EPISODE_COLUMNS_E}"
                    " FROM memories m JOIN memory_evidence me ON me.memory_rid = m.rid"
                    " JOIN episodes e ON e.rid = me.episode_rid"
                    f" WHERE {where} AND m.id IN ({','.join('?' * len(chunk))})"
                    " ORDER BY e.occurred_at, e.rid"
                )
                for row in conn.execute(sql, [*params, *chunk]):
                    out[row[0]].append(self._episode_from_row(row[1:]))
        return out

    def history(self, access: Access, memory_id: str) -> list[HistoryEvent]:
        """History events of a memory, oldest first."""
        where, params = _scope_sql(access, ScopeFilter(), alias="h", by_id=True)
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_HISTORY_COLUMNS} FROM memory_history h"
                f" WHERE {where} AND h.memory_id = ? ORDER BY h.rid",
                [*params, memory_id],
            ).fetchall()
        return [self._history_from_row(r) for r in rows]

    @staticmethod
    def _history_from_row(row: tuple[Any, ...]) -> HistoryEvent:
        hid, mid, event, version, at, actor, reason, before, after = row
        at_dt = from_db(at)
        assert at_dt is not None
        return HistoryEvent(
            id=hid,
            memory_id=mid,
            event=event,
            version=version,
            at=at_dt,
            actor=actor,
            reason=reason,
            before=None if before is None else json.loads(before),
            after=None if after is None else json.loads(after),
        )

    def get_vectors(self, hashes: Sequence[str]) -> dict[str, Vector]:
        """Stored vectors for the hashes that have one."""
        out: dict[str, Vector] = {}
        with self._read() as conn:
            for chunk in _chunks(list(dict.fromkeys(hashes))):
                marks = ",".join("?" * len(chunk))
                for h, blob in conn.execute(
                    f"SELECT hash, vec FROM vectors WHERE hash IN ({marks})", tuple(chunk)
                ):
                    out[h] = np.frombuffer(blob, dtype=np.float32)
        return out

    def lexical_search(
        self,
        access: Access,
        query: MemoryQuery,
        terms: Sequence[str],
        limit: int,
        *,
        weights: Mapping[str, float] | None = None,
    ) -> list[tuple[str, float]]:
        """BM25 (FTS5) over analysed terms in the weighted fields, within the scope.

        With a user scope and a bound embedder, the work is bounded whatever the store
        holds: terms are split by how many memories contain them; the rarer ones, up to
        ``lexical_exact_postings`` postings in all, are scored over every memory that
        contains them, and the rest (common words, which weigh little in BM25) only over
        the ``lexical_recent`` most recent memories that contain them (about as many,
        for a scope that holds most of the store and is matched unscoped). A memory's
        score is the sum of both, which is its full BM25 score where it is found by both.
        Filters are applied from the scope's in-memory partition rather than by joining
        every match with its row.
        """
        unique = list(dict.fromkeys(t for t in terms if t))
        if not unique or limit <= 0:
            return []
        w = {"body": 1.0, "turn": 1.0, "context": 1.0, "keys": 1.0, **(weights or {})}
        columns = [
            c
            for c, name in (
                ("body", "body"),
                ("turn", "turn"),
                ("ctx", "context"),
                ("keys", "keys"),
            )
            if w[name] > 0
        ]
        rank = (
            f"bm25(memory_fts, 0.0, {w['body']:.6f}, {w['turn']:.6f}, {w['context']:.6f}, "
            f"{w['keys']:.6f})"
        )
        user_id = query.scope.user_id

        def match(chosen: Sequence[str], *, scoped: bool = True) -> str:
            ored = " OR ".join('"' + t.replace('"', '""') + '"' for t in chosen)
            expr = f"{{{' '.join(columns)}}} : ({ored})"
            if user_id is None or not scoped:
                return expr
            return f"scope : {scope_token(access.tenant, user_id)} AND {expr}"

        if user_id is None or self._vectors is None:
            where, params = _query_sql(access, query)
            sql = (
                f"SELECT m.id, -{rank} AS score FROM memory_fts"
                " JOIN memories m ON m.rid = memory_fts.rowid"
                f" WHERE memory_fts MATCH ? AND {where}"
                f" ORDER BY {rank} LIMIT ?"
            )
            with self._read() as conn:
                rows = conn.execute(sql, [match(unique), *params, limit]).fetchall()
            return [(mid, float(score)) for mid, score in rows]
        if not access.allows(user_id):
            return []
        cache = self._cache()
        with self._read() as conn:
            # How many memories hold each term, counted up to one past the exact budget:
            # a term held by more can only be common, and counting stops there (the full
            # count would read the term's whole posting list).
            # One statement counts a few hundred terms (a result row has at most 2,000
            # columns).
            cap = self._lexical_exact + 1
            df: dict[str, int] = {}
            for chunk in _chunks(unique, 500):
                counts = ", ".join(
                    ["(SELECT count(*) FROM (SELECT 1 FROM memory_fts WHERE memory_fts MATCH ?"
                     " LIMIT ?))"] * len(chunk)
                )  # fmt: skip
                row = conn.execute(
                    f"SELECT {counts}",
                    [v for t in chunk for v in ('"' + t.replace('"', '""') + '"', cap)],
                ).fetchone()
                df.update(zip(chunk, row, strict=True))
            present = sorted((t for t in unique if df.get(t)), key=lambda t: (df[t], t))
            exact: list[str] = []
            postings = 0
            for term in present:
                if postings + df[term] > self._lexical_exact:
                    break
                exact.append(term)
                postings += df[term]
            common = present[len(exact) :]
            scored: list[tuple[int, float]] = []
            size = cache.loaded_rows(access.tenant, user_id)
            written: int | None = None
            if exact:
                # The partition keeps only the scope's memories, so the scope phrase is
                # there to spare FTS5 scoring other scopes' matches. It costs reading the
                # scope's whole posting list (BM25 counts every phrase's matches), so it is
                # used where the matches it spares (the postings outside the scope, by the
                # scope's share of the store) cost more than reading that list.
                scoped = False
                if size is not None:
                    (written,) = conn.execute("SELECT max(rid) FROM memories").fetchone()
                    others = postings * (1 - size / written) if written else 0.0
                    scoped = size * _SCOPE_POSTING_COST < others
                scored += conn.execute(
                    f"SELECT rowid, -{rank} FROM memory_fts WHERE memory_fts MATCH ?",
                    [match(exact, scoped=scoped)],
                ).fetchall()
            if common:
                # Likewise for a scope that holds most of the store: the most recent
                # matches of the whole store are then mostly the scope's, and enough more
                # are read that about ``lexical_recent`` of them are.
                if written is None:
                    (written,) = conn.execute("SELECT max(rid) FROM memories").fetchone()
                recent, scoped = self._lexical_recent, True
                if size and written and size * 2 >= written:
                    recent, scoped = -(-self._lexical_recent * written // size), False
                scored += conn.execute(
                    f"SELECT rowid, -{rank} FROM memory_fts WHERE memory_fts MATCH ?"
                    " ORDER BY rowid DESC LIMIT ?",
                    [match(common, scoped=scoped), recent],
                ).fetchall()
            if not scored:
                return []
            return cache.rank(
                access.tenant,
                user_id,
                rids=[r for r, _ in scored],
                scores=[float(v) for _, v in scored],
                limit=limit,
                **self._partition_args(conn, access, query),
            )

    def time_search(
        self, access: Access, query: MemoryQuery, start: datetime, end: datetime, limit: int
    ) -> list[tuple[str, float]]:
        """Memories whose resolved time overlaps the window, tightest fit first.

        Only spans that start less than a year before the window are considered, so the
        time index bounds the scan however large the store is.
        """
        where, params = _query_sql(access, query)
        lo, hi = to_db(start), to_db(end)
        earliest = to_db(start - timedelta(days=366))
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT m.id, m.time_start, m.time_end FROM memories m WHERE {where}"
                " AND m.time_start >= ? AND m.time_start < ? AND m.time_end > ?"
                " ORDER BY julianday(m.time_end) - julianday(m.time_start), m.time_start DESC"
                " LIMIT ?",
                [*params, earliest, hi, lo, limit],
            ).fetchall()
        scored = []
        for mid, ts, te in rows:
            a, b = from_db(ts), from_db(te)
            assert a is not None
            assert b is not None
            span = max((b - a).total_seconds(), 1.0)
            inside = (min(b, end) - max(a, start)).total_seconds()
            scored.append((mid, max(inside, 0.0) / span))
        scored.sort(key=lambda x: -x[1])
        return scored

    def slot_search(
        self,
        access: Access,
        query: MemoryQuery,
        slots: Sequence[str],
        limit: int,
        *,
        attributes: Sequence[str] = (),
    ) -> list[tuple[str, float]]:
        """Memories claiming these slots, or these attributes of anyone, newest validity
        first."""
        if not slots and not attributes:
            return []
        where, params = _query_sql(access, query)
        wanted = []
        if slots:
            wanted.append(f"c.slot IN ({','.join('?' * len(slots))})")
        # A slot is "subject|attribute" (a subject may hold "|", an attribute does not): an
        # attribute of anyone is the slot's ending, read off the scope's claims in the index.
        wanted += ["substr(c.slot, length(c.slot) - length(?)) = '|' || ?"] * len(attributes)
        # The claims' own scope columns let the slot index bound the scan to the scope.
        own = ""
        if query.scope.user_id is not None:
            own = " AND c.tenant = ? AND c.user_id = ?"
            params += [access.tenant, query.scope.user_id]
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT DISTINCT m.id, m.valid_from, m.rid FROM memories m JOIN claims c"
                f" ON c.memory_rid = m.rid WHERE {where}{own} AND ({' OR '.join(wanted)})"
                " AND c.positive = 1 ORDER BY m.valid_from DESC, m.rid DESC LIMIT ?",
                [*params, *slots, *(a for a in attributes for _ in range(2)), limit],
            ).fetchall()
        return [(mid, 1.0 / rank) for rank, (mid, _, _) in enumerate(rows, start=1)]

    def entity_graph(
        self,
        access: Access,
        query: MemoryQuery,
        seeds: Sequence[str] | None = None,
        hops: int = 2,
        *,
        whole_below: int = 0,
    ) -> GraphView:
        """The user scope's memory-entity graph from the in-memory partition."""
        user_id = query.scope.user_id
        if user_id is None:
            raise InvalidInputError("the graph needs a user_id", field="user_id")
        access.require(user_id)
        cache = self._cache()
        with self._read() as conn:
            return cache.graph(
                access.tenant,
                user_id,
                seeds=seeds,
                hops=hops,
                whole_below=whole_below,
                **self._partition_args(conn, access, query),
            )

    def neighbors(
        self, access: Access, episode_ids: Sequence[str], before: int, after: int
    ) -> dict[str, list[Episode]]:
        """Episodes around each given one in the same session (and scope), in time order."""
        wanted = list(dict.fromkeys(episode_ids))
        out: dict[str, list[Episode]] = {e: [] for e in wanted}
        if (before <= 0 and after <= 0) or not wanted:
            return out
        where, params = _scope_sql(access, ScopeFilter(), alias="e", by_id=True)
        same = "e.tenant = ? AND e.user_id = ? AND e.agent_id IS ? AND e.session_id IS ?"
        built: dict[int, Episode] = {}
        with self._read() as conn:
            anchors = []
            for chunk in _chunks(wanted):
                marks = ",".join("?" * len(chunk))
                anchors += conn.execute(
                    "SELECT e.id, e.rid, e.user_id, e.agent_id, e.session_id, e.occurred_at"
                    f" FROM episodes e WHERE {where} AND e.id IN ({marks})",
                    [*params, *chunk],
                ).fetchall()
            # One statement per batch of anchors: for each, the turns just before and just
            # after it in its session, tagged with the anchor's position.
            half = (
                f"SELECT * FROM (SELECT ? AS anchor, {_EPISODE_COLUMNS_E} FROM episodes e"
                # A plain range on occurred_at (with the tie broken by rid) lets SQLite
                # seek the scope index instead of walking the scope's every turn.
                f" WHERE {same} AND e.occurred_at {{cmp}}= ? AND (e.occurred_at {{cmp}} ?"
                " OR e.rid {cmp} ?) ORDER BY e.occurred_at {order}, e.rid {order} LIMIT ?)"
            )
            earlier = half.format(cmp="<", order="DESC")
            later = half.format(cmp=">", order="ASC")
            rows_by_anchor: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
            for batch in _chunks(list(enumerate(anchors)), 100):
                parts: list[str] = []
                args: list[Any] = []
                for i, (_eid, rid, user, agent, session, occurred) in batch:
                    base = [access.tenant, user, agent, session]
                    parts += [earlier, later]
                    args += [i, *base, occurred, occurred, rid, max(before, 0)]
                    args += [i, *base, occurred, occurred, rid, max(after, 0)]
                for row in conn.execute(" UNION ALL ".join(parts), args):
                    rows_by_anchor[row[0]].append(row[1:])
            for i, (eid, *_rest) in enumerate(anchors):
                rows = rows_by_anchor.get(i, [])
                # Time order: occurred_at (fixed-width UTC text) then rid, as the store orders.
                rows.sort(key=lambda r: (r[9], r[0]))
                # Neighbouring hits share context turns: build each episode once.
                for r in rows:
                    if r[0] not in built:
                        built[r[0]] = self._episode_from_row(r)
                out[eid] = [built[r[0]] for r in rows]
        return out

    def memory_anchors(
        self, access: Access, memory_ids: Sequence[str]
    ) -> dict[str, tuple[str | None, str, str | None]]:
        """First evidence episode, kind and speaker of each memory, in one light query."""
        out: dict[str, tuple[str | None, str, str | None]] = {}
        where, params = _scope_sql(access, ScopeFilter(), alias="m", by_id=True)
        with self._read() as conn:
            for chunk in _chunks(list(dict.fromkeys(memory_ids))):
                marks = ",".join("?" * len(chunk))
                for mid, kind, eid, speaker in conn.execute(
                    "SELECT m.id, m.kind, e.id, e.name"
                    " FROM memories m LEFT JOIN episodes e ON e.rid = m.primary_episode"
                    f" WHERE {where} AND m.id IN ({marks})",
                    [*params, *chunk],
                ):
                    out[mid] = (eid, kind, speaker)
        return out

    def memory_texts(self, access: Access, memory_ids: Sequence[str]) -> dict[str, str]:
        """The text of each memory the access may read, in one light query."""
        out: dict[str, str] = {}
        where, params = _scope_sql(access, ScopeFilter(), alias="m", by_id=True)
        with self._read() as conn:
            for chunk in _chunks(list(dict.fromkeys(memory_ids))):
                marks = ",".join("?" * len(chunk))
                out.update(
                    conn.execute(
                        f"SELECT m.id, m.text FROM memories m WHERE {where} AND m.id IN ({marks})",
                        [*params, *chunk],
                    ).fetchall()
                )
        return out

    def episode_notes(
        self, access: Access, episode_ids: Sequence[str], statuses: Sequence[str]
    ) -> dict[str, MemoryRecord]:
        """The note of each episode, in the given statuses."""
        out: dict[str, MemoryRecord] = {}
        if not episode_ids or not statuses:
            return out
        where, params = _scope_sql(access, ScopeFilter(), alias="m", by_id=True)
        status_marks = ",".join("?" * len(statuses))
        with self._read() as conn:
            for chunk in _chunks(list(dict.fromkeys(episode_ids))):
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT {_MEMORY_COLUMNS_M}, e.id FROM memories m"
                    " JOIN episodes e ON e.rid = m.primary_episode"
                    f" WHERE {where} AND m.kind = 'note' AND m.status IN ({status_marks})"
                    f" AND e.id IN ({marks})",
                    [*params, *statuses, *chunk],
                ).fetchall()
                evidence = self._evidence_ids(conn, [r[0] for r in rows])
                for r in rows:
                    out[r[-1]] = self._memory_from_row(r[:-1], evidence[r[0]])
        return out

    def recent_episodes(
        self, access: Access, scope: ScopeFilter, limit: int, *, before: str | None = None
    ) -> list[Episode]:
        """The last episodes of a scope (those before episode ``before``), oldest first."""
        where, params = _scope_sql(access, scope, alias="e")
        if scope.session_id is None:
            where += " AND e.session_id IS NULL"
        if before is not None:
            where += (
                " AND (e.occurred_at, e.rid) <"
                " (SELECT b.occurred_at, b.rid FROM episodes b WHERE b.id = ?)"
            )
            params.append(before)
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_EPISODE_COLUMNS} FROM episodes e WHERE {where}"
                " ORDER BY e.occurred_at DESC, e.rid DESC LIMIT ?",
                [*params, limit],
            ).fetchall()
        return [self._episode_from_row(r) for r in reversed(rows)]

    def pending_episodes(self, limit: int) -> list[Episode]:
        """Episodes stored without their memories yet (any tenant), in the order they came."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_EPISODE_COLUMNS} FROM pending_episodes p"
                " JOIN episodes e ON e.rid = p.episode_rid ORDER BY p.episode_rid LIMIT ?",
                (limit,),
            ).fetchall()
        return [self._episode_from_row(r) for r in rows]

    def count_pending(self) -> int:
        """How many episodes wait for their memories (any tenant)."""
        with self._read() as conn:
            (n,) = conn.execute("SELECT count(*) FROM pending_episodes").fetchone()
        return int(n)

    # -- entities --------------------------------------------------------------------------

    def _entity_from_row(
        self, conn: sqlite3.Connection, row: tuple[Any, ...], *, with_attributes: bool = True
    ) -> Entity:
        (_rid, eid, tenant, user_id, key, name, kind, aliases, mentions, first_seen, last_seen) = (
            row
        )
        attributes: dict[str, list[str]] = {}
        rows = (
            conn.execute(
                "SELECT c.slot, c.value FROM claims c JOIN memories m ON m.rid = c.memory_rid"
                " WHERE c.tenant = ? AND c.user_id = ? AND c.slot LIKE ? ESCAPE '\\'"
                " AND c.positive = 1 AND m.status = 'active' ORDER BY m.valid_from, m.rid",
                (tenant, user_id, key.replace("%", "\\%").replace("_", "\\_") + "|%"),
            ).fetchall()
            if with_attributes
            else []
        )
        for slot, value in rows:
            values = attributes.setdefault(slot.split("|", 1)[1], [])
            if value not in values:
                values.append(value)
        # Read back as written: no second validation (a query reads a few of these).
        return trusted(
            Entity,
            id=eid,
            tenant=tenant,
            user_id=user_id,
            key=key,
            name=name,
            kind=kind,
            aliases=json.loads(aliases),
            mentions=mentions,
            first_seen=from_db(first_seen),
            last_seen=from_db(last_seen),
            attributes=attributes,
        )

    def find_entities(
        self,
        access: Access,
        user_id: str,
        keys: Sequence[str],
        *,
        with_attributes: bool = True,
    ) -> list[Entity]:
        """Entities of a user scope whose key, or an alias, is among ``keys``; with their
        current attribute values unless ``with_attributes`` is false (reading them costs
        a claim per statement ever made about the entity)."""
        if not keys or not access.allows(user_id):
            return []
        wanted = list(dict.fromkeys(k.lower() for k in keys))
        out: list[Entity] = []
        with self._read() as conn:
            for chunk in _chunks(wanted):
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT {_ENTITY_COLUMNS} FROM entities WHERE rid IN ("
                    " SELECT rid FROM entities WHERE tenant = ? AND user_id = ?"
                    f" AND key IN ({marks})"
                    " UNION SELECT entity_rid FROM entity_aliases WHERE tenant = ? AND user_id = ?"
                    f" AND alias IN ({marks}))",
                    [access.tenant, user_id, *chunk, access.tenant, user_id, *chunk],
                ).fetchall()
                out.extend(
                    self._entity_from_row(conn, r, with_attributes=with_attributes) for r in rows
                )
        return out

    def list_entities(
        self,
        access: Access,
        scope: ScopeFilter,
        *,
        kind: str | None,
        text: str | None,
        offset: int,
        limit: int,
    ) -> tuple[list[Entity], int]:
        """A page of entities, most mentioned first."""
        where, params = _scope_sql(access, ScopeFilter(user_id=scope.user_id), alias="e")
        if kind is not None:
            where += " AND e.kind = ?"
            params.append(kind)
        if text:
            where += " AND (e.key LIKE ? OR e.name LIKE ? OR e.aliases LIKE ?)"
            like = f"%{text.lower()}%"
            params.extend([like, like, like])
        with self._read() as conn:
            total = int(
                conn.execute(f"SELECT count(*) FROM entities e WHERE {where}", params).fetchone()[0]
            )
            rows = conn.execute(
                f"SELECT {_ENTITY_COLUMNS} FROM entities e WHERE {where}"
                " ORDER BY e.mentions DESC, e.rid LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
            items = [self._entity_from_row(conn, r) for r in rows]
        return items, total

    def get_entity(self, access: Access, entity_id: str) -> Entity | None:
        """One entity by id within the access."""
        where, params = _scope_sql(access, ScopeFilter(), alias="e", by_id=True)
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_ENTITY_COLUMNS} FROM entities e WHERE {where} AND e.id = ?",
                [*params, entity_id],
            ).fetchone()
            return None if row is None else self._entity_from_row(conn, row)

    def entity_memories(
        self, access: Access, entity_id: str, statuses: Sequence[str], limit: int
    ) -> list[MemoryRecord]:
        """Memories mentioning an entity, newest first."""
        where, params = _scope_sql(access, ScopeFilter(), alias="m", by_id=True)
        marks = ",".join("?" * len(statuses))
        with self._read() as conn:
            return self._memories_where(
                conn,
                f"{where} AND m.status IN ({marks}) AND m.rid IN (SELECT me.memory_rid FROM"
                " memory_entities me JOIN entities e ON e.rid = me.entity_rid WHERE e.id = ?)",
                [*params, *statuses, entity_id, limit],
                "ORDER BY m.occurred_at DESC, m.rid DESC LIMIT ?",
            )

    def memory_entities(self, access: Access, memory_ids: Sequence[str]) -> dict[str, list[Entity]]:
        """The entities each memory mentions."""
        out: dict[str, list[Entity]] = {mid: [] for mid in memory_ids}
        where, params = _scope_sql(access, ScopeFilter(), alias="m", by_id=True)
        with self._read() as conn:
            for chunk in _chunks(list(dict.fromkeys(memory_ids))):
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT m.id, {_ENTITY_COLUMNS_E} FROM memories m"
                    " JOIN memory_entities me ON me.memory_rid = m.rid"
                    f" JOIN entities e ON e.rid = me.entity_rid WHERE {where}"
                    f" AND m.id IN ({marks})",
                    [*params, *chunk],
                ).fetchall()
                for r in rows:
                    out[r[0]].append(self._entity_from_row(conn, r[1:]))
        return out

    def _claims_for_slots(
        self,
        conn: sqlite3.Connection,
        access: Access,
        user_id: str,
        wanted: Sequence[tuple[str, bool]],
    ) -> list[tuple[MemoryRecord, ClaimRow]]:
        access.require(user_id)
        out: list[tuple[MemoryRecord, ClaimRow]] = []
        pairs = list(dict.fromkeys((slot, int(positive)) for slot, positive in wanted))
        for chunk in _chunks(pairs):
            slots = list(dict.fromkeys(slot for slot, _ in chunk))
            rows = conn.execute(
                f"SELECT {_MEMORY_COLUMNS_M}, c.slot, c.value, c.value_key, c.single, c.positive"
                " FROM claims c JOIN memories m ON m.rid = c.memory_rid WHERE c.tenant = ?"
                f" AND c.user_id = ? AND c.slot IN ({','.join('?' * len(slots))})"
                f" AND (c.slot, c.positive) IN (VALUES {','.join(['(?,?)'] * len(chunk))})"
                " AND m.status = 'active' ORDER BY m.valid_from, m.rid",
                (access.tenant, user_id, *slots, *(v for pair in chunk for v in pair)),
            ).fetchall()
            evidence = self._evidence_ids(conn, [r[0] for r in rows])
            for r in rows:
                record = self._memory_from_row(r[:19], evidence[r[0]])
                out.append((record, ClaimRow(r[19], r[20], r[21], bool(r[22]), bool(r[23]))))
        return out

    def claims_for_slots(
        self, access: Access, user_id: str, wanted: Sequence[tuple[str, bool]]
    ) -> list[tuple[MemoryRecord, ClaimRow]]:
        """Active memories claiming these slots with this polarity (outside a transaction)."""
        with self._read() as conn:
            return self._claims_for_slots(conn, access, user_id, wanted)

    def _load_partition(
        self, tenant: str, user_id: str, since: int
    ) -> Iterator[list[PartitionRow]]:
        """A scope's memories written after ``since``, in batches, oldest write first."""
        conn = self._reader()
        cursor = conn.execute(
            "SELECT m.rid, m.id, m.status, m.kind, m.valid_from, m.valid_to, m.occurred_at,"
            " m.agent_id, m.session_id, m.change_seq, v.vec, (SELECT group_concat(e.id, ' ')"
            " FROM memory_entities me JOIN entities e ON e.rid = me.entity_rid"
            " WHERE me.memory_rid = m.rid) FROM memories m"
            " LEFT JOIN vectors v ON v.hash = m.embed_hash"
            " WHERE m.tenant = ? AND m.user_id = ? AND m.change_seq > ? ORDER BY m.change_seq",
            (tenant, user_id, since),
        )
        try:
            while rows := cursor.fetchmany(_PARTITION_BATCH):
                yield [
                    PartitionRow(
                        rid=r[0],
                        id=r[1],
                        status=r[2],
                        kind=r[3],
                        valid_from=from_db(r[4]),
                        valid_to=from_db(r[5]),
                        occurred_at=from_db(r[6]),
                        agent_id=r[7],
                        session_id=r[8],
                        change_seq=r[9],
                        vector=None if r[10] is None else np.frombuffer(r[10], dtype=np.float32),
                        entities=tuple(r[11].split()) if r[11] else (),
                    )
                    for r in rows
                ]
        finally:
            cursor.close()

    def _cache(self) -> VectorCache:
        if self._vectors is None:
            raise StoreError("no embedder is bound to this store")
        return self._vectors

    @staticmethod
    def _allowed_rids(
        conn: sqlite3.Connection, access: Access, query: MemoryQuery
    ) -> list[int] | None:
        if not query.conditions and query.speakers is None:
            return None
        where, params = _query_sql(access, query)
        return [r for (r,) in conn.execute(f"SELECT m.rid FROM memories m WHERE {where}", params)]

    def _partition_args(
        self, conn: sqlite3.Connection, access: Access, query: MemoryQuery
    ) -> dict[str, Any]:
        """What every call into the scope's partition passes: the store's epoch and change
        sequence (a partition synced at this sequence has nothing to load), the loader,
        and the query's filters."""
        # Within a snapshot the store's state cannot move: it is read once.
        held: dict[str, Any] | None = getattr(self._local, "snapshot", None)
        meta = None if held is None else held.get("meta")
        if meta is None:
            meta = dict(
                conn.execute(
                    "SELECT key, value FROM mnemos_meta WHERE key IN ('epoch', 'change_seq')"
                ).fetchall()
            )
            if held is not None:
                held["meta"] = meta
        allowed = self._allowed_rids(conn, access, query)
        return {
            "epoch": str(meta["epoch"]),
            "store_seq": int(meta["change_seq"]),
            "load": self._load_partition,
            **self._mask_filters(query, allowed),
        }

    @staticmethod
    def _mask_filters(query: MemoryQuery, allowed: list[int] | None) -> dict[str, Any]:
        return {
            "statuses": query.statuses,
            "kinds": query.kinds,
            "valid_at": query.valid_at,
            "occurred_after": query.occurred_after,
            "occurred_before": query.occurred_before,
            "agent_id": query.scope.agent_id,
            "session_id": query.scope.session_id,
            "allowed_rids": allowed,
            "ids": query.ids,
        }

    def vector_search(
        self, access: Access, query: MemoryQuery, vector: Vector, limit: int
    ) -> list[tuple[str, float]]:
        """Exact cosine scan of the (tenant, user) partition, filters applied as masks."""
        user_id = query.scope.user_id
        if user_id is None:
            raise InvalidInputError("vector search needs a user_id", field="user_id")
        access.require(user_id)
        cache = self._cache()
        with self._read() as conn:
            return cache.search(
                access.tenant,
                user_id,
                vector=np.asarray(vector, dtype=np.float32),
                limit=limit,
                **self._partition_args(conn, access, query),
            )

    def vector_search_many(
        self, access: Access, query: MemoryQuery, vectors: Vector, limit: int
    ) -> list[list[tuple[str, float]]]:
        """Several exact cosine scans of the partition in one matrix product."""
        user_id = query.scope.user_id
        if user_id is None:
            raise InvalidInputError("vector search needs a user_id", field="user_id")
        access.require(user_id)
        cache = self._cache()
        with self._read() as conn:
            return cache.search_many(
                access.tenant,
                user_id,
                vectors=np.asarray(vectors, dtype=np.float32).reshape(-1, cache.dimension),
                limit=limit,
                **self._partition_args(conn, access, query),
            )

    def iter_export(
        self, access: Access, scope: ScopeFilter
    ) -> Iterator[Episode | Entity | MemoryRecord | HistoryEvent]:
        """Every episode, entity, memory and history event of the scope, in a stable order."""
        with self._read() as conn:
            where, params = _scope_sql(access, scope, alias="e")
            for row in conn.execute(
                f"SELECT {_EPISODE_COLUMNS} FROM episodes e WHERE {where} ORDER BY e.rid", params
            ):
                yield self._episode_from_row(row)
            where, params = _scope_sql(access, ScopeFilter(user_id=scope.user_id), alias="e")
            for row in conn.execute(
                f"SELECT {_ENTITY_COLUMNS} FROM entities e WHERE {where} ORDER BY e.rid",
                params,
            ).fetchall():
                yield self._entity_from_row(conn, row, with_attributes=False)
            where, params = _scope_sql(access, scope, alias="m")
            cursor = conn.execute(
                f"SELECT {_MEMORY_COLUMNS} FROM memories m WHERE {where} ORDER BY m.rid", params
            )
            while batch := cursor.fetchmany(500):
                evidence = self._evidence_ids(conn, [r[0] for r in batch])
                for row in batch:
                    yield self._memory_from_row(row, evidence[row[0]])
            where, params = _scope_sql(access, scope, alias="m")
            for row in conn.execute(
                f"SELECT {_HISTORY_COLUMNS_H}"
                f" FROM memory_history h JOIN memories m ON m.id = h.memory_id"
                f" WHERE {where} ORDER BY h.rid",
                params,
            ):
                yield self._history_from_row(row)

    def stats(self, access: Access, scope: ScopeFilter) -> StoreStats:
        """Counts for the scope; file size for the whole store."""
        with self._read() as conn:
            meta = self._meta(conn)
            ew, ep = _scope_sql(access, scope, alias="e")
            mw, mp = _scope_sql(access, scope, alias="m")
            hw, hp = _scope_sql(access, scope, alias="h")
            episodes = conn.execute(f"SELECT count(*) FROM episodes e WHERE {ew}", ep).fetchone()[0]
            by_status = dict(
                conn.execute(
                    f"SELECT status, count(*) FROM memories m WHERE {mw} GROUP BY status", mp
                )
            )
            by_kind = dict(
                conn.execute(f"SELECT kind, count(*) FROM memories m WHERE {mw} GROUP BY kind", mp)
            )
            users = conn.execute(
                f"SELECT count(DISTINCT user_id) FROM episodes e WHERE {ew}", ep
            ).fetchone()[0]
            history = conn.execute(
                f"SELECT count(*) FROM memory_history h WHERE {hw}", hp
            ).fetchone()[0]
            vectors = conn.execute(
                f"SELECT count(DISTINCT embed_hash) FROM memories m WHERE {mw}", mp
            ).fetchone()[0]
        size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        return StoreStats(
            path=str(self.path),
            schema_version=int(meta["schema_version"]),
            embedder=meta.get("embedder", ""),
            dimension=int(meta.get("dimension", 0)),
            episodes=episodes,
            memories=sum(by_status.values()),
            memories_by_status=by_status,
            memories_by_kind=by_kind,
            users=users,
            history_events=history,
            vectors=vectors,
            file_bytes=size,
        )

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close every connection; later calls raise ClosedError. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._checkpointer.stop()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        with self._write_lock:
            with contextlib.suppress(sqlite3.Error):
                self._writer.execute("PRAGMA optimize")
            self._writer.close()
        if self._vectors is not None:
            self._vectors.clear()

    # -- api keys (migration 3) --------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A plain ``BEGIN IMMEDIATE`` write that does not touch the memory change sequence."""
        self._ensure_open()
        with self._write_lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise _translate(exc, str(self.path)) from None
            self._checkpointer.committed()

    @staticmethod
    def _key_from_row(row: tuple[Any, ...]) -> ApiKey:
        key_id, tenant, name, user_ids, created_at, revoked_at = row
        created = from_db(created_at)
        assert created is not None
        return ApiKey(
            id=key_id,
            tenant=tenant,
            name=name,
            user_ids=None if user_ids is None else json.loads(user_ids),
            created_at=created,
            revoked_at=from_db(revoked_at),
        )

    def insert_key(self, key: ApiKey, token_hash: str) -> None:
        """Store a new key with the digest of its token."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO api_keys (id, tenant, name, user_ids, token_hash, created_at,"
                " revoked_at) VALUES (?,?,?,?,?,?,?)",
                (
                    key.id,
                    key.tenant,
                    key.name,
                    None if key.user_ids is None else _json(key.user_ids),
                    token_hash,
                    to_db(key.created_at),
                    to_db(key.revoked_at),
                ),
            )

    def get_key(self, key_id: str) -> tuple[ApiKey, str] | None:
        """The key with this id and its token digest."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT id, tenant, name, user_ids, created_at, revoked_at, token_hash"
                " FROM api_keys WHERE id = ?",
                (key_id,),
            ).fetchone()
        return None if row is None else (self._key_from_row(row[:6]), row[6])

    def list_keys(self, tenant: str | None) -> list[ApiKey]:
        """Keys of a tenant (or all tenants), oldest first."""
        where, params = ("WHERE tenant = ?", [tenant]) if tenant is not None else ("", [])
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, tenant, name, user_ids, created_at, revoked_at FROM api_keys"
                f" {where} ORDER BY created_at, id",
                params,
            ).fetchall()
        return [self._key_from_row(r) for r in rows]

    def revoke_key(self, key_id: str, at: datetime) -> ApiKey | None:
        """Mark a key revoked (keeping the first revocation time)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
                (to_db(at), key_id),
            )
            row = conn.execute(
                "SELECT id, tenant, name, user_ids, created_at, revoked_at FROM api_keys"
                " WHERE id = ?",
                (key_id,),
            ).fetchone()
        return None if row is None else self._key_from_row(row)
