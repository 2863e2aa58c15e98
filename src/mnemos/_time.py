"""Time handling shared by every layer: parse, normalise to UTC, serialise sortably."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache

from mnemos.errors import InvalidInputError

__all__ = ["from_db", "now", "parse_when", "to_db"]


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def parse_when(value: object, *, field: str = "at") -> datetime:
    """Turn an ISO-8601 string, date or datetime into an aware UTC datetime.

    A naive datetime (or a string without an offset) is taken to be UTC.

    Raises:
        InvalidInputError: the value is of another type, or not a valid ISO-8601 time.
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time(0, 0))
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInputError(
                f"{field} must be an ISO-8601 date or time such as '2023-05-08T13:56:00Z', "
                f"got {value!r}",
                field=field,
            ) from None
    else:
        raise InvalidInputError(
            f"{field} must be an ISO-8601 string or a datetime, got {type(value).__name__}",
            field=field,
        )
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        raise InvalidInputError(
            f"{field} {value!r} is outside the range of representable times", field=field
        ) from None


def to_db(dt: datetime | None) -> str | None:
    """Serialise to a fixed-width UTC ISO string that sorts as text in time order."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return _utc_text(dt)


@lru_cache(maxsize=4096)
def _utc_text(dt: datetime) -> str:
    # A write serialises the same few instants many times over (when each message was
    # said, when the call was made), so they are remembered. Equal instants in other
    # zones hash alike and give the same text.
    return dt.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def from_db(text: str | None) -> datetime | None:
    """Parse what :func:`to_db` wrote."""
    if text is None:
        return None
    return datetime.fromisoformat(text)  # reads the trailing "Z" as UTC
