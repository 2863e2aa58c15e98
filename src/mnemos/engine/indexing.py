"""What gets indexed and embedded for a memory: one place, so add, update and import agree."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from mnemos.engine.text import analyze, content_hash
from mnemos.models import MemoryRecord
from mnemos.storage.base import IndexText

__all__ = ["asks", "embed_text", "index_text", "norm_hash"]

_BRACKET = re.compile(r"\s*\[[^\]]*\]\s*$")


def _keys(attributes: Mapping[str, Any]) -> list[str]:
    keys = attributes.get("keys") or []
    return [k for k in keys if isinstance(k, str)]


def index_text(record: MemoryRecord, previous: str | None = None) -> IndexText:
    """Lexical fields for a memory.

    Args:
        record: The memory.
        previous: The text of the turn before its evidence in the same session, for notes
            (what a message answers is often where its words are). When that turn asks
            something, it goes in the ``turn`` field, which weighs more than ``context``:
            "Three times a week" is about what "How often do you all work out?" asked.
    """
    attrs = record.attributes
    keys = [attrs.get("speaker") or "", *_keys(attrs)]
    said = attrs.get("said")
    # A statement is indexed as it was said: rewriting "I" and "my" to the speaker's name
    # repeats the name, and term frequency would rank by name rather than by topic.
    body = record.text if record.kind == "note" or not isinstance(said, str) else said
    before = analyze(previous) if previous and record.kind == "note" else ()
    asked = previous is not None and asks(previous)
    return IndexText(
        body=analyze(body),
        turn=before if asked else (),
        context=() if asked else before,
        keys=analyze(" ".join(k for k in keys if k)),
    )


def asks(text: str) -> bool:
    """Whether a turn asks something (the turn after it is then likely its answer)."""
    return "?" in text


def embed_text(record: MemoryRecord) -> str:
    """The text embedded for a memory: notes are prefixed with their speaker (statements
    already name who they are about)."""
    speaker = record.attributes.get("speaker")
    if record.kind == "note" and isinstance(speaker, str) and speaker:
        return f"{speaker}: {record.text}"
    return record.text


def norm_hash(text: str) -> str:
    """Hash of a text normalised for duplicate detection: resolved-date brackets dropped,
    case and accents folded, punctuation and spacing ignored."""
    base = _BRACKET.sub("", text)
    folded = unicodedata.normalize("NFKD", base).casefold()
    words = re.findall(r"[^\W_]+", folded)
    return content_hash(" ".join(words))
