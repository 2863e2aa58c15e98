"""Every error mnemos raises on purpose.

One root, so a caller can catch everything mnemos means with one ``except``::

    MnemosError                     anything mnemos raises on purpose
    ├── InvalidInputError           the caller passed something mnemos cannot accept (400)
    │   └── TextTooLargeError       a text is larger than the configured limit (413)
    ├── NotFoundError               no record with that id in the caller's scope (404)
    ├── ConflictError               the write collides with what is stored (409)
    ├── AccessDeniedError           outside the tenant or scopes the caller is bound to (403)
    ├── AuthenticationError         missing or unknown credentials (401)
    ├── ClosedError                 the Memory or store was used after close (409)
    ├── ConfigurationError          settings that cannot work together (500)
    │   └── MissingDependencyError  an optional part is asked for but its extra is missing
    ├── EmbedderError               the embedder failed or returned something unusable (500)
    └── StoreError                  the store cannot do what was asked (500)
        ├── NotAStoreError          the file exists but is not a mnemos store (400)
        ├── StorePathError          the store's path cannot be created or written (400)
        ├── EmbedderMismatchError   the store was built with another embedder (409)
        ├── SchemaVersionError      the store was written by a newer mnemos (409)
        └── StoreBusyError          another writer held the store too long (503)

Each class carries ``status`` (the HTTP status the REST API answers with) and ``code`` (a
stable machine-readable name). Instances carry ``details``: structured fields a client can
act on (the offending field, the id that was not found, the extra to install, ...).
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "ClosedError",
    "ConfigurationError",
    "ConflictError",
    "EmbedderError",
    "EmbedderMismatchError",
    "InvalidInputError",
    "MissingDependencyError",
    "MnemosError",
    "NotAStoreError",
    "NotFoundError",
    "SchemaVersionError",
    "StoreBusyError",
    "StoreError",
    "StorePathError",
    "TextTooLargeError",
]


class MnemosError(Exception):
    """Root of every error mnemos raises on purpose.

    Args:
        message: What went wrong, written for the person who has to fix it.
        **details: Structured fields describing the error (JSON-serialisable values).
    """

    status: ClassVar[int] = 500
    code: ClassVar[str] = "mnemos_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        """The error as the JSON body the REST API sends."""
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInputError(MnemosError):
    """The caller passed a value mnemos cannot accept; nothing was written."""

    status = 400
    code = "invalid_input"


class TextTooLargeError(InvalidInputError):
    """A text is larger than ``Settings.max_text_chars``; nothing was written."""

    status = 413
    code = "text_too_large"


class NotFoundError(MnemosError):
    """No record with that id exists in the caller's scope."""

    status = 404
    code = "not_found"


class ConflictError(MnemosError):
    """The write collides with what is stored (an id that already exists, a wrong state)."""

    status = 409
    code = "conflict"


class AccessDeniedError(MnemosError):
    """The request reaches outside the tenant or user scopes the caller is bound to."""

    status = 403
    code = "access_denied"


class AuthenticationError(MnemosError):
    """Credentials are missing, unknown or revoked."""

    status = 401
    code = "unauthenticated"


class ClosedError(MnemosError):
    """The Memory (or its store) was used after it was closed."""

    status = 409
    code = "closed"


class ConfigurationError(MnemosError):
    """Settings that cannot work (an unknown embedder name, a bad config file)."""

    status = 500
    code = "configuration_error"


class MissingDependencyError(ConfigurationError):
    """An optional part was asked for but the extra that provides it is not installed."""

    code = "missing_dependency"

    def __init__(self, what: str, extra: str, module: str) -> None:
        super().__init__(
            f"{what} needs the optional dependency {module!r}, which is not installed. "
            f"Install it with: pip install 'mnemos[{extra}]'",
            extra=extra,
            module=module,
        )


class EmbedderError(MnemosError):
    """The embedder failed or returned vectors of the wrong shape."""

    status = 500
    code = "embedder_error"


class StoreError(MnemosError):
    """The store cannot do what was asked."""

    status = 500
    code = "store_error"


class NotAStoreError(StoreError):
    """The file exists but is not a mnemos store (not SQLite, or SQLite without our schema)."""

    status = 400
    code = "not_a_store"


class StorePathError(StoreError):
    """The store's path cannot be created, opened or written."""

    status = 400
    code = "store_path_error"


class EmbedderMismatchError(StoreError):
    """The store records a different embedder (or dimension) than the one it was opened with."""

    status = 409
    code = "embedder_mismatch"


class SchemaVersionError(StoreError):
    """The store's schema is newer than this version of mnemos understands."""

    status = 409
    code = "schema_version"


class StoreBusyError(StoreError):
    """Another writer held the store for longer than the busy timeout."""

    status = 503
    code = "store_busy"
