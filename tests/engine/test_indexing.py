"""What a memory is indexed under."""

from __future__ import annotations

from datetime import UTC, datetime

from mnemos import MemoryRecord
from mnemos.engine.indexing import asks, index_text
from mnemos.engine.text import analyze

NOW = datetime(2024, 1, 8, 9, tzinfo=UTC)


def record(kind: str, text: str) -> MemoryRecord:
    return MemoryRecord(
        id="m-1",
        tenant="default",
        user_id="ana",
        kind=kind,
        text=text,
        occurred_at=NOW,
        valid_from=NOW,
        created_at=NOW,
        updated_at=NOW,
        attributes={"speaker": "Ana"},
    )


def test_a_note_keeps_the_question_it_answers_in_the_turn_field() -> None:
    index = index_text(record("note", "Three times a week."), "How often do you work out?")
    assert index.body == analyze("Three times a week.")
    assert index.turn == analyze("How often do you work out?")
    assert index.context == ()


def test_a_note_keeps_a_turn_that_asks_nothing_in_the_context_field() -> None:
    index = index_text(record("note", "Sounds fun."), "We work out on Sundays.")
    assert index.turn == ()
    assert index.context == analyze("We work out on Sundays.")


def test_a_statement_is_indexed_without_the_turn_before() -> None:
    index = index_text(record("fact", "Ana works out three times a week."), "How often?")
    assert index.turn == ()
    assert index.context == ()
    assert index.keys == analyze("Ana")


def test_a_turn_asks_when_it_has_a_question_mark() -> None:
    assert asks("Nice! How often do you all work out? [image: a gym]")
    assert not asks("We work out on Sundays.")
