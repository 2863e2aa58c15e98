"""The records mnemos stores and returns.

- :class:`Episode`: raw evidence, immutable once written (one chat turn, document chunk,
  tool output or event).
- :class:`MemoryRecord`: what an agent recalls, derived from one or more episodes, with
  bi-temporal validity and a version history.
- :class:`SearchHit` / :class:`SearchResult`: a ranked recall answer with the per-channel
  scores behind each hit and the episodes it rests on.

All times are timezone-aware and in UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MEMORY_KINDS",
    "MEMORY_STATUSES",
    "AddResult",
    "Context",
    "Entity",
    "Episode",
    "EraseResult",
    "Evidence",
    "HistoryEvent",
    "MemoryChange",
    "MemoryKind",
    "MemoryRecord",
    "MemoryStatus",
    "Message",
    "Page",
    "Role",
    "SearchHit",
    "SearchResult",
    "StoreStats",
    "TransferResult",
]

Role = Literal["user", "assistant", "system", "tool", "developer", "function"]
MemoryKind = Literal[
    "note", "fact", "event", "preference", "profile", "plan", "procedure", "summary", "insight"
]
MemoryStatus = Literal["active", "superseded", "archived", "quarantined", "deleted"]
MEMORY_KINDS: tuple[str, ...] = get_args(MemoryKind)
MEMORY_STATUSES: tuple[str, ...] = get_args(MemoryStatus)

T = TypeVar("T")
R = TypeVar("R", bound="_Record")
_set = object.__setattr__


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def trusted(cls: type[R], **values: Any) -> R:
    """A record built from values that are valid already (read back from the store, or
    taken from other records), with every field given in the order the model declares.

    Neither validation nor ``model_construct``'s per-field handling of aliases and
    defaults: the record equals what ``model_construct`` builds, in under half the time
    (a search builds about a hundred records). Nothing is checked when it runs: every call
    names its fields as keywords, and a test reads each call in the source to check that
    they are the model's fields in its order.
    """
    record = cls.__new__(cls)
    _set(record, "__dict__", values)
    _set(record, "__pydantic_fields_set__", set(values))
    _set(record, "__pydantic_extra__", None)
    _set(record, "__pydantic_private__", None)
    return record


class Message(_Record):
    """One message handed to ``add``, in the OpenAI chat shape.

    Attributes:
        role: Who produced it (``user``, ``assistant``, ``system``, ``tool``, ...).
        content: Its text.
        name: The speaker's name, when the role alone does not say who it is.
        metadata: Caller's data kept with the episode (for example the caller's message id).
        at: When it happened in the world; defaults to the ``at`` of the ``add`` call.
    """

    role: Role = "user"
    content: str
    name: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    at: datetime | None = None


class Episode(_Record):
    """Raw evidence, stored exactly as given and never edited."""

    id: str
    tenant: str
    user_id: str
    agent_id: str | None = None
    session_id: str | None = None
    role: str
    name: str | None = None
    text: str
    occurred_at: datetime
    recorded_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)


class MemoryRecord(_Record):
    """A memory: the unit an agent recalls.

    Attributes:
        kind: note (a whole message), fact, event, preference, profile, plan, procedure,
            summary or insight.
        occurred_at: When what it describes happened (or was said).
        valid_from: Since when it holds in the world.
        valid_to: Until when it held; ``None`` while it is still true.
        created_at: When the store first recorded it.
        updated_at: When its current version was written.
        expired_at: When the store stopped treating it as current (deleted or superseded).
        status: active, superseded, archived, quarantined or deleted.
        version: 1 for the first version; each update adds one.
        episode_ids: The episodes it was derived from.
        superseded_by: The memory that replaced it, when status is superseded.
        attributes: What derivation found in it (entities, resolved times, subject/attribute).
    """

    id: str
    tenant: str
    user_id: str
    agent_id: str | None = None
    session_id: str | None = None
    kind: MemoryKind
    text: str
    occurred_at: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    created_at: datetime
    updated_at: datetime
    expired_at: datetime | None = None
    status: MemoryStatus = "active"
    version: int = 1
    metadata: dict[str, Any] = Field(default_factory=dict)
    episode_ids: list[str] = Field(default_factory=list)
    superseded_by: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class Entity(_Record):
    """A person, place, organisation, thing or concept the memories mention.

    Attributes:
        key: The normalised name entities merge on (aliases such as "Mel" for "Melanie"
            resolve to the same key).
        kind: person, place, organization, thing or concept.
        aliases: Other names it was mentioned by.
        mentions: How many memories mention it.
        attributes: What is currently known about it: attribute -> current value(s),
            from active claims ("residence": ["Lisbon"], "likes": ["hiking", "pottery"]).
    """

    id: str
    tenant: str
    user_id: str
    key: str
    name: str
    kind: Literal["person", "place", "organization", "thing", "concept"]
    aliases: list[str] = Field(default_factory=list)
    mentions: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    attributes: dict[str, list[str]] = Field(default_factory=dict)


class MemoryChange(_Record):
    """What one ``add`` did to one memory (Mem0's ADD / UPDATE / DELETE / NONE events)."""

    memory_id: str
    event: Literal["ADD", "UPDATE", "SUPERSEDE", "MERGE", "NOOP", "DELETE"]
    reason: str | None = None
    related_id: str | None = None


class AddResult(_Record):
    """What ``add`` stored: the episodes, the memories derived from them, and the changes."""

    episodes: list[Episode]
    memories: list[MemoryRecord]
    changes: list[MemoryChange] = Field(default_factory=list)
    pending: bool = Field(
        default=False,
        description="Stored with wait=False: the memories are derived later (before any read).",
    )


class Evidence(_Record):
    """An episode a hit rests on, as a caller needs it to cite or map back to its own ids."""

    episode_id: str
    role: str
    name: str | None = None
    text: str
    occurred_at: datetime
    session_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class SearchHit(_Record):
    """One recalled memory.

    Attributes:
        score: The fused score, scaled to [0, 1] (1 = ranked first by every channel).
        scores: The raw score behind the hit in each channel that found it
            (``bm25``, ``vector``, ...).
        ranks: The hit's 1-based rank in each channel that found it.
        evidence: The episodes the memory was derived from.
        context: Neighbouring episodes of the same session (the turns around the evidence),
            returned so the hit reads in context; not evidence.
        matched: Ids of the memories that matched the query for this hit; when hits are
            collapsed per episode, the episode's note is returned and the statements that
            matched are listed here.
        tokens: Tokens this hit adds to a context: its text, plus evidence and context
            episodes whose text it does not already contain.
    """

    id: str
    text: str
    kind: MemoryKind
    score: float
    scores: dict[str, float] = Field(default_factory=dict)
    ranks: dict[str, int] = Field(default_factory=dict)
    occurred_at: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    status: MemoryStatus = "active"
    user_id: str
    agent_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    attributes: dict[str, Any] = Field(default_factory=dict)
    evidence: list[Evidence] = Field(default_factory=list)
    context: list[Evidence] = Field(default_factory=list)
    matched: list[str] = Field(default_factory=list)
    tokens: int = 0


class SearchResult(_Record):
    """A recall answer: hits best first, within ``limit`` and, if given, ``budget_tokens``."""

    query: str
    hits: list[SearchHit]
    total_tokens: int = 0
    budget_tokens: int | None = None
    at: datetime | None = None
    took_ms: float = 0.0


class Context(_Record):
    """A prompt-ready block of what to remember, within a token budget.

    Attributes:
        text: The block to paste into a prompt.
        hits: The memories it was built from, best first.
        tokens: Tokens in ``text`` (as :func:`mnemos.engine.text.count_tokens` counts).
    """

    query: str
    text: str
    hits: list[SearchHit]
    tokens: int
    budget_tokens: int


class HistoryEvent(_Record):
    """One change to a memory, appended and never edited.

    ``before`` and ``after`` are the memory's fields before and after the change (``None``
    when there was no memory before, or none after).
    """

    id: str
    memory_id: str
    event: Literal["ADD", "UPDATE", "SUPERSEDE", "MERGE", "DELETE", "RESTORE", "IMPORT"]
    version: int
    at: datetime
    actor: str | None = None
    reason: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class Page(BaseModel, Generic[T]):
    """One page of a listing.

    Attributes:
        items: The records on this page.
        total: How many records match in all.
        offset: Where this page starts.
        limit: The page size asked for.
        next_offset: Where the next page starts, or ``None`` on the last page.
    """

    model_config = ConfigDict(frozen=True)

    items: list[T]
    total: int
    offset: int
    limit: int
    next_offset: int | None = None


class StoreStats(_Record):
    """Counts and sizes of a store (or of one tenant / user in it)."""

    path: str
    schema_version: int
    embedder: str
    dimension: int
    episodes: int
    memories: int
    memories_by_status: dict[str, int]
    memories_by_kind: dict[str, int]
    users: int
    history_events: int
    vectors: int
    file_bytes: int


class EraseResult(_Record):
    """How many rows of each kind an erase removed, for good."""

    episodes: int = 0
    memories: int = 0
    history: int = 0
    vectors: int = 0


class TransferResult(_Record):
    """What an export wrote or an import read: the file and its record counts."""

    path: str
    episodes: int
    memories: int
    history: int
    entities: int = 0
