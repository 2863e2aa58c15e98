"""Derivation: from episodes to candidate memories.

A :class:`Deriver` looks at the episodes of one ``add`` and proposes memories. The engine
then decides what to do with each candidate against what is already stored, embeds and
indexes it. :class:`NoteDeriver` is the floor every message gets: one ``note`` memory that
restates the message, indexed with its speaker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from mnemos.models import Episode, MemoryKind

__all__ = ["Candidate", "Deriver", "NoteDeriver", "speaker_of"]


@dataclass(slots=True)
class Candidate:
    """A memory a deriver proposes.

    Attributes:
        kind: The memory kind.
        text: What the memory says, as shown to a reader.
        episode_ids: The episodes it rests on.
        occurred_at: When what it describes happened.
        valid_from: Since when it holds (default: ``occurred_at``).
        valid_to: Until when it holds, if known.
        attributes: What derivation found. ``speaker`` (a name) and ``keys`` (a list of
            extra index strings: resolved dates, context) are searched but not shown; see
            :mod:`mnemos.engine.indexing`.
        metadata: Caller metadata carried over from the episodes.
    """

    kind: MemoryKind
    text: str
    episode_ids: list[str]
    occurred_at: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


class Deriver(Protocol):
    """Proposes memories for the episodes of one ``add`` call (in order)."""

    def derive(self, episodes: Sequence[Episode]) -> list[Candidate]:
        """Return candidate memories; every episode must be evidence for at least one."""
        ...


def speaker_of(episode: Episode) -> str:
    """The best name for who produced an episode: its name, else its role."""
    return episode.name or episode.role


class NoteDeriver:
    """One ``note`` memory per episode: the message itself, keyed by its speaker."""

    def derive(self, episodes: Sequence[Episode]) -> list[Candidate]:
        """Propose one note per episode."""
        out = []
        for ep in episodes:
            attributes: dict[str, Any] = {"role": ep.role}
            if ep.name:
                attributes["speaker"] = ep.name
            out.append(
                Candidate(
                    kind="note",
                    text=ep.text,
                    episode_ids=[ep.id],
                    occurred_at=ep.occurred_at,
                    valid_from=ep.occurred_at,
                    attributes=attributes,
                    metadata=dict(ep.metadata),
                )
            )
        return out
