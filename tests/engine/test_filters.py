"""The filters grammar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mnemos.engine.filters import parse_filters
from mnemos.errors import InvalidInputError
from mnemos.storage.base import Condition


def test_built_in_keys() -> None:
    parsed = parse_filters(
        {
            "kind": ["fact", "event"],
            "status": "superseded",
            "occurred_at": {"gte": "2023-05-01", "lte": "2023-06-01"},
        }
    )
    assert parsed.kinds == ("fact", "event")
    assert parsed.statuses == ("superseded",)
    assert parsed.occurred_after == datetime(2023, 5, 1, tzinfo=UTC)
    assert parsed.occurred_before == datetime(2023, 6, 1, tzinfo=UTC) + timedelta(microseconds=1)


def test_metadata_conditions() -> None:
    parsed = parse_filters(
        {"topic": "food", "metadata": {"n": {"gte": 2}, "tags": ["a", "b"]}, "deep.key": None}
    )
    assert parsed.conditions == (
        Condition(("topic",), "eq", "food"),
        Condition(("n",), "gte", 2),
        Condition(("tags",), "in", ("a", "b")),
        Condition(("deep", "key"), "exists", False),
    )


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"kind": "gossip"}, "unknown value"),
        ({"status": 3}, "string or a list"),
        ({"occurred_at": "2023"}, "must be a mapping"),
        ({"occurred_at": {"after": "2023-01-01"}}, "does not take"),
        ({"n": {"approx": 1}}, "unknown filter operator"),
        ({"n": {"gt": 1, "lt": 3}}, "exactly one operator"),
        ({"n": {"in": 3}}, "needs a list"),
        ({"n": {"gt": None}}, "cannot compare with null"),
        ({"n": {"exists": "yes"}}, "true or false"),
        ({"n": {"eq": [1]}}, "compares against list"),
        ({"bad key!": 1}, "not usable"),
        ({"metadata": 3}, "must be a mapping"),
    ],
)
def test_mistakes_are_explained(filters: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_filters(filters)
