"""The FastAPI application: the ``/v1`` API, the ``/ui`` dashboard, one error shape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from mnemos._version import __version__
from mnemos.errors import AuthenticationError, InvalidInputError, MnemosError
from mnemos.memory import Memory
from mnemos.server import api
from mnemos.server.auth import AuthMode
from mnemos.server.middleware import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    error_body,
    shaped,
)

__all__ = ["DEFAULT_MAX_BODY_BYTES", "create_app"]

DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
log = logging.getLogger("mnemos.server")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "access_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    415: "unsupported_media_type",
}


def _request_id(request: Request) -> str:
    rid: str = request.scope.get("state", {}).get("request_id", "-")
    return rid


async def _mnemos_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MnemosError)
    if exc.status >= 500:
        log.error("%s: %s", exc.code, exc.message, extra={"request_id": _request_id(request)})
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
    return JSONResponse(
        error_body(exc, _request_id(request)), status_code=exc.status, headers=headers
    )


def _clean_loc(loc: Any) -> list[str]:
    # Pydantic names the branches of a union in the location ("constrained-str",
    # "list[union[...]]", "MessageIn"); a client needs only the path through its JSON.
    return [
        str(part)
        for part in loc
        if not isinstance(part, str)
        or not ("[" in part or part.startswith("constrained-") or part[:1].isupper())
    ]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": _clean_loc(err.get("loc", ())),
            "message": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]
    # The deepest error says most: for a union it is the branch that came closest.
    first = max(errors, key=lambda e: len(e["loc"]), default={"loc": [], "message": "invalid"})
    where = ".".join(first["loc"]) or "request"
    body = shaped(
        "invalid_request", f"{where}: {first['message']}", {"errors": errors}, _request_id(request)
    )
    return JSONResponse(body, status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    body = shaped(code, str(exc.detail), {}, _request_id(request))
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names the methods of the first route on the path; list them all.
        headers["Allow"] = ", ".join(sorted(_methods_for(request)))
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


def _methods_for(request: Request) -> set[str]:
    allowed = set()
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.add(method)
    return allowed


def create_app(
    memory: Memory,
    *,
    auth: AuthMode = "keys",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    dashboard: bool = True,
) -> FastAPI:
    """Build the ASGI app over an open Memory (which the caller keeps and closes).

    Args:
        memory: The Memory every request is served from (bound per request to its key).
        auth: ``keys`` (every request needs an API key) or ``local`` (no keys; requests are
            answered only when they come from this machine).
        max_body_bytes: Largest request body accepted; larger ones get a 413.
        dashboard: Serve the web dashboard under ``/ui``.
    """
    if auth not in ("keys", "local"):
        raise InvalidInputError("auth must be 'keys' or 'local'", field="auth")
    app = FastAPI(
        title="mnemos",
        version=__version__,
        summary="Local-first memory for LLM agents.",
        description=(
            "Memories, recall and context for agents. Every request is bound to the tenant and "
            "user scopes of its API key (`Authorization: Bearer <key>`). Every error has the "
            "same JSON shape: `{code, message, details, request_id}`."
        ),
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.mnemos = api.ServerState(memory=memory, auth=auth)
    handlers: dict[Any, Any] = {
        MnemosError: _mnemos_error,
        RequestValidationError: _validation_error,
        StarletteHTTPException: _http_error,
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)
    app.include_router(api.public)
    app.include_router(api.router)
    if dashboard:
        from mnemos.server import ui

        ui.mount(app)

        @app.get("/", include_in_schema=False)
        def root() -> RedirectResponse:
            return RedirectResponse("/ui/", status_code=307)

    # Added last, so outermost: the request id exists before anything else runs.
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    return app
