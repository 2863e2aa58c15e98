"""The storage protocol every backend implements, and the value types it speaks in.

The engine only ever talks to a :class:`Store`; it never learns which backend it has.
Every read and write takes an :class:`Access`, and a backend must apply it in the query
itself (``WHERE tenant = ? AND user_id IN (...)``), so no code path above the store can
reach another tenant's rows by forgetting a check.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from mnemos.errors import AccessDeniedError
from mnemos.models import Episode, EraseResult, HistoryEvent, MemoryRecord, StoreStats
from mnemos.storage.keys import KeyStore

__all__ = [
    "Access",
    "Condition",
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
    """

    scope: ScopeFilter = field(default_factory=ScopeFilter)
    statuses: tuple[str, ...] = ("active",)
    kinds: tuple[str, ...] | None = None
    valid_at: datetime | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    conditions: tuple[Condition, ...] = ()
    ids: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class MemoryWrite:
    """A memory as written: the record plus what only the store needs.

    Attributes:
        record: The memory itself.
        terms: Analysed lexical terms (see :func:`mnemos.engine.text.analyze`) to index.
        embed_hash: Content hash of the text that was embedded for it, which keys its vector
            in the store's vector table; ``None`` for a memory without a vector.
    """

    record: MemoryRecord
    terms: Sequence[str]
    embed_hash: str | None


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """What a store says about itself."""

    location: str
    schema_version: int
    embedder_id: str | None
    dimension: int | None


class StoreTransaction(Protocol):
    """Writes that land together or not at all. Obtained from :meth:`Store.transaction`."""

    def insert_episodes(self, episodes: Sequence[Episode]) -> None:
        """Insert new episodes. Raises ConflictError if an id exists."""
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
        self, access: Access, query: MemoryQuery, terms: Sequence[str], limit: int
    ) -> list[tuple[str, float]]:
        """BM25 over analysed terms (any term may match): ``(memory id, score)``, best first."""
        ...

    def vector_search(
        self, access: Access, query: MemoryQuery, vector: Vector, limit: int
    ) -> list[tuple[str, float]]:
        """Cosine similarity to ``vector``: ``(memory id, similarity)``, best first."""
        ...

    def iter_export(
        self, access: Access, scope: ScopeFilter
    ) -> Iterator[Episode | MemoryRecord | HistoryEvent]:
        """Every episode, then every memory (any status), then every history event."""
        ...

    def stats(self, access: Access, scope: ScopeFilter) -> StoreStats:
        """Counts and sizes."""
        ...
