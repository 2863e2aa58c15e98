"""The part of the storage protocol that keeps API keys (see :mod:`mnemos.keys`).

Keys live beside the memories they guard, in the same store, so a backup or a second
process sees the same keys and a revocation reaches every server on the store at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from mnemos.keys import ApiKey

__all__ = ["KeyStore"]


class KeyStore(Protocol):
    """Stores API keys by id with the digest of their token; never the token itself."""

    def insert_key(self, key: ApiKey, token_hash: str) -> None:
        """Store a new key. Raises ConflictError if the id exists."""
        ...

    def get_key(self, key_id: str) -> tuple[ApiKey, str] | None:
        """The key with this id and its token digest, revoked or not; ``None`` if unknown."""
        ...

    def list_keys(self, tenant: str | None) -> list[ApiKey]:
        """Every key of a tenant (or of all tenants when ``None``), oldest first."""
        ...

    def revoke_key(self, key_id: str, at: datetime) -> ApiKey | None:
        """Mark a key revoked at ``at`` (an already revoked key keeps its first time).

        Returns the key as it now stands, or ``None`` if there is no such key.
        """
        ...
