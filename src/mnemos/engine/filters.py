"""The ``filters`` argument of search and get_all, parsed into a :class:`MemoryQuery` part.

Grammar (every key optional, all must hold)::

    {"kind": "fact"}                           equality, or a list / {"in": [...]}
    {"status": ["active", "superseded"]}       which statuses to include (default active)
    {"occurred_at": {"gte": "2023-05-01", "lt": "2023-06-01"}}
    {"metadata": {"topic": "food", "source": {"in": ["chat", "email"]}}}
    {"topic": "food"}                          any other key is a metadata key
    {"nested.key": {"gte": 3}}                 dots reach into nested metadata

A value is a scalar (equality), a list (one of), or a mapping with exactly one operator:
eq, ne, in, nin, gt, gte, lt, lte, exists (true/false). A mapping is never read as nested
metadata, so a mistyped operator is an error rather than a silent non-match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast, get_args

from mnemos._time import parse_when
from mnemos.errors import InvalidInputError
from mnemos.models import MEMORY_KINDS, MEMORY_STATUSES
from mnemos.storage.base import Condition, Operator

__all__ = ["ParsedFilters", "parse_filters"]

_OPERATORS: tuple[str, ...] = get_args(Operator)
_SEGMENT = re.compile(r"^[A-Za-z0-9_\-:@ ]{1,64}$")
_SCALARS = (str, int, float, bool)


@dataclass(frozen=True, slots=True)
class ParsedFilters:
    """What a filters mapping asks for."""

    kinds: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    conditions: tuple[Condition, ...] = ()


def _choices(key: str, value: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, Mapping):
        if set(value) != {"in"}:
            raise InvalidInputError(f"filter {key!r} accepts a value, a list, or {{'in': [...]}}")
        value = value["in"]
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise InvalidInputError(f"filter {key!r} must be a string or a list of strings", field=key)
    bad = [v for v in values if v not in allowed]
    if bad:
        raise InvalidInputError(
            f"filter {key!r} has unknown value(s) {bad}; choose from {list(allowed)}", field=key
        )
    return tuple(dict.fromkeys(values))


def _time_range(value: Any) -> tuple[datetime | None, datetime | None]:
    if not isinstance(value, Mapping) or not value:
        raise InvalidInputError(
            "filter 'occurred_at' must be a mapping such as "
            "{'gte': '2023-05-01', 'lt': '2023-06-01'}"
        )
    after: datetime | None = None
    before: datetime | None = None
    tick = timedelta(microseconds=1)
    for op, raw in value.items():
        t = parse_when(raw, field=f"occurred_at.{op}")
        if op == "gte":
            after = t
        elif op == "gt":
            after = t + tick
        elif op == "lt":
            before = t
        elif op == "lte":
            before = t + tick
        else:
            raise InvalidInputError(
                f"filter 'occurred_at' does not take {op!r}; use gte, gt, lt or lte"
            )
    return after, before


def _check_value(path: str, value: Any) -> None:
    if value is not None and not isinstance(value, _SCALARS):
        raise InvalidInputError(
            f"metadata filter {path!r} compares against {type(value).__name__}; "
            "use a string, number, boolean or null",
            field=path,
        )


def _condition(path: tuple[str, ...], spec: Any) -> Condition:
    dotted = ".".join(path)
    for segment in path:
        if not _SEGMENT.match(segment):
            raise InvalidInputError(
                f"metadata filter key {dotted!r} is not usable: keys are 1-64 letters, digits "
                "or _-:@ and spaces, joined by dots",
                field=dotted,
            )
    if isinstance(spec, Mapping):
        if len(spec) != 1:
            raise InvalidInputError(
                f"metadata filter {dotted!r} must have exactly one operator, got {list(spec)}",
                field=dotted,
            )
        op, value = next(iter(spec.items()))
        if op not in _OPERATORS:
            raise InvalidInputError(
                f"unknown filter operator {op!r} on {dotted!r}; use one of {list(_OPERATORS)}",
                field=dotted,
            )
        if op in ("in", "nin"):
            if not isinstance(value, list | tuple):
                raise InvalidInputError(f"{op!r} on {dotted!r} needs a list", field=dotted)
            for item in value:
                _check_value(dotted, item)
            value = tuple(value)
        elif op == "exists":
            if not isinstance(value, bool):
                raise InvalidInputError(f"'exists' on {dotted!r} needs true or false", field=dotted)
        else:
            _check_value(dotted, value)
            if value is None and op not in ("eq", "ne"):
                raise InvalidInputError(
                    f"{op!r} on {dotted!r} cannot compare with null", field=dotted
                )
        if value is None:
            return Condition(path, "exists", op == "ne")
        return Condition(path, cast(Operator, op), value)
    if isinstance(spec, list | tuple):
        for item in spec:
            _check_value(dotted, item)
        return Condition(path, "in", tuple(spec))
    _check_value(dotted, spec)
    if spec is None:
        return Condition(path, "exists", False)
    return Condition(path, "eq", spec)


def _metadata_conditions(prefix: tuple[str, ...], spec: Mapping[str, Any]) -> list[Condition]:
    out: list[Condition] = []
    for key, value in spec.items():
        if not isinstance(key, str) or not key:
            raise InvalidInputError("metadata filter keys must be non-empty strings")
        out.append(_condition((*prefix, *key.split(".")), value))
    return out


def parse_filters(filters: Mapping[str, Any] | None) -> ParsedFilters:
    """Parse a filters mapping.

    Raises:
        InvalidInputError: an unknown operator, value type or kind/status name.
    """
    if filters is None:
        return ParsedFilters()
    if not isinstance(filters, Mapping):
        raise InvalidInputError(f"filters must be a mapping, got {type(filters).__name__}")
    kinds = statuses = None
    after = before = None
    conditions: list[Condition] = []
    for key, value in filters.items():
        if key == "kind":
            kinds = _choices(key, value, MEMORY_KINDS)
        elif key == "status":
            statuses = _choices(key, value, MEMORY_STATUSES)
        elif key == "occurred_at":
            after, before = _time_range(value)
        elif key == "metadata":
            if not isinstance(value, Mapping):
                raise InvalidInputError("filter 'metadata' must be a mapping")
            conditions.extend(_metadata_conditions((), value))
        elif isinstance(key, str):
            conditions.extend(_metadata_conditions((), {key: value}))
        else:
            raise InvalidInputError("filter keys must be strings")
    return ParsedFilters(kinds, statuses, after, before, tuple(conditions))
