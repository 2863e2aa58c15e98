"""Embedders behind one protocol, built by name from a registry.

Built-ins: ``minilm-static`` (default; a static model distilled locally from the bundled
all-MiniLM-L6-v2), ``minilm`` (the transformer itself, through sentence-transformers) and
``hash`` (deterministic feature hashing, no dependencies; for tests). The first two need the
``local`` extra.
"""

from __future__ import annotations

from mnemos.embedders.base import (
    Embedder,
    EmbedderFactory,
    available_embedders,
    create_embedder,
    register_embedder,
)
from mnemos.settings import Settings


def _minilm(**options: object) -> Embedder:
    from mnemos.embedders.minilm import MiniLMEmbedder

    return MiniLMEmbedder(**options)  # type: ignore[arg-type]


def _static(**options: object) -> Embedder:
    from mnemos.embedders.static import StaticEmbedder

    return StaticEmbedder(**options)  # type: ignore[arg-type]


def _hash(**options: object) -> Embedder:
    from mnemos.embedders.hashing import HashEmbedder

    return HashEmbedder(**options)  # type: ignore[arg-type]


def embedder_from_settings(settings: Settings, name: str | None = None) -> Embedder:
    """Build the embedder settings name (or ``name``), with their batch size and model cache."""
    return create_embedder(
        name or settings.embedder,
        batch_size=settings.embed_batch_size,
        cache_dir=settings.data_dir / "models",
    )


register_embedder("minilm", _minilm)
register_embedder("minilm-static", _static)
register_embedder("hash", _hash)

__all__ = [
    "Embedder",
    "EmbedderFactory",
    "available_embedders",
    "create_embedder",
    "embedder_from_settings",
    "register_embedder",
]
