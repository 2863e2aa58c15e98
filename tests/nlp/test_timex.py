"""Time expressions resolved against when they were said."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnemos.nlp import timex
from mnemos.nlp.timex import find_times, parse_query_window

REF = datetime(2023, 5, 25, 13, 0, tzinfo=UTC)  # a Thursday


def one(text: str, ref: datetime = REF) -> tuple[date, date, str, str]:
    [span] = find_times(text, ref)
    return span.start.date(), span.end.date(), span.granularity, span.label()


@pytest.mark.parametrize(
    ("text", "start", "end", "granularity", "label"),
    [
        (
            "I went to a support group yesterday",
            date(2023, 5, 24),
            date(2023, 5, 25),
            "day",
            "24 May 2023",
        ),
        ("last night was fun", date(2023, 5, 24), date(2023, 5, 25), "day", "24 May 2023"),
        ("the day before yesterday", date(2023, 5, 23), date(2023, 5, 24), "day", "23 May 2023"),
        ("I ran a race last Saturday", date(2023, 5, 20), date(2023, 5, 21), "day", "20 May 2023"),
        ("I joined a group last Tues.", date(2023, 5, 23), date(2023, 5, 24), "day", "23 May 2023"),
        ("I saw him on Monday", date(2023, 5, 22), date(2023, 5, 23), "day", "22 May 2023"),
        ("I'll see you on Friday", date(2023, 5, 26), date(2023, 5, 27), "day", "26 May 2023"),
        (
            "my school event last week",
            date(2023, 5, 18),
            date(2023, 5, 25),
            "week",
            "the week before 25 May 2023",
        ),
        (
            "Last weekend I hiked",
            date(2023, 5, 20),
            date(2023, 5, 22),
            "weekend",
            "the weekend before 25 May 2023",
        ),
        (
            "we camped two weekends ago",
            date(2023, 5, 13),
            date(2023, 5, 15),
            "weekend",
            "weekend of 13 May 2023",
        ),
        (
            "I made pots 2 weeks ago",
            date(2023, 5, 8),
            date(2023, 5, 15),
            "week",
            "about 2 weeks before 25 May 2023",
        ),
        ("I started 3 months ago", date(2023, 2, 1), date(2023, 3, 1), "month", "February 2023"),
        ("I painted it last year", date(2022, 1, 1), date(2023, 1, 1), "year", "2022"),
        (
            "we're going camping next month",
            date(2023, 6, 1),
            date(2023, 7, 1),
            "month",
            "June 2023",
        ),
        (
            "last summer we went to Spain",
            date(2022, 6, 1),
            date(2022, 9, 1),
            "season",
            "June 2022 to August 2022",
        ),
        ("In March we moved", date(2023, 3, 1), date(2023, 4, 1), "month", "March 2023"),
        ("In July I will travel", date(2023, 7, 1), date(2023, 8, 1), "month", "July 2023"),
        ("We met in may of 2022", date(2022, 5, 1), date(2022, 6, 1), "month", "May 2022"),
        ("On 5 May 2023 I quit", date(2023, 5, 5), date(2023, 5, 6), "day", "5 May 2023"),
        ("May 8th, 2023 was great", date(2023, 5, 8), date(2023, 5, 9), "day", "8 May 2023"),
        ("Back in 2019 I lived in Lisbon", date(2019, 1, 1), date(2020, 1, 1), "year", "2019"),
        ("since the 90s", date(1990, 1, 1), date(2000, 1, 1), "decade", "the 1990s"),
        (
            "I met my teammates on the 15th",
            date(2023, 5, 15),
            date(2023, 5, 16),
            "day",
            "15 May 2023",
        ),
    ],
)
def test_expressions_resolve(
    text: str, start: date, end: date, granularity: str, label: str
) -> None:
    assert one(text) == (start, end, granularity, label)


def test_durations_point_to_when_something_began() -> None:
    start, _end, gran, label = one("I've had them for 3 years now and they bring me joy")
    assert (start, gran) == (date(2020, 1, 1), "year")
    assert label == "2020 (began about 3 years before 25 May 2023)"


@pytest.mark.parametrize(
    "text",
    [
        "I may go to the park",
        "I live on the 3rd floor",
        "I ran 5 km",
        "She will go for 2 years",
        "the sun was out",
    ],
)
def test_non_times_are_not_read_as_times(text: str) -> None:
    assert find_times(text, REF) == []


def test_query_windows() -> None:
    window = parse_query_window("What did Melanie do in July 2023?", REF)
    assert window == (datetime(2023, 7, 1, tzinfo=UTC), datetime(2023, 8, 1, tzinfo=UTC))
    assert parse_query_window("What does Melanie like?", REF) is None


def test_vague_expressions_are_fuzzy_ranges() -> None:
    [span] = find_times("a few days ago I read a book", REF)
    assert span.granularity == "fuzzy"
    assert span.start.date() < date(2023, 5, 23) < span.end.date() <= date(2023, 5, 25)


_WORDS = [
    "I", "went", "the", "day", "before", "yesterday", "last", "next", "this", "week",
    "weekend", "month", "year", "ago", "in", "2022", "May", "may", "be", "on", "the 3rd",
    "Sat", "sun", "two", "a", "few", "days", "for", "years", "now", "since", "been",
    "early", "June", "12", "1990s", "tomorrow", "tonight", "recently", "spring", "of",
    "later", "from", "back", "couple", ",", ".", "-", "'", "3",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=14), st.sampled_from([" ", "", "  "]))
def test_scanning_from_word_starts_finds_what_a_full_scan_finds(words, sep) -> None:
    """Time expressions are only tried where a word starts; that must find exactly the
    matches (spans and rules) a scan from every character finds."""
    text = sep.join(words)
    full = [(m.span(), m.lastgroup) for m in timex._PATTERN.finditer(text)]
    assert [(m.span(), m.lastgroup) for m in timex._matches(text)] == full
