"""Records built without validation from trusted values are the records validation builds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mnemos.models import Episode, Evidence, MemoryRecord, SearchHit, _Record, trusted

T0 = datetime(2024, 5, 25, 13, 30, tzinfo=UTC)
EPISODE: dict[str, Any] = {
    "id": "ep-1", "tenant": "t", "user_id": "u", "agent_id": None, "session_id": "s1",
    "role": "user", "name": "Ana", "text": "I adopted a beagle", "occurred_at": T0,
    "recorded_at": T0, "metadata": {"dia_id": "D1:3", "tags": ["pets", {"n": 1}]},
}  # fmt: skip
MEMORY: dict[str, Any] = {
    "id": "m-1", "tenant": "t", "user_id": "u", "agent_id": "a", "session_id": "s1",
    "kind": "fact", "text": "Ana adopted a beagle", "occurred_at": T0, "valid_from": T0,
    "valid_to": None, "created_at": T0, "updated_at": T0, "expired_at": None,
    "status": "active", "version": 2, "metadata": {"topic": "pets"},
    "episode_ids": ["ep-1"], "superseded_by": None, "attributes": {"speaker": "Ana"},
}  # fmt: skip
EVIDENCE: dict[str, Any] = {
    "episode_id": "ep-1", "role": "user", "name": "Ana", "text": "I adopted a beagle",
    "occurred_at": T0, "session_id": "s1", "metadata": {"dia_id": "D1:3"},
}  # fmt: skip
HIT: dict[str, Any] = {
    "id": "m-1", "text": "Ana adopted a beagle", "kind": "fact", "score": 0.5,
    "scores": {"bm25": 3.2}, "ranks": {"bm25": 1}, "occurred_at": T0, "valid_from": T0,
    "valid_to": None, "status": "active", "user_id": "u", "agent_id": None,
    "session_id": "s1", "metadata": {}, "attributes": {"speaker": "Ana"},
    "evidence": [Evidence(**EVIDENCE)], "context": [], "matched": ["m-1"], "tokens": 12,
}  # fmt: skip


@pytest.mark.parametrize(
    ("cls", "values"),
    [(Episode, EPISODE), (MemoryRecord, MEMORY), (Evidence, EVIDENCE), (SearchHit, HIT)],
)
def test_a_trusted_record_is_the_validated_record(
    cls: type[_Record], values: dict[str, Any]
) -> None:
    validated = cls(**values)
    built = trusted(cls, **values)
    assert built == validated == cls.model_construct(**values)
    assert repr(built) == repr(validated)
    assert built.model_dump() == validated.model_dump()
    assert built.model_dump_json() == validated.model_dump_json()
    assert built.model_fields_set == validated.model_fields_set
    assert built.model_copy(update={"text": "changed"}).text == "changed"
    with pytest.raises(ValueError, match="frozen"):
        built.text = "changed"  # type: ignore[misc]


def test_a_trusted_record_needs_every_field_in_order() -> None:
    missing = {k: v for k, v in EPISODE.items() if k != "metadata"}
    with pytest.raises(AssertionError, match="Episode"):
        trusted(Episode, **missing)
    with pytest.raises(AssertionError, match="Episode"):
        trusted(Episode, **dict(reversed(list(EPISODE.items()))))
