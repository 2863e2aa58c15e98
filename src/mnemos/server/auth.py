"""Who is asking: an API key (bound to a tenant and user scopes), or the local user.

Every request is turned into a :class:`Principal` and then into a Memory view confined to
it (:meth:`mnemos.Memory.scoped`). From there on the engine's store queries carry the
principal's tenant and user scopes, whatever the request body or query string names.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from starlette.requests import HTTPConnection

from mnemos.errors import AccessDeniedError, AuthenticationError
from mnemos.memory import Memory

__all__ = ["AuthMode", "Principal", "bearer_token", "is_loopback", "resolve"]

AuthMode = Literal["keys", "local"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The tenant and user scopes a request is bound to.

    Attributes:
        tenant: Every read and write of the request stays in this tenant.
        user_ids: The user scopes it may touch; ``None`` for every user of the tenant.
        key_id: The API key's id (``None`` in local mode).
        name: The key's label, for people.
    """

    tenant: str
    user_ids: frozenset[str] | None
    key_id: str | None = None
    name: str | None = None

    def bind(self, root: Memory) -> Memory:
        """A view of ``root`` that can reach nothing outside this principal."""
        return root.scoped(tenant=self.tenant, user_ids=self.user_ids)

    @property
    def single_user(self) -> str | None:
        """The user scope, when the principal is bound to exactly one."""
        if self.user_ids is not None and len(self.user_ids) == 1:
            return next(iter(self.user_ids))
        return None


def is_loopback(host: str | None) -> bool:
    """Whether an address is this machine (127.0.0.0/8, ::1); False for anything else."""
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


def bearer_token(conn: HTTPConnection) -> str | None:
    """The API key a request carries: ``Authorization: Bearer …`` or ``X-API-Key: …``."""
    header = conn.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    key = conn.headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


def resolve(root: Memory, mode: AuthMode, token: str | None, client_host: str | None) -> Principal:
    """The principal for a request.

    Args:
        root: The server's Memory.
        mode: ``keys`` (a valid API key is required) or ``local`` (no keys; loopback only).
        token: The API key the request carries, if any.
        client_host: The peer address.

    Raises:
        AuthenticationError: keys mode, and the key is missing, unknown or revoked.
        AccessDeniedError: local mode, and the request does not come from this machine.
    """
    if mode == "local":
        if not is_loopback(client_host):
            raise AccessDeniedError(
                "this server runs in local mode (no API keys) and only answers this machine"
            )
        return Principal(tenant=root.settings.tenant, user_ids=None)
    if token is None:
        raise AuthenticationError(
            "an API key is required: send 'Authorization: Bearer <key>' "
            "(create one with `mnemos keys create`)"
        )
    key = root.keys.authenticate(token)
    return Principal(
        tenant=key.tenant,
        user_ids=None if key.user_ids is None else frozenset(key.user_ids),
        key_id=key.id,
        name=key.name,
    )
