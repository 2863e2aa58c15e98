"""The embedder protocol and the registry that maps names to factories."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from mnemos.errors import ConfigurationError, EmbedderError

__all__ = [
    "Embedder",
    "EmbedderFactory",
    "available_embedders",
    "create_embedder",
    "register_embedder",
]

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors.

    Attributes:
        id: Stable identity of the model and its settings; a store records it and refuses
            to open with another, because vectors from different models do not compare.
        dimension: Length of each vector.
    """

    id: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed texts, returning an array of shape ``(len(texts), dimension)``."""
        ...


EmbedderFactory = Callable[..., Embedder]
_REGISTRY: dict[str, EmbedderFactory] = {}


def register_embedder(name: str, factory: EmbedderFactory, *, replace: bool = False) -> None:
    """Make an embedder available by name (built-ins register the same way).

    Args:
        name: The name settings refer to.
        factory: Called with keyword options (such as ``batch_size``) to build it.
        replace: Allow replacing an existing registration.

    Raises:
        ConfigurationError: the name is taken and ``replace`` is false.
    """
    if name in _REGISTRY and not replace:
        raise ConfigurationError(f"an embedder named {name!r} is already registered")
    _REGISTRY[name] = factory


def available_embedders() -> list[str]:
    """Names of every registered embedder, sorted."""
    return sorted(_REGISTRY)


def create_embedder(name: str, **options: object) -> Embedder:
    """Build the embedder registered under ``name``.

    Raises:
        ConfigurationError: no embedder has that name.
        MissingDependencyError: its optional dependency is not installed.
    """
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown embedder {name!r}; registered: {', '.join(available_embedders())}",
            embedder=name,
        ) from None
    return factory(**options)


def check_vectors(vectors: object, count: int, dimension: int, embedder_id: str) -> Vectors:
    """Validate an embedder's output and return it as a C-contiguous float32 array."""
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    if array.shape != (count, dimension):
        raise EmbedderError(
            f"embedder {embedder_id} returned shape {array.shape}, expected ({count}, {dimension})"
        )
    if not np.isfinite(array).all():
        raise EmbedderError(f"embedder {embedder_id} returned non-finite values")
    return array
