"""``mnemos bench timex``: how often relative dates resolve to the right day, on real data.

The labelled set is LoCoMo's temporal questions (category 2) with a single evidence turn:
the turn is a real sentence, its session date is when it was said, and the annotators'
answer ("7 May 2023", "The week before 9 June 2023", "2022") is the gold date. The
answer is parsed into a span independently of mnemos's resolver; a question counts as
resolved when a time mnemos finds in the turn agrees with it (the same day for a day,
inside the month or year for those, mostly overlapping for a week or weekend). When the
turn has no time expression, the message's own date is the prediction. Answers that name
no date ("4 years", "her mother") are left out and counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from mnemos.io.locomo import load_locomo
from mnemos.nlp.timex import find_times

__all__ = ["TimexReport", "gold_span", "run_timex"]

_MONTHS = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
]  # fmt: skip
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_SEASONS = {"winter": 12, "spring": 3, "summer": 6, "fall": 9, "autumn": 9}
Span = tuple[date, date]


def _date(text: str) -> date | None:
    text = text.strip().strip(".").replace(",", " ")
    text = " ".join(text.split())
    m = re.fullmatch(r"(\d{1,2}) ([a-z]+) (\d{4})", text)
    if m and m.group(2) in _MONTHS:
        return date(int(m.group(3)), _MONTHS.index(m.group(2)) + 1, int(m.group(1)))
    m = re.fullmatch(r"([a-z]+) (\d{1,2}) (\d{4})", text)
    if m and m.group(1) in _MONTHS:
        return date(int(m.group(3)), _MONTHS.index(m.group(1)) + 1, int(m.group(2)))
    return None


def _month(year: int, month: int) -> Span:
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date(year, month, 1), end


def _normalise(answer: str) -> str:
    a = str(answer).lower().replace(",", " ").replace("`", "")
    a = a.replace("januarty", "january").replace("janury", "january")
    a = re.sub(r"(\d)([a-z])", r"\1 \2", a)
    a = re.sub(r"\b(\d{1,2}) ?(st|nd|rd|th)\b", r"\1", a)
    a = " ".join(a.split()).strip(".").strip()
    a = re.sub(r"^(on|in|during|around|about|approximately) ", "", a)
    return re.sub(r"^(the )?(a|last) week before ", "the week before ", a)


def gold_span(answer: str, said: date) -> Span | None:
    """The days an annotator's answer names, or None if it names no date."""
    a = _normalise(answer)
    m = re.fullmatch(r"(?:the )?(summer|winter|spring|fall|autumn) (?:of )?(\d{4})", a)
    if m:
        year, first = int(m.group(2)), _SEASONS[m.group(1)]
        last_month = first + 2
        end = _month(year + (last_month - 1) // 12, (last_month - 1) % 12 + 1)[1]
        return date(year, first, 1), end
    m = re.fullmatch(r"(first|last) week of ([a-z]+) (\d{4})", a)
    if m and m.group(2) in _MONTHS:
        start, end = _month(int(m.group(3)), _MONTHS.index(m.group(2)) + 1)
        return (start, start + timedelta(7)) if m.group(1) == "first" else (end - timedelta(7), end)
    m = re.fullmatch(r"(?:a )?few days before (.+)", a)
    if m and (d := _date(m.group(1))):
        return d - timedelta(6), d
    if d := _date(a):
        return d, d + timedelta(1)
    m = re.fullmatch(r"(\d{1,2}) ([a-z]+)", a)
    if m and m.group(2) in _MONTHS:
        d = date(said.year, _MONTHS.index(m.group(2)) + 1, int(m.group(1)))
        return d, d + timedelta(1)
    m = re.fullmatch(r"([a-z]+) (\d{4})", a)
    if m and m.group(1) in _MONTHS:
        return _month(int(m.group(2)), _MONTHS.index(m.group(1)) + 1)
    if re.fullmatch(r"\d{4}", a):
        return date(int(a), 1, 1), date(int(a) + 1, 1, 1)
    units = "|".join(["week", "weekend", "day", "month", "year", *_WEEKDAYS])
    m = re.fullmatch(rf"(?:the )?({units}) (before|after|of) (.+)", a)
    if m:
        unit, relation, rest = m.groups()
        d = _date(rest)
        if d is None:
            return None
        if relation == "of":
            monday = d - timedelta(d.weekday())
            return (monday, monday + timedelta(7)) if unit == "week" else None
        before = relation == "before"
        if unit == "week":
            return (d - timedelta(7), d) if before else (d + timedelta(1), d + timedelta(8))
        if unit == "day":
            return (d - timedelta(1), d) if before else (d + timedelta(1), d + timedelta(2))
        if unit == "weekend" and before:
            sunday = d - timedelta((d.weekday() + 1) % 7 or 7)
            return sunday - timedelta(1), sunday + timedelta(1)
        if unit in _WEEKDAYS:
            wd = _WEEKDAYS.index(unit)
            x = (
                d - timedelta((d.weekday() - wd) % 7 or 7)
                if before
                else d + timedelta((wd - d.weekday()) % 7 or 7)
            )
            return x, x + timedelta(1)
        if unit == "month" and before:
            y, mo = (d.year, d.month - 1) if d.month > 1 else (d.year - 1, 12)
            return date(y, mo, 1), date(d.year, d.month, 1)
        if unit == "year" and before:
            return date(d.year - 1, 1, 1), date(d.year, 1, 1)
        return None
    m = re.fullmatch(r"(two|three|2|3) (weeks|weekends) before (.+)", a)
    if m and (d := _date(m.group(3))):
        n = {"two": 2, "three": 3}.get(m.group(1)) or int(m.group(1))
        if m.group(2) == "weeks":
            c = d - timedelta(7 * n)
            return c - timedelta(3), c + timedelta(4)
        sunday = d - timedelta((d.weekday() + 1) % 7 or 7) - timedelta(7 * (n - 1))
        return sunday - timedelta(1), sunday + timedelta(1)
    return None


def agrees(predicted: Span, gold: Span) -> bool:
    """A prediction agrees with the gold span: the same day for a one-day answer; else it
    overlaps at least half of the smaller span and is at most twice as long as the gold."""
    (a0, a1), (g0, g1) = predicted, gold
    if (g1 - g0).days <= 1:
        return (a1 - a0).days == 1 and a0 == g0
    overlap = (min(a1, g1) - max(a0, g0)).days
    return (
        overlap >= 0.5 * min((a1 - a0).days, (g1 - g0).days)
        and (a1 - a0).days <= 2 * (g1 - g0).days
    )


@dataclass
class TimexReport:
    """Date-resolution accuracy on LoCoMo's temporal questions."""

    items: int = 0
    resolved: int = 0
    no_gold_date: int = 0
    with_expression: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Share of items whose date mnemos resolves in agreement with the gold answer."""
        return self.resolved / self.items if self.items else 0.0


def run_timex(data: str | Path) -> TimexReport:
    """Score date resolution on the single-evidence temporal questions of a LoCoMo file."""
    report = TimexReport()
    for conv in load_locomo(data):
        turns = {t.dia_id: (t, s) for s in conv.sessions for t in s.turns}
        for qa in conv.qa:
            if qa.category != 2 or len(qa.evidence) != 1 or qa.evidence[0] not in turns:
                continue
            turn, session = turns[qa.evidence[0]]
            gold = gold_span(qa.answer, session.at.date())
            if gold is None:
                report.no_gold_date += 1
                continue
            report.items += 1
            spans = find_times(turn.text, session.at)
            report.with_expression += bool(spans)
            said = session.at.date()
            predictions = [(s.start.date(), s.end.date()) for s in spans] or [
                (said, said + timedelta(1))
            ]
            if any(agrees(p, gold) for p in predictions):
                report.resolved += 1
            else:
                report.misses.append(
                    f"{conv.sample_id} {turn.dia_id} ({said}): "
                    f"gold {qa.answer!r}, got {predictions}"
                )
    return report
