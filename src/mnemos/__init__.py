"""mnemos: local-first memory for LLM agents.

>>> from mnemos import Memory                                          # doctest: +SKIP
>>> with Memory() as mem:                                              # doctest: +SKIP
...     mem.add([{"role": "user", "content": "I adopted a puppy"}], user_id="caroline")
...     mem.search("pets", user_id="caroline")
"""

from __future__ import annotations

from mnemos._version import __version__
from mnemos.engine.config import HYBRID, LEXICAL, RECIPES, SEMANTIC, SearchConfig
from mnemos.errors import (
    AccessDeniedError,
    AuthenticationError,
    ClosedError,
    ConfigurationError,
    ConflictError,
    EmbedderError,
    EmbedderMismatchError,
    InvalidInputError,
    MissingDependencyError,
    MnemosError,
    NotAStoreError,
    NotFoundError,
    SchemaVersionError,
    StoreBusyError,
    StoreError,
    StorePathError,
    TextTooLargeError,
)
from mnemos.keys import ApiKey, IssuedKey
from mnemos.memory import AsyncMemory, Memory
from mnemos.models import (
    AddResult,
    Context,
    Entity,
    Episode,
    EraseResult,
    Evidence,
    HistoryEvent,
    MemoryChange,
    MemoryRecord,
    Message,
    Page,
    SearchHit,
    SearchResult,
    StoreStats,
    TransferResult,
)
from mnemos.settings import Settings

__all__ = [
    "HYBRID",
    "LEXICAL",
    "RECIPES",
    "SEMANTIC",
    "AccessDeniedError",
    "AddResult",
    "ApiKey",
    "AsyncMemory",
    "AuthenticationError",
    "ClosedError",
    "ConfigurationError",
    "ConflictError",
    "Context",
    "EmbedderError",
    "EmbedderMismatchError",
    "Entity",
    "Episode",
    "EraseResult",
    "Evidence",
    "HistoryEvent",
    "InvalidInputError",
    "IssuedKey",
    "Memory",
    "MemoryChange",
    "MemoryRecord",
    "Message",
    "MissingDependencyError",
    "MnemosError",
    "NotAStoreError",
    "NotFoundError",
    "Page",
    "SchemaVersionError",
    "SearchConfig",
    "SearchHit",
    "SearchResult",
    "Settings",
    "StoreBusyError",
    "StoreError",
    "StorePathError",
    "StoreStats",
    "TextTooLargeError",
    "TransferResult",
    "__version__",
]
