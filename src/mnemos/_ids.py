"""Record ids."""

from __future__ import annotations

import uuid_utils

__all__ = ["new_id"]


def new_id() -> str:
    """A fresh record id: a UUIDv7 (RFC 9562), random but ordered by creation time.

    Ordered ids keep the primary-key and history indexes appending at their right edge
    instead of touching a random page per row, which roughly a fifth of what a write
    transaction puts in the write-ahead log was.
    """
    return str(uuid_utils.uuid7())
