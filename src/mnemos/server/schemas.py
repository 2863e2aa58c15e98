"""Request and error bodies of the REST API.

Responses are the library's own models (:mod:`mnemos.models`); the retrieval settings are
the library's :class:`~mnemos.SearchConfig`. Requests never carry a tenant: the API key
decides it. The constraints below repeat what the engine checks, so that the published
schema says what is accepted; the engine stays the authority.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from mnemos._time import parse_when
from mnemos.engine.config import SearchConfig
from mnemos.engine.engine import MAX_QUERY_CHARS
from mnemos.engine.validate import MAX_ID_CHARS
from mnemos.errors import InvalidInputError
from mnemos.models import Role

__all__ = [
    "ID_PATTERN",
    "TEXT_PATTERN",
    "WHEN_PATTERN",
    "AddRequest",
    "ContextRequest",
    "ErrorBody",
    "Health",
    "MessageIn",
    "ScopeId",
    "SearchRequest",
    "Text",
    "UpdateRequest",
    "When",
]

# Printable text with at least one non-space character (what the engine accepts).
TEXT_PATTERN = r"^[^\x00]*\S[^\x00]*$"
ID_PATTERN = r"^[^\x00-\x1f]*[^\s\x00-\x1f][^\x00-\x1f]*$"

ScopeId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_ID_CHARS,
        pattern=ID_PATTERN,
        description="A scope id: a non-blank string without control characters.",
    ),
]
Text = Annotated[str, Field(min_length=1, pattern=TEXT_PATTERN)]

# A date, or a date and time with an optional offset (UTC without one). Written out as a
# pattern so the schema says exactly what is accepted: no epoch numbers, no other shapes.
_DATE = r"(000[1-9]|00[1-9]\d|0[1-9]\d{2}|[1-9]\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_TIME = r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
_OFFSET = r"([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)"
WHEN_PATTERN = rf"^{_DATE}([Tt]{_TIME}{_OFFSET}?)?$"
_WHEN = re.compile(WHEN_PATTERN)


def _when(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _WHEN.match(value):
        raise ValueError("must be an ISO 8601 date or date-time, e.g. 2024-04-15T08:30:00Z")
    try:
        return parse_when(value, field="the time")
    except InvalidInputError as exc:
        raise ValueError(exc.message) from None


When = Annotated[
    datetime,
    BeforeValidator(_when),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": WHEN_PATTERN,
            "description": "ISO 8601 date or date-time; UTC when no offset is given.",
            "examples": ["2024-04-15T08:30:00Z", "2024-04-15"],
        }
    ),
]


def _integral(value: object) -> object:
    # JSON Schema counts 100.0 as an integer; strict validation alone would refuse it.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _integral_fields(model: type[BaseModel], data: object) -> object:
    """``data`` with integral floats made ints in the model's integer fields: an integer as
    JSON Schema means it (3 and 3.0), while strict validation still refuses true and "3"."""
    if not isinstance(data, dict):
        return data
    ints = {
        name
        for name, f in model.model_fields.items()
        if f.annotation is int
        or (int in get_args(f.annotation) and len(get_args(f.annotation)) == 2)
    }
    return {k: _integral(v) if k in ints else v for k, v in data.items()}


def _strict_config(value: object) -> object:
    if not isinstance(value, dict):
        return value
    return SearchConfig.model_validate(_integral_fields(SearchConfig, value), strict=True)


# The library's own model, validated strictly when it arrives as JSON.
StrictSearchConfig = Annotated[SearchConfig, BeforeValidator(_strict_config)]


class _Request(BaseModel):
    # Strict: JSON's types are the schema's types (no `true` for 1, no "5" for 5).
    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _integral_floats(cls, data: object) -> object:
        return _integral_fields(cls, data)


class MessageIn(_Request):
    """One message, in the OpenAI chat shape."""

    role: Role = Field(default="user", description="Who produced it.")
    content: Text = Field(description="The text of the message.")
    name: ScopeId | None = Field(
        default=None, description="The speaker's name, when the role alone does not say who."
    )
    metadata: dict[str, Any] | None = Field(
        default=None, description="Kept with this message's episode and memories."
    )
    at: When | None = Field(
        default=None, description="When it happened; defaults to the request's `at`."
    )


class AddRequest(_Request):
    """What happened, to be stored as episodes and turned into memories."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "messages": [
                        {"role": "user", "name": "Ana", "content": "I moved to Lisbon last month"}
                    ],
                    "user_id": "ana",
                    "session_id": "s1",
                    "at": "2024-04-15T08:30:00Z",
                }
            ]
        },
    )

    messages: Text | MessageIn | Annotated[list[Text | MessageIn], Field(min_length=1)] = Field(
        description="A string (one user message), a message, or a list of them."
    )
    user_id: ScopeId = Field(description="The user scope; must be one the API key may write.")
    agent_id: ScopeId | None = None
    session_id: ScopeId | None = None
    at: When | None = Field(default=None, description="When it happened (default: now).")
    metadata: dict[str, Any] | None = Field(
        default=None, description="Kept with every episode and memory of the request."
    )
    wait: bool = Field(
        default=True,
        description="Derive the memories before answering (default), or store the messages"
        " and derive them later, in batches, before any read (the answer has no memories and"
        " pending is true).",
    )


class UpdateRequest(_Request):
    """A new version of a memory: new text, new metadata, or both."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "anyOf": [
                {"required": ["text"], "properties": {"text": {"type": "string"}}},
                {"required": ["metadata"], "properties": {"metadata": {"type": "object"}}},
            ]
        },
    )

    text: Text | None = None
    metadata: dict[str, Any] | None = None
    reason: Text | None = Field(default=None, max_length=2000, description="Kept in history.")

    @model_validator(mode="after")
    def _something_changes(self) -> UpdateRequest:
        if self.text is None and self.metadata is None:
            raise ValueError("an update needs text, metadata or both")
        return self


class SearchRequest(_Request):
    """A recall query."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"query": "where does Ana live?", "user_id": "ana"}]},
    )

    query: Annotated[Text, Field(max_length=MAX_QUERY_CHARS)]
    user_id: ScopeId
    agent_id: ScopeId | None = None
    session_id: ScopeId | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    filters: dict[str, Any] | None = Field(
        default=None,
        description=(
            'See the filter grammar in the docs: {"kind": "fact"}, '
            '{"occurred_at": {"gte": "2024-01-01"}}, metadata keys.'
        ),
    )
    at: When | None = Field(default=None, description="Recall what was true at this time.")
    budget_tokens: int | None = Field(default=None, ge=1, le=10_000_000)
    recipe: Literal["hybrid", "lexical", "semantic"] | None = Field(
        default=None, description="A named retrieval recipe (default: hybrid)."
    )
    config: StrictSearchConfig | None = Field(
        default=None, description="Retrieval settings; overrides `recipe`."
    )


class ContextRequest(_Request):
    """A request for a prompt-ready block of what to remember."""

    query: Annotated[Text, Field(max_length=MAX_QUERY_CHARS)]
    user_id: ScopeId
    agent_id: ScopeId | None = None
    session_id: ScopeId | None = None
    budget_tokens: int = Field(default=1000, ge=50, le=1_000_000)
    at: When | None = None


class ErrorBody(BaseModel):
    """Every error the API returns, whatever the status."""

    code: str = Field(description="A stable machine-readable name, e.g. `not_found`.")
    message: str = Field(description="What went wrong, for the person who has to fix it.")
    details: dict[str, Any] = Field(description="Structured fields (the offending field, ...).")
    request_id: str = Field(description="The request's id, as in the X-Request-ID header.")


class Health(BaseModel):
    """Liveness of the server."""

    status: Literal["ok"]
    version: str
    auth: Literal["keys", "local"]
