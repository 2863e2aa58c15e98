"""The public facade: :class:`Memory` and its async twin :class:`AsyncMemory`.

Both are thin: they hold the open/closed state and hand every call to the engine.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import os
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, Self

from mnemos.embedders import embedder_from_settings
from mnemos.embedders.base import Embedder
from mnemos.engine.config import SearchConfig
from mnemos.engine.derive import Deriver
from mnemos.engine.engine import Engine
from mnemos.errors import ClosedError, InvalidInputError
from mnemos.keys import ApiKey, ApiKeys, IssuedKey
from mnemos.models import (
    AddResult,
    Context,
    Entity,
    Episode,
    EraseResult,
    HistoryEvent,
    MemoryRecord,
    Page,
    SearchResult,
    StoreStats,
    TransferResult,
)
from mnemos.settings import Settings
from mnemos.storage.base import Access, Store

logger = logging.getLogger("mnemos")

__all__ = ["AsyncMemory", "Memory"]


class Episodes:
    """``mem.episodes``: the raw evidence, read-only."""

    def __init__(self, owner: Memory) -> None:
        self._owner = owner

    def get(self, episode_id: str) -> Episode:
        """One episode by id.

        Raises:
            NotFoundError: no such episode in this tenant and scope.
        """
        return self._owner._engine.get_episode(episode_id)

    def list(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Page[Episode]:
        """A page of episodes in the order they happened."""
        return self._owner._engine.list_episodes(
            user_id=user_id, agent_id=agent_id, session_id=session_id, limit=limit, offset=offset
        )


class Entities:
    """``mem.entities``: the people, places, organisations, things and concepts memories
    mention, with what is currently known about each."""

    def __init__(self, owner: Memory) -> None:
        self._owner = owner

    def get(self, entity_id: str) -> Entity:
        """One entity with its current attribute values.

        Raises:
            NotFoundError: no such entity in this tenant and scope.
        """
        return self._owner._engine.get_entity(entity_id)

    def list(
        self,
        *,
        user_id: str | None = None,
        kind: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Page[Entity]:
        """A page of entities, most mentioned first."""
        return self._owner._engine.list_entities(
            user_id=user_id, kind=kind, limit=limit, offset=offset
        )

    def search(self, query: str, *, user_id: str | None = None, limit: int = 20) -> Page[Entity]:
        """Entities whose name or alias contains ``query``."""
        return self._owner._engine.list_entities(user_id=user_id, query=query, limit=limit)

    def history(self, entity_id: str, *, limit: int = 100) -> builtins.list[MemoryRecord]:
        """Every memory mentioning the entity, newest first, superseded ones included: how
        what is known about it changed, with the validity of each."""
        return self._owner._engine.entity_memories(entity_id, limit=limit)


class Memory:
    """Memory for an agent, backed by one store.

    Example:
        >>> with Memory("agent.db") as mem:                          # doctest: +SKIP
        ...     mem.add("I moved to Lisbon last month", user_id="ana")
        ...     mem.search("where does Ana live?", user_id="ana").hits[0].text

    Args:
        path: The store file (default: ``mnemos.db`` under the user's data directory).
        embedder: A registered embedder name (default ``"minilm-static"``) or an Embedder
            object.
        tenant: The tenant every operation is bound to (default ``"default"``).
        user_ids: If given, the only user scopes this Memory may read or write.
        settings: A complete Settings object; other keyword settings override it.
        store: A store object to use instead of opening ``path`` (for other backends).
        deriver: A custom deriver (default: the built-in zero-LLM derivation).
        **options: Any other :class:`~mnemos.settings.Settings` field.

    Raises:
        ConfigurationError: invalid settings or an unknown embedder.
        MissingDependencyError: the embedder's optional dependency is missing.
        StoreError: the store cannot be opened (see its subclasses).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        embedder: str | Embedder | None = None,
        tenant: str | None = None,
        user_ids: Iterable[str] | None = None,
        settings: Settings | None = None,
        store: Store | None = None,
        deriver: Deriver | None = None,
        **options: Any,
    ) -> None:
        overrides = {
            "path": path,
            "embedder": embedder if isinstance(embedder, str) else None,
            "tenant": tenant,
            **options,
        }
        if settings is None:
            settings = Settings.load(**overrides)
        else:
            clean = {k: v for k, v in overrides.items() if v is not None}
            settings = Settings.load(**{**settings.model_dump(exclude_unset=True), **clean})
        if isinstance(user_ids, str):
            raise InvalidInputError("user_ids must be a collection of user ids, not one string")
        model = (
            embedder
            if embedder is not None and not isinstance(embedder, str)
            else embedder_from_settings(settings)
        )
        owns_store = store is None
        if store is None:
            from mnemos.storage.sqlite import SQLiteStore

            store = SQLiteStore(settings.store_path, busy_timeout_s=settings.busy_timeout_s)
        access = Access(settings.tenant, None if user_ids is None else frozenset(user_ids))
        try:
            self._engine_: Engine | None = Engine(store, model, settings, access, deriver)
        except BaseException:
            if owns_store:
                store.close()
            raise
        self._store = store
        self._owns_store = True
        self.settings = settings
        self.episodes = Episodes(self)
        self.entities = Entities(self)
        self.keys = ApiKeys(self)

    def scoped(self, *, tenant: str | None = None, user_ids: Iterable[str] | None = None) -> Memory:
        """A view of this Memory confined to a tenant and (optionally) some user scopes.

        The view shares the store, embedder and caches; closing it does not close this
        Memory. Servers use it to bind each request to its API key's tenant and scopes.

        Raises:
            InvalidInputError: ``user_ids`` is a single string.
        """
        if isinstance(user_ids, str):
            raise InvalidInputError("user_ids must be a collection of user ids, not one string")
        engine = self._engine
        access = Access(
            tenant or engine.access.tenant, None if user_ids is None else frozenset(user_ids)
        )
        view = object.__new__(Memory)
        view._engine_ = engine.with_access(access)
        view._store = self._store
        view._owns_store = False
        view.settings = self.settings
        view.episodes = Episodes(view)
        view.entities = Entities(view)
        view.keys = ApiKeys(view)
        return view

    # -- state -----------------------------------------------------------------------------

    @property
    def _engine(self) -> Engine:
        engine = self._engine_
        if engine is None:
            raise ClosedError("this Memory is closed; open a new one")
        return engine

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._engine_ is None

    def close(self) -> None:
        """Derive what ``add(wait=False)`` queued, then close the store. Idempotent; any
        later call raises ClosedError."""
        engine = self._engine_
        if engine is not None:
            self._engine_ = None
            if self._owns_store:
                try:
                    engine.settle()
                except Exception:  # stays queued in the store: the next open derives it
                    logger.warning("queued messages left for the next open", exc_info=True)
                finally:
                    self._store.close()

    def __enter__(self) -> Self:
        self._engine  # noqa: B018 - raises ClosedError when entered after close
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Memory {self.settings.store_path} tenant={self.settings.tenant!r} {state}>"

    # -- write -----------------------------------------------------------------------------

    def add(
        self,
        messages: Any,
        *,
        user_id: str,
        agent_id: str | None = None,
        session_id: str | None = None,
        at: Any = None,
        metadata: Mapping[str, Any] | None = None,
        wait: bool = True,
    ) -> AddResult:
        """Store what happened and derive memories from it.

        Every message becomes an immutable episode, and at least one memory is derived from
        each. Everything lands in one transaction, and is searchable when this returns.

        With ``wait=False`` the episodes are stored (durably, in one transaction) and the
        memories are derived later, together with the other messages queued so: when
        ``derive_batch`` messages wait, before any read or change of memories through this
        store's Memory objects (so a search sees every message added), on :meth:`settle`
        and on :meth:`close`; episodes a stopped process left queued are derived by the next
        one that opens the store. Adding turns one by one as they come, with few reads
        between them, is then about as fast as adding a whole session in one call.

        Args:
            messages: A string (one user message), a message mapping in the OpenAI chat shape
                (``role``, ``content``, optional ``name``, ``metadata``, ``at``), or a list.
            user_id: The user scope (required).
            agent_id: The agent scope.
            session_id: The session (Mem0's run_id).
            at: When it happened in the world (ISO string or datetime; default now).
            metadata: Kept with every episode and memory (a message's own metadata wins).
            wait: Derive the memories before returning (default), or queue them.

        Returns:
            The episodes stored, the memories derived, and what changed (with
            ``wait=False``: the episodes, no memories yet, and ``pending`` true).

        Raises:
            InvalidInputError: bad input; nothing was written.
        """
        return self._engine.add(
            messages,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            at=at,
            metadata=metadata,
            wait=wait,
        )

    def settle(self) -> int:
        """Derive the memories of every message queued with ``add(wait=False)`` now.

        Returns:
            How many queued messages were derived.
        """
        return self._engine.settle()

    def update(
        self,
        memory_id: str,
        text: str | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        reason: str | None = None,
    ) -> MemoryRecord:
        """Write a new version of a memory; the previous version stays in its history.

        Args:
            memory_id: The memory.
            text: The new text (unchanged if ``None``).
            metadata: The new metadata, replacing the old (unchanged if ``None``).
            reason: Why, recorded in the history.

        Raises:
            NotFoundError: no such memory.
            ConflictError: the memory is deleted.
        """
        return self._engine.update(memory_id, text, metadata=metadata, reason=reason)

    def delete(self, memory_id: str, *, reason: str | None = None) -> MemoryRecord:
        """Soft-delete a memory: hidden from recall and listings, recoverable with restore."""
        return self._engine.delete(memory_id, reason=reason)

    def restore(self, memory_id: str, *, reason: str | None = None) -> MemoryRecord:
        """Bring back a soft-deleted memory with the status it had before."""
        return self._engine.restore(memory_id, reason=reason)

    def erase(
        self, *, user_id: str, agent_id: str | None = None, session_id: str | None = None
    ) -> EraseResult:
        """Permanently remove every trace of a scope (episodes, memories, history, index).

        This cannot be undone; use :meth:`delete` for a recoverable removal.
        """
        return self._engine.erase(user_id=user_id, agent_id=agent_id, session_id=session_id)

    # -- read ------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        user_id: str,
        agent_id: str | None = None,
        session_id: str | None = None,
        limit: int = 10,
        filters: Mapping[str, Any] | None = None,
        at: Any = None,
        budget_tokens: int | None = None,
        config: SearchConfig | None = None,
    ) -> SearchResult:
        """Recall the memories most relevant to a query.

        Args:
            query: What the agent needs to remember.
            user_id: The user scope (required).
            agent_id: Narrow to one agent.
            session_id: Narrow to one session.
            limit: Most hits to return.
            filters: See :mod:`mnemos.engine.filters` (kind, status, occurred_at, metadata).
            at: Recall what was true at this time instead of now.
            budget_tokens: Return only hits whose text fits in this many tokens in all.
            config: Retrieval settings (default: the ``HYBRID`` recipe).

        Returns:
            Hits best first, each with its scores and its evidence episodes.
        """
        return self._engine.search(
            query,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            limit=limit,
            filters=filters,
            at=at,
            budget_tokens=budget_tokens,
            config=config,
        )

    def context(
        self,
        query: str,
        *,
        user_id: str,
        agent_id: str | None = None,
        session_id: str | None = None,
        budget_tokens: int = 1000,
        at: Any = None,
    ) -> Context:
        """A prompt-ready block of what to remember about ``query``, within a token budget.

        Each line carries the date it happened and who said it, most relevant first.
        """
        return self._engine.context(
            query,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            budget_tokens=budget_tokens,
            at=at,
        )

    def get(self, memory_id: str) -> MemoryRecord:
        """One memory by id, whatever its status.

        Raises:
            NotFoundError: no such memory in this tenant and scope.
        """
        return self._engine.get(memory_id)

    def get_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Page[MemoryRecord]:
        """A page of memories, newest first (active only unless filters name a status)."""
        return self._engine.get_all(
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            filters=filters,
            limit=limit,
            offset=offset,
        )

    def history(self, memory_id: str) -> list[HistoryEvent]:
        """Every change to a memory, oldest first."""
        return self._engine.history(memory_id)

    def warm_up(self) -> float:
        """Load the embedding model and the word tables now, so that the first ``add`` or
        ``search`` does not wait for them (a server calls this at start). Writes nothing.

        Returns:
            The seconds it took.
        """
        return self._engine.warm_up()

    def stats(self, *, user_id: str | None = None) -> StoreStats:
        """Counts and sizes for this tenant, or for one user."""
        return self._engine.stats(user_id=user_id)

    def export(self, path: str | os.PathLike[str], *, user_id: str | None = None) -> TransferResult:
        """Write this tenant (or one user) to a mnemos JSONL export file."""
        return self._engine.export(path, user_id=user_id)

    def import_(self, path: str | os.PathLike[str]) -> TransferResult:
        """Load a mnemos JSONL export into this tenant, all of it or nothing."""
        return self._engine.import_(path)


class AsyncMemory:
    """The asyncio twin of :class:`Memory`: the same methods, awaited.

    Work runs in worker threads so the event loop never blocks on SQLite or the model.
    Takes the same arguments as :class:`Memory`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._memory = Memory(*args, **kwargs)
        self.settings = self._memory.settings
        self.episodes = _AsyncEpisodes(self._memory)
        self.entities = _AsyncEntities(self._memory)
        self.keys = _AsyncKeys(self._memory)

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has been called."""
        return self._memory.closed

    async def aclose(self) -> None:
        """Close the store. Idempotent."""
        await asyncio.to_thread(self._memory.close)

    async def __aenter__(self) -> Self:
        if self._memory.closed:
            raise ClosedError("this AsyncMemory is closed; open a new one")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def add(self, messages: Any, **kwargs: Any) -> AddResult:
        """See :meth:`Memory.add`."""
        return await asyncio.to_thread(self._memory.add, messages, **kwargs)

    async def search(self, query: str, **kwargs: Any) -> SearchResult:
        """See :meth:`Memory.search`."""
        return await asyncio.to_thread(self._memory.search, query, **kwargs)

    async def context(self, query: str, **kwargs: Any) -> Context:
        """See :meth:`Memory.context`."""
        return await asyncio.to_thread(self._memory.context, query, **kwargs)

    def scoped(self, **kwargs: Any) -> AsyncMemory:
        """See :meth:`Memory.scoped`."""
        view = object.__new__(AsyncMemory)
        view._memory = self._memory.scoped(**kwargs)
        view.settings = self.settings
        view.episodes = _AsyncEpisodes(view._memory)
        view.entities = _AsyncEntities(view._memory)
        view.keys = _AsyncKeys(view._memory)
        return view

    async def get(self, memory_id: str) -> MemoryRecord:
        """See :meth:`Memory.get`."""
        return await asyncio.to_thread(self._memory.get, memory_id)

    async def get_all(self, **kwargs: Any) -> Page[MemoryRecord]:
        """See :meth:`Memory.get_all`."""
        return await asyncio.to_thread(self._memory.get_all, **kwargs)

    async def update(self, memory_id: str, text: str | None = None, **kwargs: Any) -> MemoryRecord:
        """See :meth:`Memory.update`."""
        return await asyncio.to_thread(self._memory.update, memory_id, text, **kwargs)

    async def delete(self, memory_id: str, **kwargs: Any) -> MemoryRecord:
        """See :meth:`Memory.delete`."""
        return await asyncio.to_thread(self._memory.delete, memory_id, **kwargs)

    async def restore(self, memory_id: str, **kwargs: Any) -> MemoryRecord:
        """See :meth:`Memory.restore`."""
        return await asyncio.to_thread(self._memory.restore, memory_id, **kwargs)

    async def erase(self, **kwargs: Any) -> EraseResult:
        """See :meth:`Memory.erase`."""
        return await asyncio.to_thread(self._memory.erase, **kwargs)

    async def history(self, memory_id: str) -> list[HistoryEvent]:
        """See :meth:`Memory.history`."""
        return await asyncio.to_thread(self._memory.history, memory_id)

    async def settle(self) -> int:
        """See :meth:`Memory.settle`."""
        return await asyncio.to_thread(self._memory.settle)

    async def warm_up(self) -> float:
        """See :meth:`Memory.warm_up`."""
        return await asyncio.to_thread(self._memory.warm_up)

    async def stats(self, **kwargs: Any) -> StoreStats:
        """See :meth:`Memory.stats`."""
        return await asyncio.to_thread(self._memory.stats, **kwargs)

    async def export(self, path: str | os.PathLike[str], **kwargs: Any) -> TransferResult:
        """See :meth:`Memory.export`."""
        return await asyncio.to_thread(self._memory.export, path, **kwargs)

    async def import_(self, path: str | os.PathLike[str]) -> TransferResult:
        """See :meth:`Memory.import_`."""
        return await asyncio.to_thread(self._memory.import_, path)


class _AsyncEpisodes:
    def __init__(self, memory: Memory) -> None:
        self._memory = memory

    async def get(self, episode_id: str) -> Episode:
        """See :meth:`Episodes.get`."""
        return await asyncio.to_thread(self._memory.episodes.get, episode_id)

    async def list(self, **kwargs: Any) -> Page[Episode]:
        """See :meth:`Episodes.list`."""
        return await asyncio.to_thread(self._memory.episodes.list, **kwargs)


class _AsyncEntities:
    def __init__(self, memory: Memory) -> None:
        self._memory = memory

    async def get(self, entity_id: str) -> Entity:
        """See :meth:`Entities.get`."""
        return await asyncio.to_thread(self._memory.entities.get, entity_id)

    async def list(self, **kwargs: Any) -> Page[Entity]:
        """See :meth:`Entities.list`."""
        return await asyncio.to_thread(self._memory.entities.list, **kwargs)

    async def search(self, query: str, **kwargs: Any) -> Page[Entity]:
        """See :meth:`Entities.search`."""
        return await asyncio.to_thread(self._memory.entities.search, query, **kwargs)

    async def history(self, entity_id: str, **kwargs: Any) -> builtins.list[MemoryRecord]:
        """See :meth:`Entities.history`."""
        return await asyncio.to_thread(self._memory.entities.history, entity_id, **kwargs)


class _AsyncKeys:
    def __init__(self, memory: Memory) -> None:
        self._memory = memory

    async def create(self, **kwargs: Any) -> IssuedKey:
        """See :meth:`ApiKeys.create`."""
        return await asyncio.to_thread(self._memory.keys.create, **kwargs)

    async def list(self, **kwargs: Any) -> list[ApiKey]:
        """See :meth:`ApiKeys.list`."""
        return await asyncio.to_thread(self._memory.keys.list, **kwargs)

    async def get(self, key_id: str) -> ApiKey:
        """See :meth:`ApiKeys.get`."""
        return await asyncio.to_thread(self._memory.keys.get, key_id)

    async def revoke(self, key_id: str) -> ApiKey:
        """See :meth:`ApiKeys.revoke`."""
        return await asyncio.to_thread(self._memory.keys.revoke, key_id)

    async def authenticate(self, token: str) -> ApiKey:
        """See :meth:`ApiKeys.authenticate`."""
        return await asyncio.to_thread(self._memory.keys.authenticate, token)
