"""The web dashboard under ``/ui``: server-rendered pages over the same facade as the API.

People inspect and fix memory here: browse and search by user, kind, status and time; read
a memory with its evidence, validity and version history; follow a user's timeline; edit
and delete with a confirmation step. Pages are plain HTML (Jinja2, autoescaped) with a
little JavaScript of our own; nothing third-party is served.

In keys mode the dashboard asks for an API key once and keeps it in an HttpOnly,
SameSite=Strict cookie; every page authenticates it again, so a revoked key is locked out
on its next click. Every form that changes something carries a CSRF token.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import hmac
import itertools
import json
import secrets
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool

from mnemos.errors import AuthenticationError, InvalidInputError, MnemosError, NotFoundError
from mnemos.memory import Memory
from mnemos.models import MEMORY_KINDS, MEMORY_STATUSES, Entity, MemoryRecord
from mnemos.server.api import server_state
from mnemos.server.auth import Principal, bearer_token, resolve

__all__ = ["COOKIE", "Graph", "entity_graph", "mount"]

COOKIE = "mnemos_key"
_HERE = Path(__file__).parent
_templates = Jinja2Templates(directory=str(_HERE / "templates"))
_PAGE = 50
_GRAPH_NODES = 40
ENTITY_KINDS = ("person", "place", "organization", "thing", "concept")
T = TypeVar("T")

_DONE = {
    "updated": "Saved a new version.",
    "deleted": "Deleted. The memory is hidden from recall; restore it below to undo.",
    "restored": "Restored.",
    "login": "Signed in.",
}


Graph = dict[str, list[dict[str, Any]]]


def entity_graph(memory: Memory, user_id: str | None, limit: int) -> Graph:
    """The entity graph of a scope: ``{"nodes": [...], "edges": [...]}``.

    Nodes are the ``limit`` most mentioned entities ``{id, label, kind, weight, url}``
    (weight: memories that mention it). Edges ``{source, target, label, weight}`` join
    entities mentioned in the same message (weight: how many messages), and an entity to
    another that one of its current attributes names (label: the attribute, such as
    ``employer``). ``graph.js`` draws exactly that.
    """
    entities = memory.entities.list(user_id=user_id, limit=limit).items
    by_key = {(e.user_id, e.key): e for e in entities}
    by_name: dict[tuple[str, str], Entity] = {}
    for e in entities:
        for name in (e.name, *e.aliases):
            by_name.setdefault((e.user_id, name.casefold()), e)
    together: Counter[tuple[str, str]] = Counter()
    if entities:
        notes = memory.get_all(user_id=user_id, filters={"kind": "note"}, limit=1000).items
        for note in notes:
            keys = note.attributes.get("entities", [])
            present = sorted(
                {by_key[(note.user_id, k)].id for k in keys if (note.user_id, k) in by_key}
            )
            together.update(itertools.combinations(present, 2))
    edges = [{"source": a, "target": b, "label": "", "weight": n} for (a, b), n in together.items()]
    for e in entities:
        for attribute, values in sorted(e.attributes.items()):
            for value in values:
                other = by_name.get((e.user_id, value.casefold()))
                if other is not None and other.id != e.id:
                    label = attribute.replace("_", " ")
                    edges.append({"source": e.id, "target": other.id, "label": label, "weight": 2})
    nodes = [
        {"id": e.id, "label": e.name, "kind": e.kind, "weight": e.mentions,
         "url": f"/ui/entities/{e.id}"}
        for e in entities
    ]  # fmt: skip
    return {"nodes": nodes, "edges": edges}


class _Redirect(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class _View:
    """What a page needs about the request: who, their Memory view, their CSRF token."""

    def __init__(self, request: Request, who: Principal, memory: Memory, secret: bytes) -> None:
        self.request = request
        self.who = who
        self.memory = memory
        identity = who.key_id or "local"
        self.csrf = hmac.new(secret, identity.encode(), hashlib.sha256).hexdigest()[:32]

    def render(self, template: str, code: int = 200, **values: Any) -> HTMLResponse:
        done = self.request.query_params.get("done")
        return _templates.TemplateResponse(
            self.request,
            template,
            {
                "who": self.who,
                "csrf": self.csrf,
                "auth": server_state(self.request).auth,
                "flash": _DONE.get(done or ""),
                "kinds": MEMORY_KINDS,
                "statuses": MEMORY_STATUSES,
                **values,
            },
            status_code=code,
        )

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await run_in_threadpool(fn, *args, **kwargs)

    async def form(self) -> dict[str, str]:
        """The urlencoded form of a POST, with its CSRF token checked."""
        body = (await self.request.body()).decode("utf-8", errors="replace")
        fields = dict(parse_qsl(body, keep_blank_values=True))
        if not hmac.compare_digest(fields.get("csrf", ""), self.csrf):
            raise InvalidInputError("the form is stale or was not sent by this dashboard; reload")
        return fields


def _secret(request: Request) -> bytes:
    secret: bytes = request.app.state.mnemos_ui_secret
    return secret


async def _view(request: Request) -> _View:
    state = server_state(request)
    token = request.cookies.get(COOKIE) or bearer_token(request)
    host = request.client.host if request.client else None
    if state.auth == "keys" and token is None:
        raise _Redirect(f"/ui/login?{urlencode({'next': _here(request)})}")
    try:
        who = await run_in_threadpool(resolve, state.memory, state.auth, token, host)
    except AuthenticationError:
        raise _Redirect(f"/ui/login?{urlencode({'next': _here(request), 'bad': '1'})}") from None
    request.scope.setdefault("state", {})["key_id"] = who.key_id
    return _View(request, who, who.bind(state.memory), _secret(request))


def _here(request: Request) -> str:
    path = request.url.path
    return path + (f"?{request.url.query}" if request.url.query else "")


def _safe_next(value: str | None) -> str:
    # Only same-site paths, so the login form cannot bounce a user to another site.
    if value and value.startswith("/ui") and not value.startswith("//"):
        return value
    return "/ui/"


def _day(value: str) -> datetime:
    """Midnight UTC at the start of a ``YYYY-MM-DD`` day."""
    try:
        return datetime.combine(date.fromisoformat(value), time(0, 0), tzinfo=UTC)
    except ValueError:
        raise InvalidInputError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _int(value: str | None, default: int) -> int:
    try:
        return max(0, int(value)) if value else default
    except ValueError:
        return default


async def _user_choices(view: _View) -> list[str]:
    """User scopes to offer in filters: the key's own, else those of the latest memories."""
    if view.who.user_ids is not None:
        return sorted(view.who.user_ids)
    recent = await view.call(
        view.memory.get_all, filters={"status": list(MEMORY_STATUSES)}, limit=500
    )
    return sorted({m.user_id for m in recent.items})


def _linker(path: str, current: dict[str, Any]) -> Callable[..., str]:
    """``link(offset=50)``: this page's URL with some parameters changed (empty ones left out)."""

    def link(**changes: Any) -> str:
        params = {**current, **changes}
        return f"{path}?" + urlencode({k: v for k, v in params.items() if v not in ("", 0, None)})

    return link


def word_diff(before: str, after: str) -> Markup:
    """An HTML word diff: removed words in ``<del>``, added ones in ``<ins>``."""
    a, b = before.split(" "), after.split(" ")
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(str(escape(" ".join(a[i1:i2]))))
            continue
        if i2 > i1:
            out.append(f"<del>{escape(' '.join(a[i1:i2]))}</del>")
        if j2 > j1:
            out.append(f"<ins>{escape(' '.join(b[j1:j2]))}</ins>")
    return Markup(" ".join(out))  # every piece above is escaped


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    """What a history event changed, field by field, for display."""
    before, after = before or {}, after or {}
    skip = {"version", "updated_at"}
    out = []
    for field in sorted(set(before) | set(after)):
        if field in skip or before.get(field) == after.get(field):
            continue
        old, new = before.get(field), after.get(field)
        if field == "text" and isinstance(old, str) and isinstance(new, str):
            out.append({"field": field, "diff": word_diff(old, new)})
        else:
            out.append({"field": field, "old": _show(old), "new": _show(new)})
    return out


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _html_errors(endpoint: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """Show a mnemos error as a page, not as the API's JSON."""

    @functools.wraps(endpoint)
    async def page(request: Request) -> Response:
        try:
            response: Response = await endpoint(request)
        except MnemosError as exc:
            return _templates.TemplateResponse(
                request,
                "error.html",
                {"title": "That did not work", "message": exc.message, "who": None},
                status_code=exc.status,
            )
        return response

    return page


def mount(app: FastAPI) -> None:
    """Add the dashboard's routes and static files to the app."""
    app.state.mnemos_ui_secret = secrets.token_bytes(32)
    _templates.env.filters["when"] = _when
    _templates.env.filters["pretty"] = lambda v: json.dumps(v, ensure_ascii=False, indent=2)
    _templates.env.globals["diff_fields"] = changes
    app.mount("/ui/static", StaticFiles(directory=str(_HERE / "static")), name="ui-static")

    async def redirect(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Redirect)
        return RedirectResponse(exc.url, status_code=303)

    app.add_exception_handler(_Redirect, redirect)
    for path, endpoint, methods in _ROUTES:
        app.add_api_route(
            path,
            _html_errors(endpoint),
            methods=methods,
            include_in_schema=False,
            response_class=HTMLResponse,
        )


def _when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "—" if value is None else value.astimezone(UTC).strftime(fmt)


# -- pages -------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    """Ask for an API key (keys mode only)."""
    state = server_state(request)
    if state.auth == "local":
        return RedirectResponse("/ui/", status_code=303)
    error = None
    if request.method == "POST":
        body = (await request.body()).decode("utf-8", errors="replace")
        fields = dict(parse_qsl(body, keep_blank_values=True))
        token = fields.get("key", "").strip()
        target = _safe_next(fields.get("next"))
        try:
            await run_in_threadpool(state.memory.keys.authenticate, token)
        except AuthenticationError:
            error = "That key is unknown or revoked."
        else:
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(
                COOKIE,
                token,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/ui",
            )
            return response
    elif request.query_params.get("bad"):
        error = "Your key is no longer valid; sign in again."
    return _templates.TemplateResponse(
        request,
        "login.html",
        {"error": error, "next": _safe_next(request.query_params.get("next")), "who": None},
        status_code=401 if error else 200,
    )


async def logout(request: Request) -> Response:
    """Forget the key held in the cookie."""
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


async def overview(request: Request) -> Response:
    """Counts for the tenant, the user scopes, and the latest memories."""
    view = await _view(request)
    stats = await view.call(view.memory.stats)
    recent = await view.call(
        view.memory.get_all, filters={"status": list(MEMORY_STATUSES)}, limit=500
    )
    users: dict[str, int] = defaultdict(int)
    for m in recent.items:
        users[m.user_id] += 1
    return view.render(
        "overview.html",
        stats=stats,
        recent=recent.items[:12],
        users=sorted(users.items(), key=lambda kv: (-kv[1], kv[0])),
        show_path=view.who.key_id is None,
    )


async def memories_page(request: Request) -> Response:
    """Browse (newest first) or search memories, by user, kind, status and time."""
    view = await _view(request)
    q = request.query_params
    query = (q.get("q") or "").strip()
    user = (q.get("user") or "").strip() or view.who.single_user
    kind = q.get("kind") or ""
    status = q.get("status") or ""
    since, until = q.get("from") or "", q.get("to") or ""
    offset = _int(q.get("offset"), 0)
    filters: dict[str, Any] = {}
    if kind:
        filters["kind"] = kind
    if status:
        filters["status"] = status
    error = None
    hits = None
    page = None
    try:
        window = {}
        if since:
            window["gte"] = _day(since)
        if until:
            window["lt"] = _day(until) + timedelta(days=1)
        if window:
            filters["occurred_at"] = window
        if query:
            if not user:
                raise InvalidInputError("pick a user to search their memories")
            result = await view.call(
                view.memory.search, query, user_id=user, filters=filters or None, limit=_PAGE
            )
            hits = result
        else:
            page = await view.call(
                view.memory.get_all,
                user_id=user or None,
                filters=filters or None,
                limit=_PAGE,
                offset=offset,
            )
    except InvalidInputError as exc:
        error = exc.message
    link = _linker("/ui/memories", {"q": query, "user": user, "kind": kind, "status": status,
                                    "from": since, "to": until, "offset": offset})  # fmt: skip
    return view.render(
        "memories.html",
        query=query,
        user=user or "",
        kind=kind,
        status=status,
        since=since,
        until=until,
        hits=hits,
        page=page,
        error=error,
        users=await _user_choices(view),
        link=link,
    )


async def memory_page(request: Request) -> Response:
    """One memory: text, validity, evidence, version history and actions."""
    view = await _view(request)
    memory_id = request.path_params["memory_id"]
    try:
        record = await view.call(view.memory.get, memory_id)
    except NotFoundError:
        return view.render("missing.html", code=404, what="memory", id=memory_id)
    evidence = [await view.call(view.memory.episodes.get, eid) for eid in record.episode_ids]
    history = await view.call(view.memory.history, memory_id)
    keys = set(record.attributes.get("entities", []))
    known = await view.call(view.memory.entities.list, user_id=record.user_id, limit=1000)
    return view.render(
        "memory.html",
        m=record,
        evidence=evidence,
        history=list(reversed(history)),
        mentions=[e for e in known.items if e.key in keys],
    )


async def edit_page(request: Request) -> Response:
    """Edit a memory: a form, then a confirmation showing the change, then the new version."""
    view = await _view(request)
    memory_id = request.path_params["memory_id"]
    try:
        record = await view.call(view.memory.get, memory_id)
    except NotFoundError:
        return view.render("missing.html", code=404, what="memory", id=memory_id)
    if request.method == "GET":
        return view.render(
            "edit.html",
            m=record,
            text=record.text,
            metadata=json.dumps(record.metadata, ensure_ascii=False, indent=2),
            reason="",
            error=None,
            confirm=False,
        )
    fields = await view.form()
    text = fields.get("text", "").replace("\r\n", "\n")
    metadata_text = fields.get("metadata", "").strip() or "{}"
    reason = fields.get("reason", "").strip() or None
    error = None
    metadata: Any = None
    try:
        metadata = json.loads(metadata_text)
        if not isinstance(metadata, dict):
            error = "Metadata must be a JSON object."
    except json.JSONDecodeError as exc:
        error = f"Metadata is not valid JSON: {exc.msg} (line {exc.lineno})."
    if error is None and text == record.text and metadata == record.metadata:
        error = "Nothing changed."
    if error is None and fields.get("confirm") == "yes":
        try:
            await view.call(view.memory.update, memory_id, text, metadata=metadata, reason=reason)
        except MnemosError as exc:
            error = exc.message
        else:
            return RedirectResponse(f"/ui/memories/{memory_id}?done=updated", status_code=303)
    return view.render(
        "edit.html",
        code=400 if error else 200,
        m=record,
        text=text,
        metadata=metadata_text,
        reason=reason or "",
        error=error,
        confirm=error is None,
        text_diff=word_diff(record.text, text) if error is None else None,
        metadata_changed=error is None and metadata != record.metadata,
        new_metadata=metadata,
    )


async def delete_page(request: Request) -> Response:
    """Delete a memory after confirming; it stays restorable."""
    view = await _view(request)
    memory_id = request.path_params["memory_id"]
    try:
        record = await view.call(view.memory.get, memory_id)
    except NotFoundError:
        return view.render("missing.html", code=404, what="memory", id=memory_id)
    if request.method == "GET":
        return view.render("delete.html", m=record, error=None)
    fields = await view.form()
    try:
        await view.call(
            view.memory.delete, memory_id, reason=fields.get("reason", "").strip() or None
        )
    except MnemosError as exc:
        return view.render("delete.html", code=exc.status, m=record, error=exc.message)
    return RedirectResponse(f"/ui/memories/{memory_id}?done=deleted", status_code=303)


async def restore_action(request: Request) -> Response:
    """Restore a deleted memory."""
    view = await _view(request)
    memory_id = request.path_params["memory_id"]
    await view.form()
    await view.call(view.memory.restore, memory_id, reason="restored from the dashboard")
    return RedirectResponse(f"/ui/memories/{memory_id}?done=restored", status_code=303)


async def episode_page(request: Request) -> Response:
    """One episode (raw evidence)."""
    view = await _view(request)
    episode_id = request.path_params["episode_id"]
    try:
        episode = await view.call(view.memory.episodes.get, episode_id)
    except NotFoundError:
        return view.render("missing.html", code=404, what="episode", id=episode_id)
    return view.render("episode.html", e=episode)


async def timeline_page(request: Request) -> Response:
    """A user's episodes day by day, each with the memories derived from it."""
    view = await _view(request)
    q = request.query_params
    users = await _user_choices(view)
    user = (q.get("user") or "").strip() or view.who.single_user or (users[0] if users else "")
    session = (q.get("session") or "").strip()
    offset = _int(q.get("offset"), 0)
    days: list[tuple[str, list[Any]]] = []
    page = None
    error = None
    derived: dict[str, list[MemoryRecord]] = defaultdict(list)
    if user:
        try:
            page = await view.call(
                view.memory.episodes.list,
                user_id=user,
                session_id=session or None,
                limit=100,
                offset=offset,
            )
        except MnemosError as exc:
            error = exc.message
        if page is not None and page.items:
            first, last = page.items[0].occurred_at, page.items[-1].occurred_at
            found = await view.call(
                view.memory.get_all,
                user_id=user,
                filters={
                    "status": list(MEMORY_STATUSES),
                    "occurred_at": {"gte": first, "lte": last},
                },
                limit=1000,
            )
            wanted = {e.id for e in page.items}
            for m in found.items:
                for eid in m.episode_ids:
                    if eid in wanted:
                        derived[eid].append(m)
            grouped: dict[str, list[Any]] = defaultdict(list)
            for e in page.items:
                grouped[_when(e.occurred_at, "%A %d %B %Y")].append(e)
            days = list(grouped.items())

    return view.render(
        "timeline.html",
        users=users,
        user=user,
        session=session,
        days=days,
        page=page,
        derived=derived,
        error=error,
        link=_linker("/ui/timeline", {"user": user, "session": session, "offset": offset}),
    )


async def graph_page(request: Request) -> Response:
    """The entity graph of a user (or of every user the key reaches)."""
    view = await _view(request)
    user = (request.query_params.get("user") or "").strip() or view.who.single_user or ""
    src = "/ui/graph.json" + (f"?{urlencode({'user': user})}" if user else "")
    return view.render(
        "graph.html", users=await _user_choices(view), user=user, src=src, limit=_GRAPH_NODES
    )


async def graph_data(request: Request) -> Response:
    """The graph as JSON, for graph.js."""
    view = await _view(request)
    user = (request.query_params.get("user") or "").strip() or None
    return JSONResponse(await view.call(entity_graph, view.memory, user, _GRAPH_NODES))


async def entities_page(request: Request) -> Response:
    """Entities, most mentioned first, by user, kind or name."""
    view = await _view(request)
    q = request.query_params
    user = (q.get("user") or "").strip() or view.who.single_user or ""
    kind = q.get("kind") or ""
    name = (q.get("q") or "").strip()
    offset = _int(q.get("offset"), 0)
    error = None
    page = None
    try:
        if name:
            page = await view.call(
                view.memory.entities.search, name, user_id=user or None, limit=_PAGE
            )
        else:
            page = await view.call(
                view.memory.entities.list,
                user_id=user or None,
                kind=kind or None,
                limit=_PAGE,
                offset=offset,
            )
    except InvalidInputError as exc:
        error = exc.message
    return view.render(
        "entities.html",
        page=page,
        user=user,
        kind=kind,
        name=name,
        error=error,
        users=await _user_choices(view),
        entity_kinds=ENTITY_KINDS,
        link=_linker("/ui/entities", {"user": user, "kind": kind, "q": name, "offset": offset}),
    )


async def entity_page(request: Request) -> Response:
    """One entity: what is known about it now, and every memory that mentions it."""
    view = await _view(request)
    entity_id = request.path_params["entity_id"]
    try:
        entity = await view.call(view.memory.entities.get, entity_id)
    except NotFoundError:
        return view.render("missing.html", code=404, what="entity", id=entity_id)
    history = await view.call(view.memory.entities.history, entity_id, limit=200)
    return view.render("entity.html", e=entity, history=history)


_ROUTES: list[tuple[str, Callable[..., Any], list[str]]] = [
    ("/ui/entities", entities_page, ["GET"]),
    ("/ui/entities/{entity_id}", entity_page, ["GET"]),
    ("/ui/graph", graph_page, ["GET"]),
    ("/ui/graph.json", graph_data, ["GET"]),
    ("/ui/login", login_page, ["GET", "POST"]),
    ("/ui/logout", logout, ["POST"]),
    ("/ui/", overview, ["GET"]),
    ("/ui", overview, ["GET"]),
    ("/ui/memories", memories_page, ["GET"]),
    ("/ui/memories/{memory_id}", memory_page, ["GET"]),
    ("/ui/memories/{memory_id}/edit", edit_page, ["GET", "POST"]),
    ("/ui/memories/{memory_id}/delete", delete_page, ["GET", "POST"]),
    ("/ui/memories/{memory_id}/restore", restore_action, ["POST"]),
    ("/ui/episodes/{episode_id}", episode_page, ["GET"]),
    ("/ui/timeline", timeline_page, ["GET"]),
]
