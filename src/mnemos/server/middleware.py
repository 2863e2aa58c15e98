"""What every request goes through: a request id, a body size limit, one error shape.

Both middlewares are plain ASGI, so they also guard what FastAPI never sees (an unknown
route, a body that is still streaming in) and add no per-request task overhead.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from mnemos.errors import InvalidInputError, MnemosError

__all__ = [
    "REQUEST_ID_HEADER",
    "BodyLimitMiddleware",
    "BodyTooLargeError",
    "RequestContextMiddleware",
    "RequestIdLogFilter",
    "current_request_id",
    "error_body",
    "shaped",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("mnemos_request_id", default="-")

access_log = logging.getLogger("mnemos.server.access")
error_log = logging.getLogger("mnemos.server")


def current_request_id() -> str:
    """The id of the request being handled in this context (``"-"`` outside one)."""
    return _request_id.get()


class RequestIdLogFilter(logging.Filter):
    """Adds ``request_id`` to every log record, so any log line can name its request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


class BodyTooLargeError(InvalidInputError):
    """The request body is larger than the server accepts; nothing was read into the store."""

    status = 413
    code = "request_too_large"


def error_body(error: MnemosError, request_id: str) -> dict[str, Any]:
    """The one JSON error shape: ``{"code", "message", "details", "request_id"}``."""
    return {**error.to_dict(), "request_id": request_id}


def shaped(code: str, message: str, details: dict[str, Any], request_id: str) -> dict[str, Any]:
    """The same shape for errors that are not mnemos errors (HTTP routing, validation)."""
    return {"code": code, "message": message, "details": details, "request_id": request_id}


async def send_json(send: Send, status: int, body: dict[str, Any], request_id: str) -> None:
    """Send a complete JSON response from ASGI middleware."""
    payload = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (REQUEST_ID_HEADER.encode(), request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class RequestContextMiddleware:
    """Request ids, access log lines, and a JSON 500 for anything unexpected.

    Takes the caller's ``X-Request-ID`` when it is a sane token (else makes one), echoes it
    on the response, puts it on every log record made while handling the request, and logs
    one access line per request. An exception nothing else handled becomes a 500 in the
    one error shape; the traceback goes to the log, never to the client.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, REQUEST_ID_HEADER)
        request_id = given if given and _VALID_REQUEST_ID.match(given) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_log.exception(
                "unhandled error in %s %s",
                scope["method"],
                scope["path"],
                extra={"request_id": request_id},
            )
            if not response_started:
                status = 500
                await send_json(
                    send,
                    500,
                    error_body(
                        MnemosError("internal server error; the server log has the details"),
                        request_id,
                    ),
                    request_id,
                )
        finally:
            principal = scope.get("state", {}).get("key_id") or "-"
            access_log.info(
                "%s %s %s %.1fms key=%s",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
                principal,
                extra={"request_id": request_id},
            )
            _request_id.reset(token)


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with a 413 in the one error shape.

    A declared ``Content-Length`` over the limit is refused before anything is read. A body
    that streams past the limit makes ``receive`` raise an HTTP 413, which FastAPI passes
    through its body parsing untouched and the app's one error handler shapes.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, "content-length")
        limit = self.max_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit:
            error = BodyTooLargeError(
                f"the request body has {int(declared):,} bytes; this server accepts at most "
                f"{limit:,}",
                limit=limit,
            )
            request_id = current_request_id()
            await send_json(send, error.status, error_body(error, request_id), request_id)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(
                        413,
                        f"the request body is larger than this server accepts ({limit:,} bytes)",
                    )
            return message

        await self.app(scope, limited_receive, send)


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return bytes(value).decode("latin-1")
    return None
