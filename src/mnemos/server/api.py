"""The ``/v1`` REST API: each route binds the request to its principal and calls the facade.

Routes are plain functions, so FastAPI runs them in its thread pool: the engine is
synchronous and thread-safe (one SQLite writer behind a lock, a reader per thread).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from fastapi import APIRouter, Depends, Query, Request, Response, Security
from fastapi import Path as PathParam
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.background import BackgroundTask

from mnemos._version import __version__
from mnemos.engine.config import RECIPES
from mnemos.engine.validate import MAX_ID_CHARS
from mnemos.memory import Memory
from mnemos.models import (
    AddResult,
    Context,
    Entity,
    Episode,
    HistoryEvent,
    MemoryKind,
    MemoryRecord,
    MemoryStatus,
    Page,
    SearchResult,
)
from mnemos.server.auth import AuthMode, Principal, bearer_token, resolve
from mnemos.server.schemas import (
    ID_PATTERN,
    TEXT_PATTERN,
    AddRequest,
    ContextRequest,
    ErrorBody,
    Health,
    SearchRequest,
    UpdateRequest,
    When,
)

__all__ = ["ServerState", "bound_memory", "principal", "router", "server_state"]

EntityKind = Literal["person", "place", "organization", "thing", "concept"]


@dataclass(frozen=True, slots=True)
class ServerState:
    """What the routes need from the app: the root Memory and how requests authenticate."""

    memory: Memory
    auth: AuthMode


def server_state(request: Request) -> ServerState:
    """The app's :class:`ServerState`."""
    state: ServerState = request.app.state.mnemos
    return state


_bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `mnemos keys create`, as `Authorization: Bearer <key>`.",
)


def principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> Principal:
    """The principal of the request (401 without a valid key in keys mode)."""
    state = server_state(request)
    found = resolve(
        state.memory,
        state.auth,
        bearer_token(request),
        request.client.host if request.client else None,
    )
    request.scope.setdefault("state", {})["key_id"] = found.key_id
    return found


def bound_memory(request: Request, who: Annotated[Principal, Depends(principal)]) -> Memory:
    """The server's Memory confined to the request's tenant and user scopes."""
    return who.bind(server_state(request).memory)


Bound = Annotated[Memory, Depends(bound_memory)]
ScopeQuery = Annotated[str | None, Query(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]
MemoryId = Annotated[
    str,
    PathParam(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN, description="Memory id."),
]

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "The input cannot be accepted; nothing was written."),
        (401, "The API key is missing, unknown or revoked."),
        (403, "Outside the tenant or user scopes of the API key."),
        (404, "No such record in the key's tenant and scopes."),
        (409, "The write collides with what is stored."),
        (413, "The request body or a text in it is too large."),
        (422, "The request does not match the schema."),
        (500, "An unexpected server error."),
        (503, "The store is busy; retry."),
    )
}


def known_query_only(request: Request, _who: Annotated[Principal, Depends(principal)]) -> None:
    """Refuse query parameters the route does not declare, and repeats of single-valued
    ones: a typo must not widen a query (``?user=ana`` for ``?user_id=ana`` would list
    every user's memories), and ``?user_id=a&user_id=b`` must not mean one of them.
    Depends on the principal so that a caller without a key learns nothing past the 401."""
    declared = _QUERY_NAMES.get(request.scope.get("endpoint"))
    if declared is None:
        return
    problems = [
        {"type": "unknown_parameter", "loc": ("query", name), "msg": "unknown parameter"}
        for name in sorted(set(request.query_params) - set(declared))
    ]
    problems += [
        {"type": "repeated_parameter", "loc": ("query", name), "msg": "given more than once"}
        for name, many in declared.items()
        if not many and len(request.query_params.getlist(name)) > 1
    ]
    if problems:
        raise RequestValidationError(problems)


_QUERY_NAMES: dict[Any, dict[str, bool]] = {}

router = APIRouter(prefix="/v1", responses=_ERRORS, dependencies=[Depends(known_query_only)])
public = APIRouter(prefix="/v1", responses={500: _ERRORS[500]})


@public.get("/health", tags=["health"], summary="Liveness")
def health(request: Request) -> Health:
    """Whether the server is up, its version, and whether it requires API keys."""
    return Health(status="ok", version=__version__, auth=server_state(request).auth)


# -- memories ----------------------------------------------------------------------------


@router.post("/memories", status_code=201, tags=["memories"], summary="Add memories")
def add_memories(body: AddRequest, mem: Bound) -> AddResult:
    """Store what happened (one or more messages) and derive memories from it.

    Every message becomes an immutable episode; at least one memory is derived from each.
    All of it lands in one transaction, or nothing does. With ``wait: false`` the messages
    are stored and their memories derived later, before any read.
    """
    messages: Any
    if isinstance(body.messages, list):
        messages = [m if isinstance(m, str) else m.model_dump(exclude_none=True)
                    for m in body.messages]  # fmt: skip
    elif isinstance(body.messages, str):
        messages = body.messages
    else:
        messages = body.messages.model_dump(exclude_none=True)
    return mem.add(
        messages,
        user_id=body.user_id,
        agent_id=body.agent_id,
        session_id=body.session_id,
        at=body.at,
        metadata=body.metadata,
        wait=body.wait,
    )


@router.get("/memories", tags=["memories"], summary="List memories")
def list_memories(
    mem: Bound,
    user_id: ScopeQuery = None,
    agent_id: ScopeQuery = None,
    session_id: ScopeQuery = None,
    kind: Annotated[list[MemoryKind] | None, Query()] = None,
    status: Annotated[list[MemoryStatus] | None, Query()] = None,
    occurred_after: Annotated[When | None, Query()] = None,
    occurred_before: Annotated[When | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**12)] = 0,
) -> Page[MemoryRecord]:
    """A page of memories, newest first; active ones unless `status` says otherwise.

    Without `user_id`, every user scope the API key reaches is listed.
    """
    filters: dict[str, Any] = {}
    if kind:
        filters["kind"] = kind
    if status:
        filters["status"] = status
    window = {
        op: value
        for op, value in (("gte", occurred_after), ("lt", occurred_before))
        if value is not None
    }
    if window:
        filters["occurred_at"] = window
    return mem.get_all(
        user_id=user_id,
        agent_id=agent_id,
        session_id=session_id,
        filters=filters or None,
        limit=limit,
        offset=offset,
    )


@router.get("/memories/{memory_id}", tags=["memories"], summary="Get a memory")
def get_memory(memory_id: MemoryId, mem: Bound) -> MemoryRecord:
    """One memory by id, whatever its status."""
    return mem.get(memory_id)


@router.get(
    "/memories/{memory_id}/evidence", tags=["memories"], summary="The episodes behind a memory"
)
def memory_evidence(memory_id: MemoryId, mem: Bound) -> list[Episode]:
    """The episodes a memory was derived from, in the order they happened."""
    record = mem.get(memory_id)
    return [mem.episodes.get(eid) for eid in record.episode_ids]


@router.patch("/memories/{memory_id}", tags=["memories"], summary="Update a memory")
def update_memory(memory_id: MemoryId, body: UpdateRequest, mem: Bound) -> MemoryRecord:
    """Write a new version of a memory (new text, new metadata, or both).

    The previous version stays in the memory's history.
    """
    return mem.update(memory_id, body.text, metadata=body.metadata, reason=body.reason)


@router.delete("/memories/{memory_id}", tags=["memories"], summary="Delete a memory")
def delete_memory(
    memory_id: MemoryId,
    mem: Bound,
    reason: Annotated[str | None, Query(min_length=1, max_length=2000)] = None,
) -> MemoryRecord:
    """Soft-delete a memory: hidden from recall and listings, recoverable with restore."""
    return mem.delete(memory_id, reason=reason)


@router.post("/memories/{memory_id}/restore", tags=["memories"], summary="Restore a memory")
def restore_memory(memory_id: MemoryId, mem: Bound) -> MemoryRecord:
    """Bring back a soft-deleted memory with the status it had before."""
    return mem.restore(memory_id)


@router.get("/memories/{memory_id}/history", tags=["memories"], summary="A memory's history")
def memory_history(memory_id: MemoryId, mem: Bound) -> list[HistoryEvent]:
    """Every change to a memory, oldest first, with the record before and after."""
    return mem.history(memory_id)


# -- recall ------------------------------------------------------------------------------


@router.post("/search", tags=["recall"], summary="Search memories")
def search(body: SearchRequest, mem: Bound) -> SearchResult:
    """Hybrid recall (BM25 and vectors fused by RRF): hits best first, with their evidence."""
    config = body.config or (RECIPES[body.recipe] if body.recipe else None)
    return mem.search(
        body.query,
        user_id=body.user_id,
        agent_id=body.agent_id,
        session_id=body.session_id,
        limit=body.limit,
        filters=body.filters,
        at=body.at,
        budget_tokens=body.budget_tokens,
        config=config,
    )


@router.post("/context", tags=["recall"], summary="Build a prompt context")
def context(body: ContextRequest, mem: Bound) -> Context:
    """A prompt-ready block of dated memories relevant to the query, within a token budget."""
    return mem.context(
        body.query,
        user_id=body.user_id,
        agent_id=body.agent_id,
        session_id=body.session_id,
        budget_tokens=body.budget_tokens,
        at=body.at,
    )


# -- episodes ----------------------------------------------------------------------------


@router.get("/episodes", tags=["episodes"], summary="List episodes")
def list_episodes(
    mem: Bound,
    user_id: ScopeQuery = None,
    agent_id: ScopeQuery = None,
    session_id: ScopeQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**12)] = 0,
) -> Page[Episode]:
    """A page of raw episodes in the order they happened."""
    return mem.episodes.list(
        user_id=user_id, agent_id=agent_id, session_id=session_id, limit=limit, offset=offset
    )


@router.get("/episodes/{episode_id}", tags=["episodes"], summary="Get an episode")
def get_episode(
    episode_id: Annotated[
        str, PathParam(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)
    ],
    mem: Bound,
) -> Episode:
    """One episode (raw evidence) by id."""
    return mem.episodes.get(episode_id)


# -- export ------------------------------------------------------------------------------


@router.get(
    "/export",
    tags=["export"],
    summary="Export as JSONL",
    response_class=FileResponse,
    responses={
        200: {
            "description": "A mnemos JSONL export (see docs/export-format.md).",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        }
    },
)
def export(mem: Bound, user_id: ScopeQuery = None) -> Response:
    """Every episode, memory and history event the key reaches (or of one user)."""
    folder = Path(tempfile.mkdtemp(prefix="mnemos-export-"))
    try:
        result = mem.export(folder / "export.jsonl", user_id=user_id)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        result.path,
        media_type="application/x-ndjson",
        filename="mnemos-export.jsonl",
        headers={
            "X-Mnemos-Episodes": str(result.episodes),
            "X-Mnemos-Memories": str(result.memories),
            "X-Mnemos-History": str(result.history),
        },
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


# -- entities ----------------------------------------------------------------------------

EntityId = Annotated[
    str,
    PathParam(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN, description="Entity id."),
]


@router.get("/entities", tags=["entities"], summary="List entities")
def list_entities(
    mem: Bound,
    user_id: ScopeQuery = None,
    kind: Annotated[EntityKind | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**12)] = 0,
) -> Page[Entity]:
    """The people, places, organisations, things and concepts memories mention, most
    mentioned first, each with what is currently known about it."""
    return mem.entities.list(user_id=user_id, kind=kind, limit=limit, offset=offset)


@router.get("/entities/search", tags=["entities"], summary="Search entities by name")
def search_entities(
    mem: Bound,
    query: Annotated[str, Query(min_length=1, max_length=200, pattern=TEXT_PATTERN)],
    user_id: ScopeQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> Page[Entity]:
    """Entities whose name or an alias contains the query."""
    return mem.entities.search(query, user_id=user_id, limit=limit)


@router.get("/entities/{entity_id}", tags=["entities"], summary="Get an entity")
def get_entity(entity_id: EntityId, mem: Bound) -> Entity:
    """One entity with its aliases, mention count and current attributes."""
    return mem.entities.get(entity_id)


@router.get("/entities/{entity_id}/history", tags=["entities"], summary="An entity's history")
def entity_history(
    entity_id: EntityId,
    mem: Bound,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[MemoryRecord]:
    """Every memory mentioning the entity, newest first, superseded ones included: how what
    is known about it changed, with the validity of each."""
    return mem.entities.history(entity_id, limit=limit)


def _query_names(dependant: Dependant) -> dict[str, bool]:
    """Each query parameter of a route, and whether it takes several values."""
    names = {p.alias: _is_list(p.field_info.annotation) for p in dependant.query_params}
    for sub in dependant.dependencies:
        names.update(_query_names(sub))
    return names


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) is list:
        return True
    return any(_is_list(arg) for arg in get_args(annotation))


for _route in router.routes:
    if isinstance(_route, APIRoute):
        _QUERY_NAMES[_route.endpoint] = _query_names(_route.dependant)
