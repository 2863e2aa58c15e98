"""Storage backends behind the :class:`~mnemos.storage.base.Store` protocol."""

from __future__ import annotations

from mnemos.storage.base import (
    Access,
    ClaimRow,
    Condition,
    EntityWrite,
    IndexText,
    MemoryQuery,
    MemoryWrite,
    ScopeFilter,
    Store,
    StoreInfo,
    StoreTransaction,
)

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
