"""The MCP tools and the HTTP app; imported only once the ``mcp`` extra is known to be there."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Annotated, Any, Literal

from anyio import to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette

from mnemos._version import __version__
from mnemos.errors import AccessDeniedError, MnemosError
from mnemos.mcp_server import Bound, ScopeResolver
from mnemos.models import MemoryKind, SearchHit
from mnemos.server.auth import is_loopback
from mnemos.server.middleware import (
    RequestContextMiddleware,
    current_request_id,
    error_body,
    send_json,
)

__all__ = ["INSTRUCTIONS", "Guard", "build_server", "http_app"]


# -- tool results --------------------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Remembered(_Out):
    """What remember stored."""

    memory_ids: list[str] = Field(description="Ids of the memories derived from the text.")
    texts: list[str] = Field(description="The memories as stored.")
    occurred_at: datetime


class Recalled(_Out):
    """One recalled memory."""

    id: str
    text: str
    kind: str
    occurred_at: datetime | None
    score: float = Field(description="Relevance in [0, 1]; 1 is the best possible.")
    said_by: list[str] = Field(description="Who said what the memory rests on.")


class Recall(_Out):
    """recall's answer, best first."""

    memories: list[Recalled]


class MemoryItem(_Out):
    """One memory in a listing."""

    id: str
    text: str
    kind: str
    status: str
    occurred_at: datetime | None
    version: int


class MemoryList(_Out):
    """A page of memories, newest first."""

    memories: list[MemoryItem]
    total: int
    next_offset: int | None


class Forgotten(_Out):
    """forget's answer."""

    id: str
    status: str
    version: int


class Change(_Out):
    """One change in a memory's history."""

    version: int
    event: str
    at: datetime
    reason: str | None
    text: str | None


class History(_Out):
    """Every change to a memory, oldest first."""

    memory_id: str
    changes: list[Change]


def _recalled(hit: SearchHit) -> Recalled:
    return Recalled(
        id=hit.id,
        text=hit.text,
        kind=hit.kind,
        occurred_at=hit.occurred_at,
        score=hit.score,
        said_by=sorted({e.name or e.role for e in hit.evidence}),
    )


INSTRUCTIONS = """\
Long-term memory for this conversation's user. Use it without being asked:
- At the start of a task, or when the user refers to something from before, call
  get_context (or recall) with what you need to know.
- When the user tells you something lasting (a fact about them, a preference, a plan, an
  event, a correction), call remember with it.
- When the user says something you remembered is wrong or should be forgotten, find it
  with recall and call forget with its id.
Memories are private to this user; you cannot and need not name the user."""

Text = Annotated[str, Field(min_length=1, max_length=100_000)]
Query = Annotated[str, Field(min_length=1, max_length=10_000)]
Id = Annotated[str, Field(min_length=1, max_length=256)]


def build_server(resolver: ScopeResolver) -> MCPServer:
    """The MCP server with its six tools, each bound per call by ``resolver``."""
    tools: list[Tool] = []

    async def run(ctx: Context, work: Callable[[Bound], Any]) -> Any:
        try:
            bound = resolver(ctx.headers)
            return await to_thread.run_sync(work, bound)
        except MnemosError as exc:
            raise ToolError(f"{exc.code}: {exc.message}") from None

    def tool(
        *, title: str, read_only: bool, destructive: bool = False, idempotent: bool = False
    ) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
        annotations = ToolAnnotations(
            title=title,
            read_only_hint=read_only,
            destructive_hint=destructive,
            idempotent_hint=idempotent,
            open_world_hint=False,
        )

        def register(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            tools.append(_strict_tool(fn, title=title, annotations=annotations))
            return fn

        return register

    @tool(title="Remember", read_only=False)
    async def remember(
        ctx: Context,
        text: Annotated[
            Text,
            Field(
                description=(
                    "What to remember, as one self-contained statement that will make sense "
                    "months from now, e.g. 'Ana moved to Lisbon in March 2024' or 'Prefers "
                    "aisle seats on long flights'."
                )
            ),
        ],
        speaker: Annotated[
            str | None,
            Field(
                max_length=256,
                description="Who said it, by name, when it matters (e.g. 'Ana').",
            ),
        ] = None,
        role: Annotated[
            Literal["user", "assistant", "tool", "system"],
            Field(description="Who the statement came from: the user (default), you, a tool."),
        ] = "user",
        occurred_at: Annotated[
            datetime | None,
            Field(description="When it happened, ISO 8601 (default: now)."),
        ] = None,
        metadata: Annotated[
            dict[str, Any] | None,
            Field(description="Optional structured tags kept with the memory, e.g. topic."),
        ] = None,
    ) -> Remembered:
        """Save something worth remembering about the user for later conversations.

        Call it whenever the user shares lasting information: facts about themselves or
        people they know, preferences, plans, events with their dates, decisions, and
        corrections of what you knew. One statement per call. Do not store secrets the user
        would not want kept, or small talk.
        """

        def work(b: Bound) -> Remembered:
            message: dict[str, Any] = {"role": role, "content": text}
            if speaker:
                message["name"] = speaker
            result = b.memory.add(
                message,
                user_id=b.user_id,
                agent_id=b.agent_id,
                session_id=b.session_id,
                at=occurred_at,
                metadata=metadata,
            )
            return Remembered(
                memory_ids=[m.id for m in result.memories],
                texts=[m.text for m in result.memories],
                occurred_at=result.episodes[0].occurred_at,
            )

        result: Remembered = await run(ctx, work)
        return result

    @tool(title="Recall", read_only=True, idempotent=True)
    async def recall(
        ctx: Context,
        query: Annotated[
            Query,
            Field(description="What you need to know, in plain words: 'where does Ana live?'"),
        ],
        limit: Annotated[int, Field(ge=1, le=50, description="Most memories to return.")] = 5,
        kind: Annotated[MemoryKind | None, Field(description="Only memories of this kind.")] = None,
        since: Annotated[
            datetime | None, Field(description="Only what happened at or after this time.")
        ] = None,
        until: Annotated[
            datetime | None, Field(description="Only what happened before this time.")
        ] = None,
    ) -> Recall:
        """Search the user's memories: the most relevant first, with dates and ids.

        Use it to answer questions about the user's past, preferences and plans, or to find
        the id of a memory to forget. Prefer get_context when you only need background for
        a reply.
        """

        def work(b: Bound) -> Recall:
            filters: dict[str, Any] = {}
            if kind:
                filters["kind"] = kind
            window = {op: t for op, t in (("gte", since), ("lt", until)) if t is not None}
            if window:
                filters["occurred_at"] = window
            result = b.memory.search(
                query,
                user_id=b.user_id,
                agent_id=b.agent_id,
                limit=limit,
                filters=filters or None,
            )
            return Recall(memories=[_recalled(h) for h in result.hits])

        result: Recall = await run(ctx, work)
        return result

    @tool(title="Get context", read_only=True, idempotent=True)
    async def get_context(
        ctx: Context,
        query: Annotated[
            Query,
            Field(description="The task or question you are about to answer."),
        ],
        budget_tokens: Annotated[
            int, Field(ge=50, le=20_000, description="Most tokens the block may use.")
        ] = 800,
    ) -> str:
        """Get a ready-to-use block of what you remember that bears on a task or question.

        Each line is one memory with the date it happened and who said it, most relevant
        first, within the token budget. Call it before answering anything that may depend
        on earlier conversations.
        """

        def work(b: Bound) -> str:
            return b.memory.context(
                query, user_id=b.user_id, agent_id=b.agent_id, budget_tokens=budget_tokens
            ).text

        result: str = await run(ctx, work)
        return result

    @tool(title="Forget", read_only=False, destructive=True, idempotent=False)
    async def forget(
        ctx: Context,
        memory_id: Annotated[Id, Field(description="The id of the memory, from recall.")],
        reason: Annotated[
            str | None,
            Field(max_length=2000, description="Why, e.g. 'the user moved away'. Kept."),
        ] = None,
    ) -> Forgotten:
        """Forget a memory that is wrong or that the user asked you to drop.

        It stops being recalled at once; its history is kept, so a person can restore it.
        """

        def work(b: Bound) -> Forgotten:
            record = b.memory.delete(memory_id, reason=reason)
            return Forgotten(id=record.id, status=record.status, version=record.version)

        result: Forgotten = await run(ctx, work)
        return result

    @tool(title="List memories", read_only=True, idempotent=True)
    async def list_memories(
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=100, description="Page size.")] = 20,
        offset: Annotated[int, Field(ge=0, description="Where the page starts.")] = 0,
        kind: Annotated[MemoryKind | None, Field(description="Only memories of this kind.")] = None,
    ) -> MemoryList:
        """List what you remember about the user, newest first, a page at a time.

        Use recall to search; use this to review everything, e.g. when the user asks what
        you know about them.
        """

        def work(b: Bound) -> MemoryList:
            page = b.memory.get_all(
                user_id=b.user_id,
                agent_id=b.agent_id,
                filters={"kind": kind} if kind else None,
                limit=limit,
                offset=offset,
            )
            items = [
                MemoryItem(
                    id=m.id,
                    text=m.text,
                    kind=m.kind,
                    status=m.status,
                    occurred_at=m.occurred_at,
                    version=m.version,
                )
                for m in page.items
            ]
            return MemoryList(
                memories=items,
                total=page.total,
                next_offset=page.next_offset,
            )

        result: MemoryList = await run(ctx, work)
        return result

    @tool(title="History of a memory", read_only=True, idempotent=True)
    async def history(
        ctx: Context,
        memory_id: Annotated[Id, Field(description="The id of the memory.")],
    ) -> History:
        """Show how a memory changed over time: every version, when and why it changed, and
        what it said then. Use it when the user asks why you believe something, or what you
        used to remember.
        """

        def work(b: Bound) -> History:
            events = b.memory.history(memory_id)
            changes = [
                Change(
                    version=e.version,
                    event=e.event,
                    at=e.at,
                    reason=e.reason,
                    text=(e.after or e.before or {}).get("text"),
                )
                for e in events
            ]
            return History(memory_id=memory_id, changes=changes)

        result: History = await run(ctx, work)
        return result

    return MCPServer(
        "mnemos", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING", tools=tools
    )


def _strict_tool(fn: Callable[..., Any], **options: Any) -> Tool:
    """A tool whose argument schema forbids properties it does not declare.

    The SDK's argument models ignore unknown keys; a memory tool must refuse them, so that
    ``{"user_id": "someone-else"}`` is an error rather than silently dropped.
    """
    tool = Tool.from_function(fn, **options)
    loose = tool.fn_metadata.arg_model
    strict: type[ArgModelBase] = type(
        loose.__name__,
        (loose,),
        {"model_config": ConfigDict(extra="forbid", arbitrary_types_allowed=True)},
    )
    tool.fn_metadata.arg_model = strict
    tool.parameters = strict.model_json_schema(by_alias=True)
    return tool


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Guard:
    """Refuses HTTP requests without a usable key (or from another machine, without keys)."""

    def __init__(self, app: Starlette, resolver: ScopeResolver) -> None:
        self.app = app
        self.resolver = resolver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            client = scope.get("client")
            try:
                if self.resolver.auth == "local":
                    if not is_loopback(client[0] if client else None):
                        raise AccessDeniedError("this MCP server answers only this machine")
                else:
                    self.resolver(headers)
            except MnemosError as exc:
                rid = current_request_id()
                await send_json(send, exc.status, error_body(exc, rid), rid)
                return
        await self.app(scope, receive, send)


def http_app(server: MCPServer, resolver: ScopeResolver, *, host: str) -> RequestContextMiddleware:
    """See :func:`mnemos.mcp_server.http_app`."""
    app = server.streamable_http_app(stateless_http=True, json_response=True, host=host)
    return RequestContextMiddleware(Guard(app, resolver))
