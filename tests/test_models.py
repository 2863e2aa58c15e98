"""Records built without validation from trusted values are the records validation builds."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mnemos import models
from mnemos.models import Entity, Episode, Evidence, MemoryRecord, SearchHit, _Record, trusted

PACKAGE = Path(models.__file__).parent

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
ENTITY: dict[str, Any] = {
    "id": "e-1", "tenant": "t", "user_id": "u", "key": "ana", "name": "Ana", "kind": "person",
    "aliases": ["ana", "annie"], "mentions": 3, "first_seen": T0, "last_seen": None,
    "attributes": {"residence": ["Porto"]},
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
    [
        (Episode, EPISODE),
        (MemoryRecord, MEMORY),
        (Evidence, EVIDENCE),
        (SearchHit, HIT),
        (Entity, ENTITY),
    ],
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


def _trusted_calls(root: Path) -> list[tuple[str, str, list[str | None]]]:
    """Every ``trusted(Model, field=...)`` call under ``root``: where, which model, and
    the keywords it passes in order (``None`` for a ``**mapping``)."""
    calls = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "trusted"
            ):
                where = f"{path}:{node.lineno}"
                first = node.args[0] if node.args else None
                model = first.id if isinstance(first, ast.Name) else "?"
                calls.append((where, model, [k.arg for k in node.keywords]))
    return calls


def _misnamed(root: Path) -> list[str]:
    """The calls that do not pass their model's every field, by name, in its order."""
    wrong = []
    for where, model, keywords in _trusted_calls(root):
        cls = getattr(models, model, None)
        if cls is None or keywords != list(cls.__pydantic_fields__):
            wrong.append(f"{where}: {model}")
    return wrong


def test_every_trusted_call_names_every_field_in_order() -> None:
    models_built = {model for _, model, _ in _trusted_calls(PACKAGE)}
    assert models_built >= {"Episode", "MemoryRecord", "Evidence", "SearchHit", "Entity"}
    assert _misnamed(PACKAGE) == []


def test_the_call_check_finds_a_missing_or_misordered_field(tmp_path: Path) -> None:
    fields = list(Episode.__pydantic_fields__)
    given = ", ".join(f"{f}=x" for f in fields)
    short = ", ".join(f"{f}=x" for f in fields[:-1])
    turned = ", ".join(f"{f}=x" for f in reversed(fields))
    (tmp_path / "calls.py").write_text(
        f"ok = trusted(Episode, {given})\n"
        f"short = trusted(Episode, {short})\n"
        f"turned = trusted(Episode, {turned})\n"
        f"spread = trusted(Episode, **values)\n"
        f"unknown = trusted(Episodes, {given})\n"
    )
    found = [w.split(":", 1)[1] for w in _misnamed(tmp_path)]
    assert found == ["2: Episode", "3: Episode", "4: Episode", "5: Episodes"]
