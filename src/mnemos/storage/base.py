"""The storage protocol every backend implements, and the value types it speaks in.

The engine only ever talks to a :class:`Store`; it never learns which backend it has.
Every read and write takes an :class:`Access`, and a backend must apply it in the query
itself (``WHERE tenant = ? AND user_id IN (...)``), so no code path above the store can
reach another tenant's rows by forgetting a check.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from mnemos.errors import AccessDeniedError
from mnemos.models import Entity, Episode, EraseResult, HistoryEvent, MemoryRecord, StoreStats
from mnemos.storage.keys import KeyStore
from mnemos.storage.vector_index import GraphView

__all__ = [
    "Access",
    "ClaimRow",
    "Condition",
    "EntityWrite",
    "IndexText",
    "MemoryQuery",
    "MemoryWrite",
    "ScopeFilter",
    "Store",
    "StoreInfo",
    "StoreTransaction",
]

Vector = npt.NDArray[np.float32]
Operator = Literal["eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "exists"]


@dataclass(frozen=True, slots=True)
class Access:
    """What a caller may touch: one tenant, and optionally only some of its users.

    Attributes:
        tenant: The tenant every row read or written must belong to.
        user_ids: The user scopes allowed; ``None`` allows every user of the tenant.
    """

    tenant: str
    user_ids: frozenset[str] | None = None

    def allows(self, user_id: str) -> bool:
        """Whether this access reaches ``user_id``."""
        return self.user_ids is None or user_id in self.user_ids

    def require(self, user_id: str) -> None:
        """Raise unless this access reaches ``user_id``.

        Raises:
            AccessDeniedError: the user scope is outside the allowed set.
        """
        if not self.allows(user_id):
            raise AccessDeniedError(
                f"user scope {user_id!r} is outside the scopes this caller is bound to",
                user_id=user_id,
            )


@dataclass(frozen=True, slots=True)
class ScopeFilter:
    """Narrows rows to a user, and optionally an agent and a session (``None`` = any)."""

    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    """One metadata condition: ``metadata[path] <op> value`` (path segments joined by dots)."""

    path: tuple[str, ...]
    op: Operator
    value: Any = None


@dataclass(frozen=True, slots=True)
class MemoryQuery:
    """Which memories a listing or search considers.

    Attributes:
        scope: User / agent / session narrowing.
        statuses: Statuses to include (default: only active).
        kinds: Kinds to include (``None`` = all).
        valid_at: Only memories true at this world time: ``valid_from <= t < valid_to``
            (a missing bound is open). With it, superseded memories count as well.
        occurred_after: Only memories whose ``occurred_at`` is at or after this time.
        occurred_before: Only memories whose ``occurred_at`` is before this time.
        conditions: Metadata conditions, all of which must hold.
        ids: Only these memory ids (``None`` = no restriction).
        speakers: Only memories derived from what these people said (``None`` = anyone).
    """

    scope: ScopeFilter = field(default_factory=ScopeFilter)
    statuses: tuple[str, ...] = ("active",)
    kinds: tuple[str, ...] | None = None
    valid_at: datetime | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    conditions: tuple[Condition, ...] = ()
    ids: frozenset[str] | None = None
    speakers: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class IndexText:
    """Analysed lexical terms of a memory, by field (see :func:`mnemos.engine.text.analyze`).

    Attributes:
        body: The memory's own text.
        turn: The question it answers: the turn before it in the same session, when that
            asks something.
        context: The turn before it in the same session otherwise (what it follows).
        keys: Speaker, resolved dates and entity names: searched, not shown.
    """

    body: Sequence[str]
    turn: Sequence[str] = ()
    context: Sequence[str] = ()
    keys: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class ClaimRow:
    """One claim a memory makes: ``slot`` is ``subject|attribute``."""

    slot: str
    value: str
    value_key: str
    single: bool
    positive: bool


@dataclass(frozen=True, slots=True)
class EntityWrite:
    """An entity mention to record for a user scope (created if new, else counted), with
    names it is also known by ("ana's sister")."""

    key: str
    name: str
    kind: str
    seen_at: datetime | None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MemoryWrite:
    """A memory as written: the record plus what only the store needs.

    Attributes:
        record: The memory itself.
        index: Analysed lexical terms to index, by field.
        embed_hash: Content hash of the text that was embedded for it, which keys its vector
            in the store's vector table; ``None`` for a memory without a vector.
        norm_hash: Hash of its normalised text, for duplicate detection.
        claims: The claims it makes (for knowledge updates).
        entity_keys: Keys of the entities it mentions (in its user scope).
        time_start: Start of the time it is about (resolved from its text), if known.
        time_end: End (exclusive) of that time.
    """

    record: MemoryRecord
    index: IndexText
    embed_hash: str | None
    norm_hash: str | None = None
    claims: Sequence[ClaimRow] = ()
    entity_keys: Sequence[str] = ()
    time_start: datetime | None = None
    time_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """What a store says about itself."""

    location: str
    schema_version: int
    embedder_id: str | None
    dimension: int | None


class StoreTransaction(Protocol):
    """Writes that land together or not at all. Obtained from :meth:`Store.transaction`."""

    def insert_episodes(self, episodes: Sequence[Episode], *, pending: bool = False) -> None:
        """Insert new episodes. Raises ConflictError if an id exists.

        ``pending``: their memories are not derived yet; they are queued (in this order)
        until :meth:`take_pending` removes them in the transaction that writes those.
        """
        ...

    def take_pending(self, episode_ids: Sequence[str]) -> int:
        """Take episodes off the pending queue; returns how many were on it (another
        writer may have taken some first)."""
        ...

    def insert_memories(self, memories: Sequence[MemoryWrite]) -> None:
        """Insert new memories with their evidence links and index entries."""
        ...

    def replace_memory(self, access: Access, memory: MemoryWrite) -> None:
        """Overwrite the current version of an existing memory (same id) and reindex it."""
        ...

    def add_history(self, events: Sequence[HistoryEvent]) -> None:
        """Append history events."""
        ...

    def put_vectors(self, vectors: dict[str, Vector]) -> None:
        """Store vectors by content hash (existing hashes are kept)."""
        ...

    def update_state(self, access: Access, record: MemoryRecord) -> None:
        """Write a memory's state (status, validity, successor, version, timestamps) without
        touching its text, index entries or links."""
        ...

    def memories_of_episodes(
        self, access: Access, episode_ids: Sequence[str]
    ) -> list[MemoryRecord]:
        """Every memory whose first evidence is one of these episodes (any status but
        deleted), read inside the transaction."""
        ...

    def recent_memories(
        self, access: Access, user_id: str, *, speaker: str | None, limit: int
    ) -> list[MemoryRecord]:
        """The latest active memories of a user scope (by a speaker, if given), newest
        first, read inside the transaction."""
        ...

    def add_evidence(self, access: Access, memory_id: str, episode_ids: Sequence[str]) -> None:
        """Link more episodes to an existing memory as evidence (a merge)."""
        ...

    def insert_entities(self, access: Access, entities: Sequence[Entity]) -> None:
        """Insert entities exactly as given (an import). Raises ConflictError on a clash."""
        ...

    def upsert_entities(
        self, access: Access, user_id: str, entities: Sequence[EntityWrite]
    ) -> None:
        """Create entities not yet known in the user scope; count mentions of known ones."""
        ...

    def claims_for_slots(
        self, access: Access, user_id: str, wanted: Sequence[tuple[str, bool]]
    ) -> list[tuple[MemoryRecord, ClaimRow]]:
        """Active memories making claims on these slots with this polarity (pairs of slot
        and ``positive``), read inside the transaction."""
        ...

    def find_by_norm(
        self, access: Access, user_id: str, norm_hashes: Sequence[str]
    ) -> dict[str, MemoryRecord]:
        """Memories (active first, then superseded) by normalised-text hash, read inside
        the transaction."""
        ...

    def erase(self, access: Access, scope: ScopeFilter) -> EraseResult:
        """Hard-delete every episode, memory, history event, index entry and unshared
        vector of a scope."""
        ...


class Store(KeyStore, Protocol):
    """A mnemos store. Implementations: :mod:`mnemos.storage.sqlite` (default).

    A store also keeps the API keys that guard it (see :class:`~mnemos.storage.keys.KeyStore`).
    """

    def info(self) -> StoreInfo:
        """Location, schema version and the embedder the store was built with."""
        ...

    def bind_embedder(self, embedder_id: str, dimension: int) -> None:
        """Record the embedder on a new store, or check it matches on an existing one.

        Raises:
            EmbedderMismatchError: the store was built with another embedder or dimension.
        """
        ...

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        """A write transaction; it commits when the block exits cleanly, else rolls back."""
        ...

    def close(self) -> None:
        """Release connections and caches. Idempotent."""
        ...

    def snapshot(self) -> AbstractContextManager[None]:
        """A block in which every read of this thread sees one state of the store: what
        another writer commits meanwhile is seen after the block. Blocks nest."""
        ...

    # -- reads -----------------------------------------------------------------------------

    def get_memories(self, access: Access, ids: Sequence[str]) -> list[MemoryRecord]:
        """The memories with these ids that the access reaches, in the order asked."""
        ...

    def list_memories(
        self, access: Access, query: MemoryQuery, *, offset: int, limit: int
    ) -> tuple[list[MemoryRecord], int]:
        """A page of matching memories, newest first, and the total count."""
        ...

    def get_episodes(self, access: Access, ids: Sequence[str]) -> list[Episode]:
        """The episodes with these ids that the access reaches, in the order asked."""
        ...

    def list_episodes(
        self, access: Access, scope: ScopeFilter, *, offset: int, limit: int
    ) -> tuple[list[Episode], int]:
        """A page of episodes in time order, and the total count."""
        ...

    def evidence(self, access: Access, memory_ids: Sequence[str]) -> dict[str, list[Episode]]:
        """The episodes each memory rests on, in time order."""
        ...

    def history(self, access: Access, memory_id: str) -> list[HistoryEvent]:
        """The memory's history events, oldest first."""
        ...

    def get_vectors(self, hashes: Sequence[str]) -> dict[str, Vector]:
        """Stored vectors for those content hashes that have one."""
        ...

    def lexical_search(
        self,
        access: Access,
        query: MemoryQuery,
        terms: Sequence[str],
        limit: int,
        *,
        weights: Mapping[str, float] | None = None,
    ) -> list[tuple[str, float]]:
        """BM25 over analysed terms (any term may match): ``(memory id, score)``, best first.

        ``weights`` weighs the index fields (body, turn, context, keys); default all 1.
        """
        ...

    def time_search(
        self, access: Access, query: MemoryQuery, start: datetime, end: datetime, limit: int
    ) -> list[tuple[str, float]]:
        """Memories whose resolved time overlaps ``[start, end)``, tightest first: score is
        the share of the memory's time span inside the window."""
        ...

    def vector_search_many(
        self, access: Access, query: MemoryQuery, vectors: Vector, limit: int
    ) -> list[list[tuple[str, float]]]:
        """:meth:`vector_search` for each row of a 2-D array of query vectors."""
        ...

    def slot_search(
        self,
        access: Access,
        query: MemoryQuery,
        slots: Sequence[str],
        limit: int,
        *,
        attributes: Sequence[str] = (),
    ) -> list[tuple[str, float]]:
        """Memories that query allows and that claim one of these ``subject|attribute``
        slots positively, or one of these ``attributes`` of anyone ("Who is getting
        married?"), most recently valid first (score 1 / rank)."""
        ...

    def entity_graph(
        self,
        access: Access,
        query: MemoryQuery,
        seeds: Sequence[str] | None = None,
        hops: int = 2,
        *,
        whole_below: int = 0,
    ) -> GraphView:
        """The user scope's memory-entity graph, restricted to memories the query allows
        and, with ``seeds`` (entity ids), to their neighbourhood within ``hops`` steps,
        unless the scope holds at most ``whole_below`` memories: then it is returned
        whole, with the seeds' nodes (``GraphView.seed_nodes``)."""
        ...

    def neighbors(
        self, access: Access, episode_ids: Sequence[str], before: int, after: int
    ) -> dict[str, list[Episode]]:
        """Up to ``before`` and ``after`` episodes around each episode in its session, in
        time order, the episode itself excluded."""
        ...

    def memory_anchors(
        self, access: Access, memory_ids: Sequence[str]
    ) -> dict[str, tuple[str | None, str, str | None]]:
        """For each memory: its first evidence episode's id, its kind and that episode's
        speaker name (a light read for grouping and filtering candidates before they are
        loaded)."""
        ...

    def memory_texts(self, access: Access, memory_ids: Sequence[str]) -> dict[str, str]:
        """The text of each memory the access may read (a light read: no record built)."""
        ...

    def episode_notes(
        self, access: Access, episode_ids: Sequence[str], statuses: Sequence[str]
    ) -> dict[str, MemoryRecord]:
        """The note (kind ``note``) of each episode, if it has one in those statuses."""
        ...

    def recent_episodes(
        self, access: Access, scope: ScopeFilter, limit: int, *, before: str | None = None
    ) -> list[Episode]:
        """The last ``limit`` episodes of a scope, oldest first; with ``before`` (an episode
        id), the last ones before that episode."""
        ...

    def pending_episodes(self, limit: int) -> list[Episode]:
        """Up to ``limit`` queued episodes whose memories are not derived yet, of any
        tenant, oldest first (maintenance: not confined to an access scope)."""
        ...

    def count_pending(self) -> int:
        """How many episodes of any tenant wait for their memories."""
        ...

    def find_entities(
        self,
        access: Access,
        user_id: str,
        keys: Sequence[str],
        *,
        with_attributes: bool = True,
    ) -> list[Entity]:
        """Entities of a user scope by key (or alias); without their current attribute
        values (an empty ``attributes``) where the caller needs only who they are."""
        ...

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
        """A page of entities, most mentioned first, optionally of one kind or matching text."""
        ...

    def get_entity(self, access: Access, entity_id: str) -> Entity | None:
        """One entity by id, with its current attributes."""
        ...

    def entity_memories(
        self, access: Access, entity_id: str, statuses: Sequence[str], limit: int
    ) -> list[MemoryRecord]:
        """Memories mentioning an entity, newest first."""
        ...

    def memory_entities(self, access: Access, memory_ids: Sequence[str]) -> dict[str, list[Entity]]:
        """The entities each memory mentions."""
        ...

    def vector_search(
        self, access: Access, query: MemoryQuery, vector: Vector, limit: int
    ) -> list[tuple[str, float]]:
        """Cosine similarity to ``vector``: ``(memory id, similarity)``, best first."""
        ...

    def iter_export(
        self, access: Access, scope: ScopeFilter
    ) -> Iterator[Episode | Entity | MemoryRecord | HistoryEvent]:
        """Every episode, entity, memory (any status) and history event, in that order."""
        ...

    def stats(self, access: Access, scope: ScopeFilter) -> StoreStats:
        """Counts and sizes."""
        ...
