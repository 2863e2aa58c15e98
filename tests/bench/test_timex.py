"""Date-resolution accuracy against LoCoMo's annotated answers."""

from __future__ import annotations

from datetime import date

import pytest

from mnemos.bench.timex import agrees, gold_span, run_timex
from tests.conftest import SHARED_DATA

LOCOMO = SHARED_DATA / "locomo" / "locomo10.json"
SAID = date(2023, 6, 9)


@pytest.mark.parametrize(
    ("answer", "span"),
    [
        ("7 May 2023", (date(2023, 5, 7), date(2023, 5, 8))),
        ("February 24, 2023", (date(2023, 2, 24), date(2023, 2, 25))),
        ("19 January, 2023", (date(2023, 1, 19), date(2023, 1, 20))),
        ("June 2023", (date(2023, 6, 1), date(2023, 7, 1))),
        ("2022", (date(2022, 1, 1), date(2023, 1, 1))),
        ("The week before 9 June 2023", (date(2023, 6, 2), date(2023, 6, 9))),
        ("The sunday before 25 May 2023", (date(2023, 5, 21), date(2023, 5, 22))),
        ("The weekend before 17 July 2023", (date(2023, 7, 15), date(2023, 7, 17))),
        ("two weekends before 17 July 2023", (date(2023, 7, 8), date(2023, 7, 10))),
        ("the summer of 2022", (date(2022, 6, 1), date(2022, 9, 1))),
        ("first week of May 2023", (date(2023, 5, 1), date(2023, 5, 8))),
        ("The week before 3June, 2022.", (date(2022, 5, 27), date(2022, 6, 3))),
        ("4 years", None),
        ("her mother", None),
    ],
)
def test_gold_answers_parse(answer: str, span: tuple[date, date] | None) -> None:
    assert gold_span(answer, SAID) == span


def test_agreement() -> None:
    day = (date(2023, 5, 7), date(2023, 5, 8))
    assert agrees(day, day)
    assert not agrees((date(2023, 5, 1), date(2023, 5, 8)), day)
    month = (date(2023, 5, 1), date(2023, 6, 1))
    assert agrees(day, month)
    assert not agrees((date(2023, 1, 1), date(2024, 1, 1)), month)


@pytest.mark.skipif(not LOCOMO.is_file(), reason="LoCoMo data not present beside the checkout")
def test_accuracy_on_locomo_temporal_questions() -> None:
    report = run_timex(LOCOMO)
    assert report.items > 200
    assert report.accuracy >= 0.85, report.misses[:10]
