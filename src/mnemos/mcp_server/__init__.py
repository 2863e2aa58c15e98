"""``mnemos mcp``: memory tools for agents over the Model Context Protocol.

Built on the official ``mcp`` SDK (version 2), over stdio or streamable HTTP. The six tools
(remember, recall, get_context, forget, list_memories, history) call the same facade as the
REST API. None of them takes a user, tenant, agent or session: the server is pinned to one
scope by its configuration (``--user``, ``--agent``, ``--session``) or by its API key, and
every call runs on a Memory view confined to exactly that user scope. A prompt-injected
agent cannot name another scope, and the tool schemas reject arguments they do not declare.

Needs the ``mcp`` extra: ``pip install 'mnemos[mcp]'``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from mnemos.errors import (
    AccessDeniedError,
    AuthenticationError,
    InvalidInputError,
    MissingDependencyError,
)
from mnemos.memory import Memory

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from mnemos.server.middleware import RequestContextMiddleware

__all__ = ["Bound", "McpScope", "ScopeResolver", "build_server", "http_app", "require_mcp_extra"]

Auth = Literal["config", "keys", "local"]


def require_mcp_extra() -> None:
    """Raise unless the ``mcp`` extra is installed.

    Raises:
        MissingDependencyError: the SDK cannot be imported.
    """
    for module in ("mcp", "mcp.server.mcpserver"):
        try:
            importlib.import_module(module)
        except ImportError:
            raise MissingDependencyError("the MCP server", "mcp", "mcp") from None


@dataclass(frozen=True, slots=True)
class McpScope:
    """The scope an MCP server is pinned to (any field may come from the API key instead)."""

    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class Bound:
    """A tool call's Memory view (confined to one user scope) and that scope."""

    memory: Memory
    user_id: str
    agent_id: str | None
    session_id: str | None


class ScopeResolver:
    """Decides, for every tool call, which single user scope it runs in.

    Args:
        memory: The server's Memory.
        auth: ``config`` (stdio: the scope and, optionally, a key fixed at start), ``keys``
            (HTTP: every request carries an API key) or ``local`` (HTTP without keys,
            loopback only).
        scope: The configured scope; ``user_id`` may be left to a single-user API key.
        token: The API key a ``config`` server runs with, if any.

    Raises:
        AuthenticationError: the configured key is unknown or revoked.
        AccessDeniedError: the configured user is outside the key's scopes.
        InvalidInputError: no user scope can be decided.
    """

    def __init__(
        self, memory: Memory, auth: Auth, scope: McpScope, token: str | None = None
    ) -> None:
        self.memory = memory
        self.auth = auth
        self.scope = scope
        self.token = token
        if auth == "config":
            self.fixed: Bound | None = self._bind(token)
        else:
            self.fixed = None
            if auth == "local" and scope.user_id is None:
                raise InvalidInputError("an MCP server without API keys needs --user")

    def _bind(self, token: str | None) -> Bound:
        from mnemos.server.auth import Principal  # no FastAPI involved: plain dataclass

        if token is None:
            who = Principal(tenant=self.memory.settings.tenant, user_ids=None)
        else:
            key = self.memory.keys.authenticate(token)
            who = Principal(
                tenant=key.tenant,
                user_ids=None if key.user_ids is None else frozenset(key.user_ids),
                key_id=key.id,
            )
        user = self.scope.user_id or who.single_user
        if user is None:
            raise InvalidInputError(
                "this MCP server needs one user scope: pass --user, or use an API key bound "
                "to exactly one user"
            )
        if who.user_ids is not None and user not in who.user_ids:
            raise AccessDeniedError(
                f"user scope {user!r} is outside the scopes of the API key", user_id=user
            )
        return Bound(
            memory=self.memory.scoped(tenant=who.tenant, user_ids=[user]),
            user_id=user,
            agent_id=self.scope.agent_id,
            session_id=self.scope.session_id,
        )

    def __call__(self, headers: Mapping[str, str] | None) -> Bound:
        """The bound scope for a call carrying these HTTP headers (``None`` on stdio)."""
        if self.fixed is not None:
            return self.fixed
        if self.auth == "local":
            return self._bind(None)
        token = _bearer(headers or {})
        if token is None:
            raise AuthenticationError("an API key is required: send 'Authorization: Bearer <key>'")
        return self._bind(token)


def _bearer(headers: Mapping[str, str]) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    key = lowered.get("x-api-key", "").strip()
    return key or None


def build_server(resolver: ScopeResolver) -> MCPServer:
    """The MCP server with its six tools, each bound per call by ``resolver``.

    Raises:
        MissingDependencyError: the ``mcp`` extra is not installed.
    """
    require_mcp_extra()
    from mnemos.mcp_server import tools

    return tools.build_server(resolver)


def http_app(server: MCPServer, resolver: ScopeResolver, *, host: str) -> RequestContextMiddleware:
    """The streamable HTTP ASGI app (at ``/mcp``), refusing unauthenticated requests up front,
    with request ids and access log lines as in the REST server.

    Every tool call is also bound again from its own request headers, so a key revoked
    while a client is connected stops working on its next call.
    """
    from mnemos.mcp_server import tools

    return tools.http_app(server, resolver, host=host)
