"""Importers for files that are not mnemos exports: chat logs, plain text and LoCoMo.

Each importer turns a file into batches of messages for ``Memory.add``, so imported data
goes through the same validation, derivation and indexing as anything else.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from mnemos.errors import InvalidInputError
from mnemos.io.jsonl import FORMAT as EXPORT_FORMAT
from mnemos.io.locomo import load_locomo

__all__ = ["AddBatch", "Format", "detect_format", "plan_import", "split_text"]

Format = Literal["mnemos", "chat", "text", "locomo"]
CHAT_BATCH = 200
CHUNK_CHARS = 1200


@dataclass
class AddBatch:
    """Messages to pass to one ``Memory.add`` call, with their scope."""

    messages: list[dict[str, Any]]
    user_id: str
    session_id: str | None = None
    agent_id: str | None = None
    at: datetime | None = None


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(
            f"cannot read {path}: {exc.strerror or exc}", path=str(path)
        ) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{path} is not valid UTF-8 (bad byte at offset {exc.start})", path=str(path)
        ) from None


def detect_format(path: str | os.PathLike[str]) -> Format:
    """Guess a file's format from its name and first bytes."""
    source = Path(path)
    if not source.is_file():
        raise InvalidInputError(f"{source} is not a file", path=str(source))
    with source.open("rb") as fh:
        head = fh.read(4096).decode("utf-8", errors="replace").lstrip()
    if head.startswith("{"):
        first = head.split("\n", 1)[0]
        if f'"{EXPORT_FORMAT}"' in first:
            return "mnemos"
        return "chat"
    if head.startswith("["):
        return "locomo" if '"sample_id"' in head or '"conversation"' in head else "chat"
    return "text"


def _chat_messages(path: Path) -> list[dict[str, Any]]:
    text = _read_text(path)
    stripped = text.lstrip()
    items: Any
    try:
        items = json.loads(stripped)
    except json.JSONDecodeError:
        items = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidInputError(
                    f"{path}:{number}: not JSON ({exc.msg})", line=number
                ) from None
    if isinstance(items, Mapping):
        items = items.get("messages", [items])
    if not isinstance(items, list) or not all(isinstance(m, Mapping) for m in items):
        raise InvalidInputError(
            f"{path} is not a chat log: expected a list of messages (or {{'messages': [...]}}) "
            "or one message object per line"
        )
    allowed = {"role", "content", "name", "metadata", "at"}
    out = []
    for index, message in enumerate(items):
        if "content" not in message:
            raise InvalidInputError(f"{path}: message {index} has no 'content'")
        out.append({k: v for k, v in message.items() if k in allowed})
    return out


def split_text(text: str, max_chars: int = CHUNK_CHARS) -> list[str]:
    """Split a document into paragraph-aligned chunks of at most ``max_chars`` (when a
    single paragraph is longer, it is split at sentence ends, then hard-wrapped)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    pieces: list[str] = []
    for para in paragraphs:
        if len(para) <= max_chars:
            pieces.append(para)
            continue
        sentence_buf = ""
        for sentence in re.split(r"(?<=[.!?])\s+", para):
            while len(sentence) > max_chars:
                pieces.append(sentence[:max_chars])
                sentence = sentence[max_chars:]
            if sentence_buf and len(sentence_buf) + 1 + len(sentence) > max_chars:
                pieces.append(sentence_buf)
                sentence_buf = ""
            sentence_buf = f"{sentence_buf} {sentence}".strip()
        if sentence_buf:
            pieces.append(sentence_buf)
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + 2 + len(piece) <= max_chars:
            chunks[-1] = f"{chunks[-1]}\n\n{piece}"
        else:
            chunks.append(piece)
    return chunks


def plan_import(
    path: str | os.PathLike[str],
    fmt: Format,
    *,
    user_id: str | None,
    agent_id: str | None = None,
    session_id: str | None = None,
) -> list[AddBatch]:
    """Read a chat, text or LoCoMo file into batches for ``Memory.add``.

    Chat and text files need ``user_id``; LoCoMo files get one user scope per
    conversation (its ``sample_id``, or ``<user_id>/<sample_id>`` when ``user_id`` is given)
    and one session scope per session.

    Raises:
        InvalidInputError: the file cannot be read as that format, or user_id is missing.
    """
    source = Path(path)
    if fmt == "locomo":
        batches = []
        for conv in load_locomo(source):
            scope = f"{user_id}/{conv.sample_id}" if user_id else conv.sample_id
            for session in conv.sessions:
                if not session.turns:
                    continue
                batches.append(
                    AddBatch(
                        messages=[
                            {
                                "role": "user",
                                "name": t.speaker,
                                "content": t.text,
                                "metadata": {"dia_id": t.dia_id},
                            }
                            for t in session.turns
                        ],
                        user_id=scope,
                        session_id=f"session_{session.index}",
                        agent_id=agent_id,
                        at=session.at,
                    )
                )
        return batches
    if not user_id:
        raise InvalidInputError(f"importing a {fmt} file needs --user", field="user_id")
    if fmt == "chat":
        messages = _chat_messages(source)
        return [
            AddBatch(messages[i : i + CHAT_BATCH], user_id, session_id, agent_id)
            for i in range(0, len(messages), CHAT_BATCH)
        ]
    if fmt == "text":
        chunks = split_text(_read_text(source))
        if not chunks:
            raise InvalidInputError(f"{source} has no text")
        messages = [
            {"role": "user", "content": chunk, "metadata": {"source": source.name, "chunk": i}}
            for i, chunk in enumerate(chunks)
        ]
        return [
            AddBatch(messages[i : i + CHAT_BATCH], user_id, session_id, agent_id)
            for i in range(0, len(messages), CHAT_BATCH)
        ]
    raise InvalidInputError(f"unknown import format {fmt!r}")
