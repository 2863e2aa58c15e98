"""The engine: ingest, recall and record keeping over one store and one embedder.

The :class:`~mnemos.memory.Memory` facade and every interface (CLI, REST, MCP) call into
this class; it never learns which storage backend it drives.
"""

from __future__ import annotations

import copy
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from mnemos._time import now, parse_when
from mnemos._version import __version__
from mnemos.embedders.base import Embedder
from mnemos.engine.config import HYBRID, SearchConfig
from mnemos.engine.derive import Candidate, Deriver, NoteDeriver
from mnemos.engine.embedding import EmbeddingService
from mnemos.engine.filters import parse_filters
from mnemos.engine.fusion import max_rrf, rrf
from mnemos.engine.indexing import embed_text, index_terms
from mnemos.engine.text import analyze, count_tokens
from mnemos.engine.validate import (
    check_id,
    check_limit,
    check_metadata,
    check_scope_id,
    check_text,
    normalize_messages,
)
from mnemos.errors import ConflictError, InvalidInputError, NotFoundError
from mnemos.io.jsonl import read_export, write_export
from mnemos.models import (
    AddResult,
    Context,
    Episode,
    EraseResult,
    Evidence,
    HistoryEvent,
    MemoryChange,
    MemoryRecord,
    Page,
    SearchHit,
    SearchResult,
    StoreStats,
    TransferResult,
)
from mnemos.settings import Settings
from mnemos.storage.base import Access, MemoryQuery, MemoryWrite, ScopeFilter, Store, Vector

__all__ = ["Engine", "new_id", "snapshot"]

MAX_QUERY_CHARS = 10_000


def new_id() -> str:
    """A fresh random record id (UUID4, as Mem0 uses)."""
    return str(uuid.uuid4())


def snapshot(record: MemoryRecord) -> dict[str, Any]:
    """A memory as a history event records it (JSON-ready)."""
    return record.model_dump(mode="json", exclude={"tenant"})


class Engine:
    """Everything the facade does, on one store, one embedder and one access scope.

    Args:
        store: The storage backend.
        embedder: The embedding model (its id and dimension are bound to the store).
        settings: Limits and defaults.
        access: The tenant and user scopes every operation is confined to.
        deriver: Turns episodes into candidate memories (default: one note per message).
    """

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        settings: Settings,
        access: Access,
        deriver: Deriver | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.access = access
        self.deriver: Deriver = deriver or NoteDeriver()
        self.embeddings = EmbeddingService(embedder, store)
        self.default_config = HYBRID.model_copy(update={"rrf_k": settings.rrf_k})
        store.bind_embedder(embedder.id, embedder.dimension)

    def with_access(self, access: Access) -> Engine:
        """The same engine (store, embedder, caches) confined to another access scope."""
        clone = copy.copy(self)
        clone.access = access
        return clone

    # -- helpers ---------------------------------------------------------------------------

    def _scope(
        self, user_id: Any, agent_id: Any, session_id: Any, *, user_required: bool
    ) -> ScopeFilter:
        user = check_scope_id(user_id, field="user_id", required=user_required)
        agent = check_scope_id(agent_id, field="agent_id", required=False)
        session = check_scope_id(session_id, field="session_id", required=False)
        if user is not None:
            self.access.require(user)
        return ScopeFilter(user_id=user, agent_id=agent, session_id=session)

    def _write(self, record: MemoryRecord) -> tuple[MemoryWrite, str]:
        attrs = record.attributes
        return (
            MemoryWrite(record=record, terms=index_terms(record.text, attrs), embed_hash=None),
            embed_text(record.text, attrs),
        )

    def _with_vectors(
        self, records: Sequence[MemoryRecord]
    ) -> tuple[list[MemoryWrite], dict[str, Vector]]:
        writes = [self._write(r) for r in records]
        hashes, new = self.embeddings.vectors_for([text for _, text in writes])
        out = [
            MemoryWrite(record=w.record, terms=w.terms, embed_hash=h)
            for (w, _), h in zip(writes, hashes, strict=True)
        ]
        return out, new

    def _get(self, memory_id: Any) -> MemoryRecord:
        mid = check_id(memory_id)
        found = self.store.get_memories(self.access, [mid])
        if not found:
            raise NotFoundError(f"no memory with id {mid!r}", memory_id=mid)
        return found[0]

    # -- write path ------------------------------------------------------------------------

    def add(
        self,
        messages: Any,
        *,
        user_id: Any,
        agent_id: Any = None,
        session_id: Any = None,
        at: Any = None,
        metadata: Any = None,
    ) -> AddResult:
        """Store messages as episodes, derive memories, index both, in one transaction."""
        scope = self._scope(user_id, agent_id, session_id, user_required=True)
        assert scope.user_id is not None
        recorded = now()
        default_at = recorded if at is None else parse_when(at, field="at")
        base_metadata = check_metadata(metadata)
        msgs = normalize_messages(
            messages,
            default_at=default_at,
            max_chars=self.settings.max_text_chars,
            base_metadata=base_metadata,
        )
        episodes = [
            Episode(
                id=new_id(),
                tenant=self.access.tenant,
                user_id=scope.user_id,
                agent_id=scope.agent_id,
                session_id=scope.session_id,
                role=m.role,
                name=m.name,
                text=m.content,
                occurred_at=m.at or default_at,
                recorded_at=recorded,
                metadata=m.metadata,
            )
            for m in msgs
        ]
        candidates = self.deriver.derive(episodes)
        records = [self._record(c, scope, recorded) for c in candidates]
        covered = {eid for r in records for eid in r.episode_ids}
        missing = [e.id for e in episodes if e.id not in covered]
        if missing:  # every message yields at least one memory; a deriver bug must not lose one
            records += [
                self._record(c, scope, recorded)
                for c in NoteDeriver().derive([e for e in episodes if e.id in set(missing)])
            ]
        writes, vectors = self._with_vectors(records)
        events = [
            HistoryEvent(
                id=new_id(),
                memory_id=r.id,
                event="ADD",
                version=r.version,
                at=recorded,
                actor="add",
                after=snapshot(r),
            )
            for r in records
        ]
        with self.store.transaction() as tx:
            tx.put_vectors(vectors)
            tx.insert_episodes(episodes)
            tx.insert_memories(writes)
            tx.add_history(events)
        return AddResult(
            episodes=episodes,
            memories=records,
            changes=[MemoryChange(memory_id=r.id, event="ADD") for r in records],
        )

    def _record(self, c: Candidate, scope: ScopeFilter, at: datetime) -> MemoryRecord:
        assert scope.user_id is not None
        return MemoryRecord(
            id=new_id(),
            tenant=self.access.tenant,
            user_id=scope.user_id,
            agent_id=scope.agent_id,
            session_id=scope.session_id,
            kind=c.kind,
            text=c.text,
            occurred_at=c.occurred_at,
            valid_from=c.valid_from or c.occurred_at,
            valid_to=c.valid_to,
            created_at=at,
            updated_at=at,
            metadata=c.metadata,
            episode_ids=list(c.episode_ids),
            attributes=c.attributes,
        )

    def update(
        self,
        memory_id: Any,
        text: Any = None,
        *,
        metadata: Any = None,
        reason: Any = None,
    ) -> MemoryRecord:
        """Write a new version of a memory; the old one stays in its history."""
        current = self._get(memory_id)
        if current.status == "deleted":
            raise ConflictError(
                f"memory {current.id} is deleted; restore it before updating", memory_id=current.id
            )
        if text is None and metadata is None:
            raise InvalidInputError("update needs text, metadata or both", field="text")
        new_text = (
            current.text
            if text is None
            else check_text(text, field="text", max_chars=self.settings.max_text_chars)
        )
        new_meta = current.metadata if metadata is None else check_metadata(metadata)
        why = None if reason is None else check_text(reason, field="reason", max_chars=2000)
        if new_text == current.text and new_meta == current.metadata:
            return current
        stamp = now()
        updated = current.model_copy(
            update={
                "text": new_text,
                "metadata": new_meta,
                "version": current.version + 1,
                "updated_at": stamp,
            }
        )
        (write,), vectors = self._with_vectors([updated])
        with self.store.transaction() as tx:
            tx.put_vectors(vectors)
            tx.replace_memory(self.access, write)
            tx.add_history(
                [
                    HistoryEvent(
                        id=new_id(),
                        memory_id=current.id,
                        event="UPDATE",
                        version=updated.version,
                        at=stamp,
                        actor="update",
                        reason=why,
                        before=snapshot(current),
                        after=snapshot(updated),
                    )
                ]
            )
        return updated

    def _set_status(
        self,
        memory_id: Any,
        event: Literal["DELETE", "RESTORE"],
        reason: Any,
        *,
        expect: set[str],
    ) -> MemoryRecord:
        current = self._get(memory_id)
        if current.status not in expect:
            raise ConflictError(
                f"memory {current.id} is {current.status}; cannot {event.lower()} it",
                memory_id=current.id,
                status=current.status,
            )
        why = None if reason is None else check_text(reason, field="reason", max_chars=2000)
        stamp = now()
        if event == "DELETE":
            changes: dict[str, Any] = {"status": "deleted", "expired_at": stamp}
        else:
            previous = self.store.history(self.access, current.id)
            before_delete = next(
                (e.before for e in reversed(previous) if e.event == "DELETE" and e.before), None
            )
            restored = (before_delete or {}).get("status", "active")
            changes = {"status": restored, "expired_at": (before_delete or {}).get("expired_at")}
        changed = current.model_copy(
            update={**changes, "version": current.version + 1, "updated_at": stamp}
        )
        changed = MemoryRecord.model_validate(changed.model_dump())
        (write,), vectors = self._with_vectors([changed])
        with self.store.transaction() as tx:
            tx.put_vectors(vectors)
            tx.replace_memory(self.access, write)
            tx.add_history(
                [
                    HistoryEvent(
                        id=new_id(),
                        memory_id=current.id,
                        event=event,
                        version=changed.version,
                        at=stamp,
                        actor=event.lower(),
                        reason=why,
                        before=snapshot(current),
                        after=snapshot(changed),
                    )
                ]
            )
        return changed

    def delete(self, memory_id: Any, *, reason: Any = None) -> MemoryRecord:
        """Soft-delete: hidden from recall and listings, recoverable with restore."""
        return self._set_status(
            memory_id, "DELETE", reason, expect={"active", "superseded", "archived", "quarantined"}
        )

    def restore(self, memory_id: Any, *, reason: Any = None) -> MemoryRecord:
        """Undo a soft delete, returning the memory to the status it had before."""
        return self._set_status(memory_id, "RESTORE", reason, expect={"deleted"})

    def erase(self, *, user_id: Any, agent_id: Any = None, session_id: Any = None) -> EraseResult:
        """Hard-delete every trace of a scope: episodes, memories, history, index entries."""
        scope = self._scope(user_id, agent_id, session_id, user_required=True)
        with self.store.transaction() as tx:
            counts = tx.erase(self.access, scope)
        self.embeddings.clear()
        return counts

    def export(self, path: Any, *, user_id: Any = None) -> TransferResult:
        """Write every episode, memory and history event (of one user, or the tenant)."""
        if not isinstance(path, str | os.PathLike):
            raise InvalidInputError("path must be a file path", field="path")
        scope = self._scope(user_id, None, None, user_required=False)
        info = self.store.info()
        header = {
            "mnemos": __version__,
            "tenant": self.access.tenant,
            "user_id": scope.user_id,
            "embedder": info.embedder_id,
            "dimension": info.dimension,
        }
        counts = write_export(path, header, self.store.iter_export(self.access, scope))
        return TransferResult(
            path=str(path),
            episodes=counts["episode"],
            memories=counts["memory"],
            history=counts["history"],
        )

    def import_(self, path: Any) -> TransferResult:
        """Load an export file into this tenant, whole or not at all."""
        if not isinstance(path, str | os.PathLike):
            raise InvalidInputError("path must be a file path", field="path")
        data = read_export(path)
        tenant = self.access.tenant
        episodes = [e.model_copy(update={"tenant": tenant}) for e in data.episodes]
        memories = [m.model_copy(update={"tenant": tenant}) for m in data.memories]
        for user in sorted({e.user_id for e in episodes} | {m.user_id for m in memories}):
            self.access.require(user)
        memory_ids = {m.id for m in memories}
        orphans = [h.memory_id for h in data.history if h.memory_id not in memory_ids]
        if orphans:
            raise InvalidInputError(
                f"{path}: history events refer to memories not in the file: {orphans[:3]}"
            )
        clashes = [m.id for m in self.store.get_memories(self.access, sorted(memory_ids))]
        clashes += [e.id for e in self.store.get_episodes(self.access, [e.id for e in episodes])]
        if clashes:
            raise ConflictError(
                f"{len(clashes)} record(s) in {path} already exist in this store "
                f"(for example {clashes[0]}); nothing was imported",
                ids=clashes[:20],
            )
        writes, vectors = self._with_vectors(memories)
        with self.store.transaction() as tx:
            tx.put_vectors(vectors)
            tx.insert_episodes(episodes)
            tx.insert_memories(writes)
            tx.add_history(data.history)
        return TransferResult(
            path=str(path),
            episodes=len(episodes),
            memories=len(memories),
            history=len(data.history),
        )

    # -- read path -------------------------------------------------------------------------

    def get(self, memory_id: Any) -> MemoryRecord:
        """One memory by id, whatever its status."""
        return self._get(memory_id)

    def get_all(
        self,
        *,
        user_id: Any = None,
        agent_id: Any = None,
        session_id: Any = None,
        filters: Mapping[str, Any] | None = None,
        limit: Any = 100,
        offset: Any = 0,
    ) -> Page[MemoryRecord]:
        """A page of memories, newest first."""
        scope = self._scope(user_id, agent_id, session_id, user_required=False)
        limit = check_limit(limit, field="limit", high=1000)
        offset = check_limit(offset, field="offset", low=0, high=10**12)
        parsed = parse_filters(filters)
        query = MemoryQuery(
            scope=scope,
            statuses=parsed.statuses or ("active",),
            kinds=parsed.kinds,
            occurred_after=parsed.occurred_after,
            occurred_before=parsed.occurred_before,
            conditions=parsed.conditions,
        )
        items, total = self.store.list_memories(self.access, query, offset=offset, limit=limit)
        following = offset + len(items)
        return Page[MemoryRecord](
            items=items,
            total=total,
            offset=offset,
            limit=limit,
            next_offset=following if following < total else None,
        )

    def history(self, memory_id: Any) -> list[HistoryEvent]:
        """Every change to a memory, oldest first."""
        record = self._get(memory_id)
        return self.store.history(self.access, record.id)

    def get_episode(self, episode_id: Any) -> Episode:
        """One episode by id."""
        eid = check_id(episode_id, field="episode_id")
        found = self.store.get_episodes(self.access, [eid])
        if not found:
            raise NotFoundError(f"no episode with id {eid!r}", episode_id=eid)
        return found[0]

    def list_episodes(
        self,
        *,
        user_id: Any = None,
        agent_id: Any = None,
        session_id: Any = None,
        limit: Any = 100,
        offset: Any = 0,
    ) -> Page[Episode]:
        """A page of episodes in time order."""
        scope = self._scope(user_id, agent_id, session_id, user_required=False)
        limit = check_limit(limit, field="limit", high=1000)
        offset = check_limit(offset, field="offset", low=0, high=10**12)
        items, total = self.store.list_episodes(self.access, scope, offset=offset, limit=limit)
        following = offset + len(items)
        return Page[Episode](
            items=items,
            total=total,
            offset=offset,
            limit=limit,
            next_offset=following if following < total else None,
        )

    def stats(self, *, user_id: Any = None) -> StoreStats:
        """Counts and sizes for the tenant, or for one user in it."""
        scope = self._scope(user_id, None, None, user_required=False)
        return self.store.stats(self.access, scope)

    def search(
        self,
        query: Any,
        *,
        user_id: Any,
        agent_id: Any = None,
        session_id: Any = None,
        limit: Any = 10,
        filters: Mapping[str, Any] | None = None,
        at: Any = None,
        budget_tokens: Any = None,
        config: SearchConfig | None = None,
    ) -> SearchResult:
        """Hybrid recall: BM25 and vector channels fused by weighted RRF."""
        started = time.perf_counter()
        text = check_text(query, field="query", max_chars=MAX_QUERY_CHARS)
        scope = self._scope(user_id, agent_id, session_id, user_required=True)
        limit = check_limit(limit, field="limit", high=1000)
        budget = (
            None
            if budget_tokens is None
            else check_limit(budget_tokens, field="budget_tokens", high=10_000_000)
        )
        when = None if at is None else parse_when(at, field="at")
        cfg = config or self.default_config
        parsed = parse_filters(filters)
        statuses = parsed.statuses or (("active", "superseded") if when else ("active",))
        mq = MemoryQuery(
            scope=scope,
            statuses=statuses,
            kinds=parsed.kinds,
            valid_at=when,
            occurred_after=parsed.occurred_after,
            occurred_before=parsed.occurred_before,
            conditions=parsed.conditions,
        )
        pool = max(cfg.candidates, limit)
        channels = cfg.active_channels()
        found: dict[str, list[tuple[str, float]]] = {}
        if "bm25" in channels:
            found["bm25"] = self.store.lexical_search(self.access, mq, analyze(text), pool)
        if "vector" in channels:
            vector = self.embeddings.query_vector(text)
            found["vector"] = self.store.vector_search(self.access, mq, vector, pool)
        fused = rrf(
            {c: [mid for mid, _ in hits] for c, hits in found.items()},
            k=cfg.rrf_k,
            weights=cfg.weights,
        )
        raw = {c: dict(hits) for c, hits in found.items()}
        top_k = max_rrf(channels, k=cfg.rrf_k, weights=cfg.weights)
        wanted = [f.key for f in fused[: limit if budget is None else min(len(fused), limit * 4)]]
        records = {r.id: r for r in self.store.get_memories(self.access, wanted)}
        evidence = self.store.evidence(self.access, list(records))
        hits: list[SearchHit] = []
        total_tokens = 0
        for item in fused:
            if len(hits) >= limit:
                break
            record = records.get(item.key)
            if record is None:
                continue
            hit = self._hit(
                record, evidence.get(record.id, []), item.score / top_k, item.ranks, raw
            )
            if budget is not None and total_tokens + hit.tokens > budget:
                continue
            total_tokens += hit.tokens
            hits.append(hit)
        return SearchResult(
            query=text,
            hits=hits,
            total_tokens=total_tokens,
            budget_tokens=budget,
            at=when,
            took_ms=(time.perf_counter() - started) * 1000,
        )

    def context(
        self,
        query: Any,
        *,
        user_id: Any,
        agent_id: Any = None,
        session_id: Any = None,
        budget_tokens: Any = 1000,
        at: Any = None,
        limit: Any = 20,
    ) -> Context:
        """A prompt block of the memories most relevant to ``query``, within a budget."""
        budget = check_limit(budget_tokens, field="budget_tokens", low=50, high=1_000_000)
        header = "Relevant memories (most relevant first; date = when it happened):"
        room = budget - count_tokens(header)
        lines: list[str] = []
        used: list[SearchHit] = []
        result = self.search(
            query,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            limit=limit,
            at=at,
            budget_tokens=room,
        )
        for hit in result.hits:
            line = _context_line(hit)
            cost = count_tokens(line)
            if cost > room:
                continue
            room -= cost
            lines.append(line)
            used.append(hit)
        text = "\n".join([header, *lines]) if lines else "No relevant memories."
        return Context(
            query=result.query,
            text=text,
            hits=used,
            tokens=count_tokens(text),
            budget_tokens=budget,
        )

    @staticmethod
    def _hit(
        record: MemoryRecord,
        episodes: list[Episode],
        score: float,
        ranks: dict[str, int],
        raw: dict[str, dict[str, float]],
    ) -> SearchHit:
        tokens = count_tokens(record.text) + sum(
            count_tokens(e.text) for e in episodes if e.text not in record.text
        )
        return SearchHit(
            id=record.id,
            text=record.text,
            kind=record.kind,
            score=round(score, 6),
            scores={c: raw[c][record.id] for c in ranks},
            ranks=dict(ranks),
            occurred_at=record.occurred_at,
            valid_from=record.valid_from,
            valid_to=record.valid_to,
            status=record.status,
            user_id=record.user_id,
            agent_id=record.agent_id,
            session_id=record.session_id,
            metadata=record.metadata,
            attributes=record.attributes,
            evidence=[
                Evidence(
                    episode_id=e.id,
                    role=e.role,
                    name=e.name,
                    text=e.text,
                    occurred_at=e.occurred_at,
                    session_id=e.session_id,
                    metadata=e.metadata,
                )
                for e in episodes
            ],
            tokens=tokens,
        )


def _context_line(hit: SearchHit) -> str:
    when = hit.occurred_at.strftime("%Y-%m-%d") if hit.occurred_at else "undated"
    speakers = sorted({e.name or e.role for e in hit.evidence})
    who = f"{', '.join(speakers)}: " if speakers else ""
    return f"- [{when}] {who}{' '.join(hit.text.split())}"
