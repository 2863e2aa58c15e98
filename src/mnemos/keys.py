"""API keys: credentials bound to one tenant and, optionally, to some of its user scopes.

A key is shown once, when it is created, as a token ``mnemos_<id>_<secret>``; the store keeps
only the SHA-256 of the token (the secret has 256 bits of entropy, so a slow KDF would add
nothing) and compares digests in constant time. Revocation is a flag on the stored key that
every authentication reads, so it takes effect on the next request.

``mem.keys`` (:class:`ApiKeys`) administers the keys of the store a Memory opened. Whoever
holds that Memory holds the whole store file, so key administration is not confined to the
Memory's tenant; servers use :meth:`ApiKeys.authenticate` and then bind each request to the
key with :meth:`mnemos.Memory.scoped`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from mnemos._time import now
from mnemos.engine.validate import check_scope_id
from mnemos.errors import AccessDeniedError, AuthenticationError, InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from mnemos.memory import Memory
    from mnemos.storage.keys import KeyStore

__all__ = ["ApiKey", "ApiKeys", "IssuedKey", "hash_token", "parse_token"]

TOKEN_PREFIX = "mnemos"
_TOKEN = re.compile(rf"^{TOKEN_PREFIX}_([0-9a-f]{{16}})_([A-Za-z0-9_-]{{43}})$")
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")
MAX_KEY_USERS = 1000
MAX_NAME_CHARS = 200


class ApiKey(BaseModel):
    """An API key as stored and listed (never with its secret).

    Attributes:
        id: Public identifier; the token embeds it, and ``mnemos keys revoke`` takes it.
        tenant: The tenant every request made with the key is bound to.
        name: A label for people (which agent or service holds the key).
        user_ids: The user scopes the key may read and write; ``None`` for every user of
            the tenant.
        created_at: When the key was created.
        revoked_at: When it was revoked; ``None`` while it is usable.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    tenant: str
    name: str | None = None
    user_ids: list[str] | None = None
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether the key is still usable."""
        return self.revoked_at is None


class IssuedKey(BaseModel):
    """A key just created, with the only copy of its token there will ever be."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: ApiKey
    token: str


def hash_token(token: str) -> str:
    """The digest stored for a token (SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_token(token: str) -> str | None:
    """The key id inside a well-formed token, or ``None`` if it is not one."""
    match = _TOKEN.match(token)
    return match.group(1) if match else None


def _new_token() -> tuple[str, str]:
    key_id = secrets.token_hex(8)
    return key_id, f"{TOKEN_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


# Compared against when a token names no stored key, so a miss costs what a hit costs.
_DUMMY_HASH = hash_token("mnemos-no-such-key")


class ApiKeys:
    """``mem.keys``: create, list, revoke and check the API keys of a store.

    Example:
        >>> issued = mem.keys.create(tenant="acme", user_ids=["ana"], name="support bot")
        >>> issued.token                       # shown once; store it in the agent's secrets
        >>> mem.keys.authenticate(issued.token).tenant
        'acme'
    """

    def __init__(self, owner: Memory) -> None:
        self._owner = owner

    def _store(self) -> KeyStore:
        engine = self._owner._engine
        if engine.access.user_ids is not None:
            raise AccessDeniedError(
                "managing API keys needs a Memory that is not confined to some user scopes"
            )
        return engine.store

    def create(
        self,
        *,
        tenant: str | None = None,
        user_ids: Iterable[str] | None = None,
        name: str | None = None,
    ) -> IssuedKey:
        """Create a key bound to a tenant (default: this Memory's) and optional user scopes.

        Args:
            tenant: The tenant the key is bound to.
            user_ids: The only user scopes the key may touch (default: every user).
            name: A label for people.

        Returns:
            The key and its token. The token is not stored and cannot be shown again.

        Raises:
            InvalidInputError: an empty or malformed tenant, user id or name.
        """
        store = self._store()
        chosen = check_scope_id(
            tenant if tenant is not None else self._owner._engine.access.tenant,
            field="tenant",
            required=True,
        )
        assert chosen is not None
        users: list[str] | None = None
        if user_ids is not None:
            if isinstance(user_ids, str):
                raise InvalidInputError(
                    "user_ids must be a collection of user ids, not one string", field="user_ids"
                )
            users = sorted({_check_user(u) for u in user_ids})
            if not users:
                raise InvalidInputError(
                    "user_ids must name at least one user (omit it for every user)",
                    field="user_ids",
                )
            if len(users) > MAX_KEY_USERS:
                raise InvalidInputError(
                    f"a key may name at most {MAX_KEY_USERS} user scopes", field="user_ids"
                )
        if name is not None and (
            not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS
        ):
            raise InvalidInputError(
                f"name must be a non-empty string of at most {MAX_NAME_CHARS} characters",
                field="name",
            )
        key_id, token = _new_token()
        key = ApiKey(id=key_id, tenant=chosen, name=name, user_ids=users, created_at=now())
        store.insert_key(key, hash_token(token))
        return IssuedKey(key=key, token=token)

    def list(self, *, tenant: str | None = None, include_revoked: bool = False) -> list[ApiKey]:
        """Keys, oldest first: of one tenant, or of every tenant when ``tenant`` is None."""
        keys = self._store().list_keys(tenant)
        return [k for k in keys if include_revoked or k.active]

    def get(self, key_id: str) -> ApiKey:
        """One key by id.

        Raises:
            NotFoundError: no key with that id.
        """
        found = self._store().get_key(_check_key_id(key_id))
        if found is None:
            raise NotFoundError(f"no API key with id {key_id!r}", key_id=key_id)
        return found[0]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key; requests made with it fail from now on. Idempotent.

        Raises:
            NotFoundError: no key with that id.
        """
        revoked = self._store().revoke_key(_check_key_id(key_id), now())
        if revoked is None:
            raise NotFoundError(f"no API key with id {key_id!r}", key_id=key_id)
        return revoked

    def authenticate(self, token: str) -> ApiKey:
        """The active key a token belongs to.

        Raises:
            AuthenticationError: the token is malformed, unknown or revoked (one message for
                all three, so a caller learns nothing about which keys exist).
        """
        key_id = parse_token(token) if isinstance(token, str) else None
        found = None if key_id is None else self._store().get_key(key_id)
        stored = found[1] if found is not None else _DUMMY_HASH
        digest = hash_token(token) if isinstance(token, str) else ""
        if not hmac.compare_digest(stored, digest) or found is None or not found[0].active:
            raise AuthenticationError("the API key is missing, unknown or revoked")
        return found[0]


def _check_user(user_id: object) -> str:
    checked = check_scope_id(user_id, field="user_ids", required=True)
    assert checked is not None
    return checked


def _check_key_id(key_id: object) -> str:
    if not isinstance(key_id, str) or not _KEY_ID.match(key_id):
        raise InvalidInputError("a key id is 16 hexadecimal characters", field="key_id")
    return key_id
