"""The engine: ingest, recall and record keeping over one store and one embedder.

The :class:`~mnemos.memory.Memory` facade and every interface (CLI, REST, MCP) call into
this class; it never learns which storage backend it drives.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from mnemos._ids import new_id
from mnemos._time import now, parse_when
from mnemos._version import __version__
from mnemos.embedders.base import Embedder
from mnemos.engine.config import HYBRID, SearchConfig
from mnemos.engine.derive import Candidate, DeriveContext, Deriver, NoteDeriver, StatementDeriver
from mnemos.engine.embedding import EmbeddingService
from mnemos.engine.filters import parse_filters
from mnemos.engine.indexing import embed_text, index_text, norm_hash
from mnemos.engine.ingest import Reconciler, claim_rows, entity_writes, near_duplicates
from mnemos.engine.recall import analyse_query, assemble, run_channels
from mnemos.engine.text import analyze, count_tokens
from mnemos.engine.validate import (
    check_id,
    check_limit,
    check_metadata,
    check_scope_id,
    check_text,
    normalize_messages,
)
from mnemos.errors import ConflictError, InvalidInputError, NotFoundError, StoreError
from mnemos.io.jsonl import read_export, write_export
from mnemos.models import (
    AddResult,
    Context,
    Entity,
    Episode,
    EraseResult,
    HistoryEvent,
    MemoryRecord,
    Page,
    SearchHit,
    SearchResult,
    StoreStats,
    TransferResult,
)
from mnemos.settings import Settings
from mnemos.storage.base import (
    Access,
    MemoryQuery,
    MemoryWrite,
    ScopeFilter,
    Store,
    Vector,
)

__all__ = ["Engine", "new_id", "snapshot"]

log = logging.getLogger("mnemos")

MAX_QUERY_CHARS = 10_000

# What ``warm_up`` derives: it reaches the lemma and inflection tables (a first-person
# statement is rewritten about its speaker), a name, a relative date and a preference.
_WARM_UP_TEXT = "I moved to Lisbon with my sister Anna last Saturday and I love hiking there."


def snapshot(record: MemoryRecord) -> dict[str, Any]:
    """A memory as a history event records it (JSON-ready)."""
    return record.model_dump(mode="json", exclude={"tenant"})


def _time_bounds(record: MemoryRecord) -> tuple[datetime | None, datetime | None]:
    span = record.attributes.get("time")
    if not isinstance(span, dict):
        return None, None
    try:
        return parse_when(span["start"]), parse_when(span["end"])
    except (KeyError, InvalidInputError):
        return None, None


class Engine:
    """Everything the facade does, on one store, one embedder and one access scope.

    Args:
        store: The storage backend.
        embedder: The embedding model (its id and dimension are bound to the store).
        settings: Limits and defaults.
        access: The tenant and user scopes every operation is confined to.
        deriver: Turns episodes into candidate memories (default: the zero-LLM
            :class:`~mnemos.engine.derive.StatementDeriver`).
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
        self.deriver: Deriver = deriver or StatementDeriver()
        self.embeddings = EmbeddingService(embedder, store)
        self.default_config = HYBRID.model_copy(update={"rrf_k": settings.rrf_k})
        self._people: dict[tuple[str, str], set[str]] = {}
        self._people_lock = threading.Lock()
        store.bind_embedder(embedder.id, embedder.dimension)
        # Shared by every view of this engine: how many stored episodes may still wait for
        # their memories (queued here, or left by a process that stopped before deriving).
        self._backlog = _Backlog(store.count_pending())

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

    def writes_for(
        self, records: Sequence[MemoryRecord], previous: Mapping[str, str] | None = None
    ) -> tuple[list[MemoryWrite], dict[str, Vector]]:
        """What to write for each memory (index fields, claims, entity links, event time,
        hashes) and the vectors the store does not have yet.

        Args:
            records: The memories.
            previous: Episode id -> text of the turn before it, for notes' context field.
        """
        texts = [embed_text(r) for r in records]
        hashes, vectors = self.embeddings.vectors_for(texts)
        writes = []
        for record, h in zip(records, hashes, strict=True):
            start, end = _time_bounds(record)
            if start is None and record.occurred_at is not None:
                # Without a time of its own, a memory is about the day it was said.
                day = record.occurred_at.replace(hour=0, minute=0, second=0, microsecond=0)
                start, end = day, day + timedelta(days=1)
            before = (previous or {}).get(record.episode_ids[0]) if record.episode_ids else None
            writes.append(
                MemoryWrite(
                    record=record,
                    index=index_text(record, before),
                    embed_hash=h,
                    norm_hash=norm_hash(record.text),
                    claims=claim_rows(record),
                    entity_keys=[
                        k for k in record.attributes.get("entities") or [] if isinstance(k, str)
                    ],
                    time_start=start,
                    time_end=end,
                )
            )
        return writes, vectors

    def _get(self, memory_id: Any) -> MemoryRecord:
        mid = check_id(memory_id)
        found = self.store.get_memories(self.access, [mid])
        if not found:
            raise NotFoundError(f"no memory with id {mid!r}", memory_id=mid)
        return found[0]

    def _known_people(self, user_id: str) -> set[str]:
        key = (self.access.tenant, user_id)
        with self._people_lock:
            known = self._people.get(key)
        if known is None:
            found, _ = self.store.list_entities(
                self.access,
                ScopeFilter(user_id=user_id),
                kind="person",
                text=None,
                offset=0,
                limit=1000,
            )
            known = {e.name.lower() for e in found} | {a.lower() for e in found for a in e.aliases}
            with self._people_lock:
                self._people[key] = known
        return set(known)

    def _remember_people(self, user_id: str, candidates: Sequence[Candidate]) -> None:
        names = {m.text.lower() for c in candidates for m in c.mentions if m.kind == "person"}
        if names:
            with self._people_lock:
                self._people.setdefault((self.access.tenant, user_id), set()).update(names)

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
        wait: bool = True,
    ) -> AddResult:
        """Store messages as episodes, derive memories, reconcile, index, in one transaction;
        or, with ``wait=False``, store the episodes and queue them for :meth:`settle`."""
        if not isinstance(wait, bool):
            raise InvalidInputError(f"wait must be true or false, not {wait!r}", field="wait")
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
        if not wait:
            with self.store.transaction() as tx:
                tx.insert_episodes(episodes, pending=True)
            if self._backlog.grow(len(episodes)) >= self.settings.derive_batch:
                self.settle()
            return AddResult(episodes=episodes, memories=[], changes=[], pending=True)
        self.settle()  # what was queued before comes first
        return self._derive(self.access, [(scope, episodes)], default_at, queued=False)

    def settle(self) -> int:
        """Derive the memories of every queued episode (``add(wait=False)``), oldest first:
        a run of one user's turns per transaction, each session's turns derived in the
        context of that session. Returns how many episodes it derived.

        Reads call this first, so what was added is what they see.
        """
        if not self._backlog.count:
            return 0
        done = 0
        with self._backlog.lock:
            while True:
                hinted = self._backlog.count
                queued = self.store.pending_episodes(self.settings.derive_batch)
                if not queued:
                    # What the hint held is done (or was never there: erased, derived by
                    # another process); messages queued since the queue was read stay.
                    self._backlog.shrink(hinted)
                    return done
                for run in _runs(queued, _user_of):
                    first = run[0]
                    access = Access(first.tenant, None)
                    sessions = [
                        (
                            ScopeFilter(
                                user_id=s[0].user_id,
                                agent_id=s[0].agent_id,
                                session_id=s[0].session_id,
                            ),
                            s,
                        )
                        for s in _runs(run, _scope_of)
                    ]
                    try:
                        self._derive(access, sessions, first.occurred_at, queued=True)
                        done += len(run)
                    except _TakenElsewhere:
                        pass
                    except StoreError:
                        raise  # the store is busy or broken: the queue waits for the next try
                    except Exception:
                        # A deriver failing on these messages must not hold up the queue and
                        # every read: they get the note each message gets, and it is logged.
                        log.warning(
                            "deriving %d queued messages failed; stored as notes",
                            len(run),
                            exc_info=True,
                        )
                        with contextlib.suppress(_TakenElsewhere):
                            self._derive(
                                access,
                                sessions,
                                first.occurred_at,
                                queued=True,
                                deriver=NoteDeriver(),
                            )
                            done += len(run)
                    self._backlog.shrink(len(run))

    def _derive(
        self,
        access: Access,
        sessions: list[tuple[ScopeFilter, list[Episode]]],
        default_at: datetime,
        *,
        queued: bool,
        deriver: Deriver | None = None,
    ) -> AddResult:
        """Derive, reconcile and index the memories of one user's episodes in one
        transaction, the episodes of each scope (session) in their own context; ``queued``
        episodes are stored already and taken off the queue."""
        user_id = sessions[0][0].user_id
        assert user_id is not None
        engine = self if access == self.access else self.with_access(access)
        people = engine._known_people(user_id)
        episodes: list[Episode] = []
        candidates: list[Candidate] = []
        records: list[MemoryRecord] = []
        previous: dict[str, str] = {}
        for scope, run in sessions:
            earlier = self.store.recent_episodes(
                access, scope, 4, before=run[0].id if queued else None
            )
            derived = (deriver or self.deriver).derive(
                run, DeriveContext(previous=earlier, people=people)
            )
            covered = {eid for c in derived for eid in c.episode_ids}
            missing = [e for e in run if e.id not in covered]
            if missing:  # every message yields a memory; a deriver bug must not lose one
                derived += NoteDeriver().derive(missing)
            # The people named so far are known to the next session's messages.
            people = people | {
                m.text.lower() for c in derived for m in c.mentions if m.kind == "person"
            }
            records += [engine._record(c, scope, run[0].recorded_at) for c in derived]
            chain = [*earlier, *run]
            previous.update((b.id, a.text) for a, b in itertools.pairwise(chain))
            episodes += run
            candidates += derived
        writes, vectors = self.writes_for(records, previous)
        near = near_duplicates(self, access, user_id, writes, vectors)
        with self.store.transaction() as tx:
            if not queued:
                tx.insert_episodes(episodes)
            elif tx.take_pending([e.id for e in episodes]) != len(episodes):
                raise _TakenElsewhere  # another writer derived them first: undo, skip
            tx.put_vectors(vectors)
            tx.upsert_entities(access, user_id, entity_writes(candidates, default_at))
            outcome = Reconciler(engine, tx, access, user_id, near).run(candidates, writes)
            tx.add_history(outcome.history)
        engine._remember_people(user_id, candidates)
        return AddResult(episodes=episodes, memories=outcome.inserted, changes=outcome.changes)

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
        self.settle()
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
        previous = self._previous_texts([updated])
        (write,), vectors = self.writes_for([updated], previous)
        with self.store.transaction() as tx:
            tx.put_vectors(vectors)
            tx.replace_memory(self.access, write)
            events = [
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
            if current.kind == "note" and new_text != current.text and current.episode_ids:
                # Statements derived from the message now contradict its edited note.
                for stale in tx.memories_of_episodes(self.access, current.episode_ids[:1]):
                    if stale.kind == "note" or stale.status != "active":
                        continue
                    ended = stale.model_copy(
                        update={
                            "status": "superseded",
                            "valid_to": stamp,
                            "superseded_by": current.id,
                            "expired_at": stamp,
                            "version": stale.version + 1,
                            "updated_at": stamp,
                        }
                    )
                    tx.update_state(self.access, ended)
                    events.append(
                        HistoryEvent(
                            id=new_id(),
                            memory_id=stale.id,
                            event="SUPERSEDE",
                            version=ended.version,
                            at=stamp,
                            actor="update",
                            reason="the note it was derived from was edited",
                            before=snapshot(stale),
                            after=snapshot(ended),
                        )
                    )
            tx.add_history(events)
        return updated

    def _previous_texts(self, records: Sequence[MemoryRecord]) -> dict[str, str]:
        anchors = [r.episode_ids[0] for r in records if r.kind == "note" and r.episode_ids]
        if not anchors:
            return {}
        around = self.store.neighbors(self.access, anchors, 1, 0)
        return {eid: eps[-1].text for eid, eps in around.items() if eps}

    def _set_status(
        self,
        memory_id: Any,
        event: Literal["DELETE", "RESTORE"],
        reason: Any,
        *,
        expect: set[str],
    ) -> MemoryRecord:
        self.settle()
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
        with self.store.transaction() as tx:
            tx.update_state(self.access, changed)
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
        with self._people_lock:
            self._people.pop((self.access.tenant, scope.user_id or ""), None)
        return counts

    def export(self, path: Any, *, user_id: Any = None) -> TransferResult:
        """Write every episode, entity, memory and history event (of one user, or the
        tenant)."""
        self.settle()
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
            entities=counts["entity"],
        )

    def import_(self, path: Any) -> TransferResult:
        """Load an export file into this tenant, whole or not at all."""
        self.settle()
        if not isinstance(path, str | os.PathLike):
            raise InvalidInputError("path must be a file path", field="path")
        data = read_export(path)
        tenant = self.access.tenant
        episodes = [e.model_copy(update={"tenant": tenant}) for e in data.episodes]
        memories = [m.model_copy(update={"tenant": tenant}) for m in data.memories]
        entities = [e.model_copy(update={"tenant": tenant}) for e in data.entities]
        users = {e.user_id for e in episodes} | {m.user_id for m in memories}
        for user in sorted(users | {e.user_id for e in entities}):
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
        by_id = {e.id: e for e in episodes}
        ordered = sorted(
            episodes, key=lambda e: (e.user_id, e.agent_id or "", e.session_id or "", e.occurred_at)
        )
        previous = {
            b.id: a.text
            for a, b in itertools.pairwise(ordered)
            if (a.user_id, a.agent_id, a.session_id) == (b.user_id, b.agent_id, b.session_id)
        }
        del by_id
        writes, vectors = self.writes_for(memories, previous)
        with self.store.transaction() as tx:
            tx.put_vectors(vectors)
            tx.insert_episodes(episodes)
            tx.insert_entities(self.access, entities)
            tx.insert_memories(writes)
            tx.add_history(data.history)
        return TransferResult(
            path=str(path),
            episodes=len(episodes),
            memories=len(memories),
            history=len(data.history),
            entities=len(entities),
        )

    # -- read path -------------------------------------------------------------------------

    def get(self, memory_id: Any) -> MemoryRecord:
        """One memory by id, whatever its status."""
        self.settle()
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
        self.settle()
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
        self.settle()
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

    def warm_up(self) -> float:
        """Load what the first ``add`` and ``search`` would otherwise stop to load: the
        embedding model, and the word tables that derivation and query analysis read.

        Writes nothing. Returns the seconds it took.
        """
        began = time.perf_counter()
        self.embeddings.embedder.embed([_WARM_UP_TEXT])
        stamp = now()
        sample = Episode(
            id=new_id(),
            tenant=self.access.tenant,
            user_id="mnemos-warm-up",
            role="user",
            name="Sam",
            text=_WARM_UP_TEXT,
            occurred_at=stamp,
            recorded_at=stamp,
        )
        self.deriver.derive([sample], DeriveContext(people={"anna"}))
        analyze(_WARM_UP_TEXT)
        return time.perf_counter() - began

    def stats(self, *, user_id: Any = None) -> StoreStats:
        """Counts and sizes for the tenant, or for one user in it."""
        self.settle()
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
        """Multi-channel recall fused by weighted RRF; see :mod:`mnemos.engine.recall`."""
        self.settle()
        started = time.perf_counter()
        text = check_text(query, field="query", max_chars=MAX_QUERY_CHARS)
        scope = self._scope(user_id, agent_id, session_id, user_required=True)
        assert scope.user_id is not None
        limit = check_limit(limit, field="limit", high=1000)
        budget = (
            None
            if budget_tokens is None
            else check_limit(budget_tokens, field="budget_tokens", high=10_000_000)
        )
        when = None if at is None else parse_when(at, field="at")
        cfg = config or self.default_config
        if not isinstance(cfg, SearchConfig):
            raise InvalidInputError("config must be a SearchConfig", field="config")
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
        # The query is embedded before the snapshot opens, so the read transaction is
        # held only while the store is read.
        vector = self.embeddings.query_vector(text) if "vector" in cfg.active_channels() else None
        # Every channel and the hits read one state of the store: a write committed
        # meanwhile cannot leave a hit without its record or its context.
        with self.store.snapshot():
            analysis = analyse_query(
                self.store,
                self.access,
                scope.user_id,
                text,
                when or now(),
                functools.partial(self._known_people, scope.user_id),
            )
            anchors: dict[str, tuple[str | None, str, str | None]] = {}
            rankings = run_channels(
                self.store,
                self.access,
                mq,
                analysis,
                vector,
                cfg,
                max(cfg.candidates, limit),
                anchors,
            )
            names = {t for n in analysis.entity_names for t in analyze(n)}
            hits = assemble(
                self.store,
                self.access,
                mq,
                rankings,
                analysis.fusion_config(cfg),
                limit,
                budget,
                set(analysis.terms) - names,
                anchors,
            )
        return SearchResult(
            query=text,
            hits=hits,
            total_tokens=sum(h.tokens for h in hits),
            budget_tokens=budget,
            at=when,
            took_ms=(time.perf_counter() - started) * 1000,
        )

    # -- entities --------------------------------------------------------------------------

    def get_entity(self, entity_id: Any) -> Entity:
        """One entity by id, with its current attributes."""
        self.settle()
        eid = check_id(entity_id, field="entity_id")
        found = self.store.get_entity(self.access, eid)
        if found is None:
            raise NotFoundError(f"no entity with id {eid!r}", entity_id=eid)
        return found

    def list_entities(
        self,
        *,
        user_id: Any = None,
        kind: Any = None,
        query: Any = None,
        limit: Any = 100,
        offset: Any = 0,
    ) -> Page[Entity]:
        """A page of entities, most mentioned first."""
        self.settle()
        scope = self._scope(user_id, None, None, user_required=False)
        kinds = ("person", "place", "organization", "thing", "concept")
        if kind is not None and kind not in kinds:
            raise InvalidInputError(
                f"kind must be one of {list(kinds)}, got {kind!r}", field="kind"
            )
        text = None if query is None else check_text(query, field="query", max_chars=200)
        limit = check_limit(limit, field="limit", high=1000)
        offset = check_limit(offset, field="offset", low=0, high=10**12)
        items, total = self.store.list_entities(
            self.access, scope, kind=kind, text=text, offset=offset, limit=limit
        )
        following = offset + len(items)
        return Page[Entity](
            items=items,
            total=total,
            offset=offset,
            limit=limit,
            next_offset=following if following < total else None,
        )

    def entity_memories(
        self, entity_id: Any, *, include_superseded: bool = True, limit: Any = 100
    ) -> list[MemoryRecord]:
        """Memories that mention an entity, newest first (superseded ones included: its history)."""
        self.settle()
        entity = self.get_entity(entity_id)
        limit = check_limit(limit, field="limit", high=1000)
        statuses = ("active", "superseded") if include_superseded else ("active",)
        return self.store.entity_memories(self.access, entity.id, statuses, limit)

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
        recent: Any = 3,
    ) -> Context:
        """A prompt block for ``query`` within a token budget: what is currently known about
        the people it names, the most relevant memories with their dates, and the last
        turns of the session (when one is given)."""
        self.settle()
        budget = check_limit(budget_tokens, field="budget_tokens", low=50, high=1_000_000)
        recent = check_limit(recent, field="recent", low=0, high=50)
        text_query = check_text(query, field="query", max_chars=MAX_QUERY_CHARS)
        scope = self._scope(user_id, agent_id, session_id, user_required=True)
        assert scope.user_id is not None
        when = None if at is None else parse_when(at, field="at")
        analysis = analyse_query(
            self.store,
            self.access,
            scope.user_id,
            text_query,
            when or now(),
            functools.partial(self._known_people, scope.user_id),
        )
        people = self.store.find_entities(
            self.access, scope.user_id, [p.lower() for p in analysis.people]
        )
        profile = [
            f"- {p.name}: "
            + "; ".join(f"{a}: {', '.join(v)}" for a, v in sorted(p.attributes.items()))
            for p in people
            if p.attributes
        ]
        latest = (
            self.store.recent_episodes(self.access, scope, recent)
            if scope.session_id is not None and recent
            else []
        )
        conversation = [f"- {e.name or e.role}: {' '.join(e.text.split())}" for e in latest]
        room = budget
        blocks: list[list[str]] = []
        for title, lines in (("Known now:", profile), ("Recent conversation:", conversation)):
            kept = _fit(title, lines, room)
            room -= count_tokens("\n".join(kept))
            blocks.append(kept)
        title = "Relevant memories (most relevant first; [date] = when it was said):"
        result = self.search(
            text_query,
            user_id=scope.user_id,
            agent_id=scope.agent_id,
            limit=limit,
            at=at,
            budget_tokens=max(room, 1),
        )
        rendered = {hit.id: _context_line(hit) for hit in result.hits}
        memories = _fit(title, list(rendered.values()), room)
        used = [hit for hit in result.hits if rendered[hit.id] in memories]
        text = "\n".join([*blocks[0], *memories, *blocks[1]]) or "No relevant memories."
        return Context(
            query=text_query,
            text=text,
            hits=used,
            tokens=count_tokens(text),
            budget_tokens=budget,
        )


class _TakenElsewhere(Exception):
    """Queued episodes another writer derived first (the transaction is rolled back)."""


class _Backlog:
    """A count of episodes that may wait for their memories, and the lock that derives
    them one writer at a time. The count is a hint kept low-cost for reads: the queue in
    the store is the truth."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.lock = threading.RLock()
        self._guard = threading.Lock()

    def grow(self, n: int) -> int:
        with self._guard:
            self.count += n
            return self.count

    def shrink(self, n: int) -> None:
        with self._guard:
            self.count = max(0, self.count - n)


def _runs(
    episodes: Sequence[Episode], key: Callable[[Episode], tuple[str | None, ...]]
) -> list[list[Episode]]:
    """Consecutive episodes with the same key, in order."""
    return [list(group) for _, group in itertools.groupby(episodes, key=key)]


def _user_of(e: Episode) -> tuple[str | None, ...]:
    return (e.tenant, e.user_id, e.agent_id)


def _scope_of(e: Episode) -> tuple[str | None, ...]:
    return (e.tenant, e.user_id, e.agent_id, e.session_id)


def _fit(title: str, lines: list[str], room: int) -> list[str]:
    """The title and as many lines, in order, as fit in ``room`` tokens (nothing if none)."""
    kept: list[str] = []
    cost = count_tokens(title)
    for line in lines:
        if cost + count_tokens(line) <= room:
            kept.append(line)
            cost += count_tokens(line)
    return [title, *kept] if kept else []


def _context_line(hit: SearchHit) -> str:
    when = hit.occurred_at.strftime("%Y-%m-%d") if hit.occurred_at else "undated"
    speakers = sorted({e.name or e.role for e in hit.evidence})
    who = f"{', '.join(speakers)}: " if speakers else ""
    time = hit.attributes.get("time")
    resolved = ""
    if isinstance(time, dict) and time.get("text") and time.get("label"):
        resolved = f" ({time['text']} = {time['label']})"
    return f"- [{when}] {who}{' '.join(hit.text.split())}{resolved}"
