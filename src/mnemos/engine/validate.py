"""Input validation for the public API: everything is checked before anything is written."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, get_args

from mnemos._time import parse_when
from mnemos.errors import InvalidInputError, TextTooLargeError
from mnemos.models import Message, Role

__all__ = [
    "MAX_ID_CHARS",
    "MAX_METADATA_BYTES",
    "check_id",
    "check_limit",
    "check_metadata",
    "check_scope_id",
    "check_text",
    "normalize_messages",
]

MAX_ID_CHARS = 256
MAX_METADATA_BYTES = 256 * 1024
MAX_METADATA_DEPTH = 32
_ROLES: tuple[str, ...] = get_args(Role)


def check_text(value: Any, *, field: str, max_chars: int) -> str:
    """A non-empty string that encodes as UTF-8 and is within the size limit.

    Bytes are accepted when they are valid UTF-8.
    """
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(
                f"{field} is not valid UTF-8 (bad byte at position {exc.start})", field=field
            ) from None
    if not isinstance(value, str):
        raise InvalidInputError(
            f"{field} must be a string, got {type(value).__name__}", field=field
        )
    if not value.strip():
        raise InvalidInputError(f"{field} must not be empty", field=field)
    if len(value) > max_chars:
        raise TextTooLargeError(
            f"{field} has {len(value):,} characters; the limit is {max_chars:,} "
            "(split it, or raise max_text_chars)",
            field=field,
            chars=len(value),
            limit=max_chars,
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{field} is not valid Unicode text (unpaired surrogate at position {exc.start})",
            field=field,
        ) from None
    if "\x00" in value:
        raise InvalidInputError(f"{field} contains a NUL character", field=field)
    return value


def check_scope_id(value: Any, *, field: str, required: bool) -> str | None:
    """A scope id (user_id, agent_id, session_id): a non-empty string of at most 256 chars."""
    if value is None:
        if required:
            raise InvalidInputError(f"{field} is required", field=field)
        return None
    if not isinstance(value, str):
        raise InvalidInputError(
            f"{field} must be a string, got {type(value).__name__}", field=field
        )
    if not value.strip():
        raise InvalidInputError(f"{field} must not be empty", field=field)
    if len(value) > MAX_ID_CHARS:
        raise InvalidInputError(f"{field} is longer than {MAX_ID_CHARS} characters", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(f"{field} is not valid Unicode text", field=field) from None
    if any(ord(ch) < 32 for ch in value):
        raise InvalidInputError(f"{field} contains control characters", field=field)
    return value


def check_id(value: Any, *, field: str = "memory_id") -> str:
    """A record id argument."""
    out = check_scope_id(value, field=field, required=True)
    assert out is not None
    return out


def check_limit(value: Any, *, field: str, low: int = 1, high: int = 10_000) -> int:
    """An integer within bounds (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(
            f"{field} must be an integer, got {type(value).__name__}", field=field
        )
    if not low <= value <= high:
        raise InvalidInputError(
            f"{field} must be between {low} and {high}, got {value}", field=field
        )
    return value


def _walk(value: Any, path: str, depth: int) -> None:
    if depth > MAX_METADATA_DEPTH:
        raise InvalidInputError(f"metadata is nested deeper than {MAX_METADATA_DEPTH} levels")
    if value is None or isinstance(value, bool | int | str):
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidInputError(f"metadata{path} is not valid Unicode text") from None
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(f"metadata{path} is {value}; JSON has no NaN or infinity")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(f"metadata{path} has a non-string key {key!r}")
            _walk(item, f"{path}.{key}", depth + 1)
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", depth + 1)
        return
    raise InvalidInputError(
        f"metadata{path} is a {type(value).__name__}; metadata must be JSON "
        "(strings, numbers, booleans, null, lists and objects)"
    )


def check_metadata(value: Any, *, field: str = "metadata") -> dict[str, Any]:
    """A JSON-serialisable mapping of bounded size and depth; returns a plain-JSON copy."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"{field} must be a mapping, got {type(value).__name__}", field=field
        )
    _walk(value, "", 0)
    encoded = json.dumps(value, ensure_ascii=False)
    if len(encoded.encode("utf-8")) > MAX_METADATA_BYTES:
        raise InvalidInputError(
            f"{field} is larger than {MAX_METADATA_BYTES // 1024} KiB as JSON", field=field
        )
    out: dict[str, Any] = json.loads(encoded)
    return out


def _content(value: Any, index: int, max_chars: int) -> str:
    field = f"messages[{index}].content"
    if isinstance(value, list):
        # OpenAI content parts: keep the text parts, in order.
        parts = [p.get("text") for p in value if isinstance(p, Mapping) and p.get("type") == "text"]
        texts = [p for p in parts if isinstance(p, str)]
        if not texts:
            raise InvalidInputError(f"{field} has no text parts", field=field)
        value = "\n".join(texts)
    return check_text(value, field=field, max_chars=max_chars)


def normalize_messages(
    messages: Any,
    *,
    default_at: datetime,
    max_chars: int,
    base_metadata: dict[str, Any],
) -> list[Message]:
    """Turn what ``add`` accepts into validated messages.

    Accepts a string (one user message), a mapping or :class:`Message` (one message), or a
    non-empty sequence of those. Per-message ``at`` and ``metadata`` override the call's.
    """
    if isinstance(messages, str | bytes | bytearray | Mapping | Message):
        items: Sequence[Any] = [messages]
    elif isinstance(messages, Sequence):
        items = messages
    else:
        raise InvalidInputError(
            "messages must be a string, a message mapping, or a list of messages; "
            f"got {type(messages).__name__}",
            field="messages",
        )
    if not items:
        raise InvalidInputError("messages must not be empty", field="messages")
    out: list[Message] = []
    for index, item in enumerate(items):
        if isinstance(item, str | bytes | bytearray):
            text = check_text(item, field=f"messages[{index}]", max_chars=max_chars)
            out.append(
                Message(role="user", content=text, metadata=dict(base_metadata), at=default_at)
            )
            continue
        if isinstance(item, Message):
            item = item.model_dump()
        if not isinstance(item, Mapping):
            raise InvalidInputError(
                f"messages[{index}] must be a string or a mapping with 'role' and 'content', "
                f"got {type(item).__name__}",
                field=f"messages[{index}]",
            )
        unknown = set(item) - {"role", "content", "name", "metadata", "at"}
        if unknown:
            raise InvalidInputError(
                f"messages[{index}] has unknown field(s) {sorted(unknown)}; "
                "allowed: role, content, name, metadata, at",
                field=f"messages[{index}]",
            )
        if "content" not in item:
            raise InvalidInputError(
                f"messages[{index}] has no 'content'", field=f"messages[{index}]"
            )
        role = item.get("role", "user")
        if role not in _ROLES:
            raise InvalidInputError(
                f"messages[{index}].role is {role!r}; use one of {list(_ROLES)}",
                field=f"messages[{index}].role",
            )
        content = _content(item["content"], index, max_chars)
        name = item.get("name")
        if name is not None:
            name = check_scope_id(name, field=f"messages[{index}].name", required=False)
        metadata = {
            **base_metadata,
            **check_metadata(item.get("metadata"), field=f"messages[{index}].metadata"),
        }
        at = item.get("at")
        when = default_at if at is None else parse_when(at, field=f"messages[{index}].at")
        out.append(Message(role=role, content=content, name=name, metadata=metadata, at=when))
    return out
