"""What gets indexed for a memory: one place, so add, update and import agree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnemos.engine.text import analyze

__all__ = ["embed_text", "index_terms"]


def _keys(attributes: Mapping[str, Any]) -> list[str]:
    keys = attributes.get("keys") or []
    return [k for k in keys if isinstance(k, str)]


def index_terms(text: str, attributes: Mapping[str, Any]) -> list[str]:
    """Lexical terms for a memory: its text, its speaker and its extra index keys."""
    parts = [text]
    speaker = attributes.get("speaker")
    if isinstance(speaker, str):
        parts.append(speaker)
    parts.extend(_keys(attributes))
    return analyze(" ".join(parts))


def embed_text(text: str, attributes: Mapping[str, Any]) -> str:
    """The text embedded for a memory: prefixed with its speaker when one is known."""
    speaker = attributes.get("speaker")
    return f"{speaker}: {text}" if isinstance(speaker, str) and speaker else text
