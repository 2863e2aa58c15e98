"""Temporal expressions: find them in text and resolve them against a reference time.

"I went to a support group yesterday", said on 8 May 2023, is about 7 May 2023; "last
summer", said in May 2023, is June to August 2022. Every expression resolves to an
interval ``[start, end)`` with a granularity, so recall can intersect it with a query's
time window ("what did Melanie do in July 2023?").

Rules, not a model: the common English forms of deictic ("yesterday", "last week", "two
months ago", "next Friday"), calendar ("in July", "on 5 May", "May 2023", "in 2022") and
seasonal expressions. Weeks run Monday to Sunday; seasons are meteorological (northern
hemisphere: winter is December to February). A bare weekday or month points back in time
unless the sentence speaks of the future ("will", "going to", "next", ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

__all__ = ["NUMBER_WORDS", "TimeSpan", "find_times", "parse_query_window"]

Granularity = Literal["day", "week", "weekend", "month", "season", "year", "decade", "fuzzy"]

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "a couple of": 2, "a couple": 2, "couple of": 2, "a few": 3, "few": 3, "several": 3,
}  # fmt: skip
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
]  # fmt: skip
_MONTH_ABBR = {m[:3]: i + 1 for i, m in enumerate(_MONTHS)} | {"sept": 9}
_SEASONS = {"winter": 12, "spring": 3, "summer": 6, "fall": 9, "autumn": 9}

# Quantities in words, as regular-expression alternatives in lower case (longest first).
NUMBER_WORDS = (
    r"a couple of|a couple|couple of|a few|few|several|an?"
    r"|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
)
_NUM = rf"(?:\d{{1,3}}|{NUMBER_WORDS})"
_UNIT = r"(?:day|weekend|week|month|year)s?"
_WD = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?"
# Abbreviated weekdays only after a determiner ("last Tues", "on Fri"): "sun" alone is a noun.
_WD_ABBR = r"(?:mon|tues?|wed|thurs?|thu|fri|sat|sun)\.?"
_WD_SHORT = {
    "mon": 0,
    "tue": 1,
    "tues": 1,
    "wed": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}
_MON = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
)
_DAYNUM = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]\d\d|20\d\d)"
_FUTURE = re.compile(
    r"\b(?:will|won't|'ll|going to|gonna|plan(?:ning)? to|planned|next|upcoming|soon|"
    r"can't wait|looking forward|tomorrow|hope to|want to|would like to)\b",
    re.IGNORECASE,
)

# One pattern; the named group that matched says which rule resolves it. Longer forms first.
_PATTERN = re.compile(
    "|".join(
        [
            rf"(?P<ago>\b{_NUM}\s+{_UNIT}\s+(?:ago|back|before|earlier)\b)",
            rf"(?P<later>\b(?:in|within)\s+{_NUM}\s+{_UNIT}(?:\s+time)?\b|\b{_NUM}\s+{_UNIT}\s+(?:from now|later)\b)",
            rf"(?P<since>\bfor\s+(?:about\s+|around\s+|almost\s+|over\s+)?{_NUM}\s+(?:month|year)s?(?:\s+now)?\b(?=.{{0,40}}\b(?:now|since|already)\b)|\b(?:had|been|known|doing|playing|together|married|working|living)\b[^.!?]{{0,40}}?\bfor\s+(?:about\s+|around\s+|almost\s+|over\s+)?{_NUM}\s+(?:month|year)s?\b)",
            r"(?P<dbefore>\bthe day before yesterday\b)",
            r"(?P<dafter>\bthe day after tomorrow\b)",
            r"(?P<yesterday>\byesterday\b|\blast night\b)",
            r"(?P<today>\btoday\b|\btonight\b|\bthis (?:morning|afternoon|evening)\b|\bearlier today\b)",
            r"(?P<tomorrow>\btomorrow\b)",
            rf"(?P<relwd>\b(?:last|this|next|past|coming)\s+(?:{_WD}|{_WD_ABBR})(?![a-z]))",
            r"(?P<relunit>\b(?:last|this|next|past|coming|previous|following)\s+(?:week(?:end)?|month|year)\b)",
            r"(?P<earlier>\bearlier this (?:week|month|year)\b|\blater this (?:week|month|year)\b)",
            r"(?P<relseason>\b(?:last|this|next|past|coming)\s+(?:winter|spring|summer|fall|autumn)\b)",
            r"(?P<thebefore>\bthe (?:day|week|weekend|month|year) (?:before|after)\b)",
            rf"(?P<dmy>\b{_DAYNUM}\s+(?:of\s+)?{_MON},?\s+{_YEAR}\b)",
            rf"(?P<mdy>\b{_MON}\s+{_DAYNUM},?\s+{_YEAR}\b)",
            rf"(?P<dm>\b{_DAYNUM}\s+(?:of\s+)?{_MON}\b)",
            r"(?P<nth>\bon the (?:[12]\d|3[01]|[1-9])(?:st|nd|rd|th)\b(?!\s+(?:floor|time|day|of)))",
            rf"(?P<md>\b{_MON}\s+{_DAYNUM}\b(?!\s*(?:hours|minutes|people|kids|times|years)))",
            rf"(?P<my>\b{_MON},?\s+(?:of\s+)?{_YEAR}\b)",
            rf"(?P<seasony>\b(?:winter|spring|summer|fall|autumn)\s+(?:of\s+)?{_YEAR}\b)",
            rf"(?P<inmonth>\b(?:in|since|during|until|by|last|this|next|early|late|mid)[\s-]+{_MON}(?![a-z])(?!,?\s+(?:of\s+)?{_YEAR}))",
            rf"(?P<onwd>\b(?:on|this|by|until|since)\s+(?:{_WD}|{_WD_ABBR})(?![a-z]))",
            rf"(?P<year>\b(?:in|since|during|from|of|back in|by)\s+{_YEAR}\b)",
            r"(?P<decade>\b(?:the\s+)?(?:19|20)?[0-9]0'?s\b)",
            r"(?P<fuzzy>\b(?:recently|lately|the other day|a while (?:ago|back)|not long ago)\b)",
        ]
    ),
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class TimeSpan:
    """A resolved time expression.

    Attributes:
        text: The expression as it appears.
        start: Inclusive start (UTC midnight of the first day).
        end: Exclusive end.
        granularity: How precise it is.
        begin: Character offset where the expression starts in the text.
    """

    text: str
    start: datetime
    end: datetime
    granularity: Granularity
    begin: int = 0
    relative_label: str | None = None

    def label(self) -> str:
        """A human date for the span: '7 May 2023', 'the week before 9 June 2023', 'July 2023'."""
        if self.relative_label:
            return self.relative_label
        s = self.start
        if self.granularity == "day":
            return f"{s.day} {s:%B %Y}"
        if self.granularity in ("week", "weekend"):
            return f"{self.granularity} of {s.day} {s:%B %Y}"
        if self.granularity == "month":
            return f"{s:%B %Y}"
        if self.granularity == "season":
            last = self.end - timedelta(days=1)
            return f"{s:%B %Y} to {last:%B %Y}"
        if self.granularity == "year":
            return str(s.year)
        if self.granularity == "decade":
            return f"the {s.year}s"
        last = self.end - timedelta(days=1)
        return f"between {s.day} {s:%B %Y} and {last.day} {last:%B %Y}"


def _dt(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _day(d: date) -> tuple[datetime, datetime]:
    return _dt(d), _dt(d + timedelta(days=1))


def _week(d: date) -> tuple[datetime, datetime]:
    monday = d - timedelta(days=d.weekday())
    return _dt(monday), _dt(monday + timedelta(days=7))


def _month(year: int, month: int) -> tuple[datetime, datetime]:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    return datetime(year, month, 1, tzinfo=UTC), datetime(nxt[0], nxt[1], 1, tzinfo=UTC)


def _season(year: int, first_month: int) -> tuple[datetime, datetime]:
    start, _ = _month(year, first_month)
    _, end = _month(year, first_month + 2)
    return start, end


def _number(text: str) -> int:
    text = text.lower().strip()
    return int(text) if text.isdigit() else _NUMBERS.get(text, 1)


def _month_number(text: str) -> int:
    key = text.lower().rstrip(".")
    return _MONTH_ABBR.get(key[:3] if key != "sept" else "sept", 0) or (
        _MONTHS.index(key) + 1 if key in _MONTHS else 0
    )


def _shift_months(d: date, months: int) -> tuple[int, int]:
    total = d.year * 12 + (d.month - 1) + months
    return total // 12, total % 12 + 1


def _unit_span(unit: str, anchor: date) -> tuple[datetime, datetime, Granularity]:
    if unit == "day":
        return (*_day(anchor), "day")
    if unit == "week":
        return (*_week(anchor), "week")
    if unit == "weekend":
        saturday = anchor + timedelta(days=(5 - anchor.weekday()) % 7)
        if anchor.weekday() == 6:
            saturday = anchor - timedelta(days=1)
        return _dt(saturday), _dt(saturday + timedelta(days=2)), "weekend"
    if unit == "month":
        return (*_month(anchor.year, anchor.month), "month")
    return (
        datetime(anchor.year, 1, 1, tzinfo=UTC),
        datetime(anchor.year + 1, 1, 1, tzinfo=UTC),
        "year",
    )


def _offset(ref: date, unit: str, n: int) -> date:
    if unit == "day":
        return ref + timedelta(days=n)
    if unit in ("week", "weekend"):
        return ref + timedelta(days=7 * n)
    if unit == "month":
        y, m = _shift_months(ref, n)
        return date(y, m, min(ref.day, 28))
    return date(ref.year + n, ref.month, min(ref.day, 28))


def _last_weekend(ref: date) -> tuple[datetime, datetime]:
    # The most recent Saturday-Sunday that ended before the reference day.
    days_since_sunday = (ref.weekday() + 1) % 7 or 7
    sunday = ref - timedelta(days=days_since_sunday)
    return _dt(sunday - timedelta(days=1)), _dt(sunday + timedelta(days=1))


def _weekday_before(ref: date, weekday: int) -> date:
    delta = (ref.weekday() - weekday) % 7 or 7
    return ref - timedelta(days=delta)


def _weekday_after(ref: date, weekday: int) -> date:
    delta = (weekday - ref.weekday()) % 7 or 7
    return ref + timedelta(days=delta)


def _human(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


Resolved = tuple[datetime, datetime, Granularity] | tuple[datetime, datetime, Granularity, str]


def _resolve(kind: str, text: str, ref: date, future: bool) -> Resolved | None:
    low = " ".join(text.lower().split())
    if kind in ("ago", "later"):
        m = re.search(rf"({_NUM})\s+({_UNIT})", low)
        if not m:
            return None
        n, unit = _number(m.group(1)), m.group(2).rstrip("s")
        sign = -1 if kind == "ago" else 1
        if m.group(1).strip() in (
            "a few",
            "few",
            "several",
            "a couple",
            "a couple of",
            "couple of",
        ):
            # Vague counts: the whole stretch they could mean.
            near = _offset(ref, unit, sign * 2)
            far = _offset(ref, unit, sign * (n + 2))
            lo, hi = (far, near) if sign < 0 else (near, far)
            return _dt(lo), _dt(hi + timedelta(days=1)), "fuzzy"
        if unit == "week":
            centre = ref + timedelta(days=7 * n * sign)
            what = f"{n} week{'s' if n > 1 else ''} {'before' if sign < 0 else 'after'}"
            return (
                _dt(centre - timedelta(days=3)),
                _dt(centre + timedelta(days=4)),
                "week",
                f"about {what} {_human(ref)}",
            )
        if unit == "weekend":
            start, end = _last_weekend(ref) if sign < 0 else _unit_span("weekend", ref)[:2]
            shift = timedelta(days=7 * (n - 1) * sign)
            return start + shift, end + shift, "weekend"
        return _unit_span(unit, _offset(ref, unit, sign * n))
    if kind == "since":
        m = re.search(
            rf"for\s+(?:about\s+|around\s+|almost\s+|over\s+)?({_NUM})\s+(month|year)s?", low
        )
        if not m:
            return None
        n, unit = _number(m.group(1)), m.group(2)
        start, end, gran = _unit_span(unit, _offset(ref, unit, -n))
        what = f"{n} {unit}{'s' if n > 1 else ''}"
        return (
            start,
            end,
            gran,
            f"{start.year if unit == 'year' else f'{start:%B %Y}'} (began about {what} before {_human(ref)})",
        )
    if kind == "nth":
        n = int(re.search(r"\d+", low).group(0))  # type: ignore[union-attr]
        y, mo = ref.year, ref.month
        if (n > ref.day and not future) or (future and n < ref.day):
            y, mo = _shift_months(ref, -1 if not future else 1)
        try:
            d = date(y, mo, n)
        except ValueError:
            return None
        return (*_day(d), "day")
    if kind == "dbefore":
        return (*_day(ref - timedelta(days=2)), "day")
    if kind == "dafter":
        return (*_day(ref + timedelta(days=2)), "day")
    if kind == "yesterday":
        return (*_day(ref - timedelta(days=1)), "day")
    if kind == "today":
        return (*_day(ref), "day")
    if kind == "tomorrow":
        return (*_day(ref + timedelta(days=1)), "day")
    if kind in ("relwd", "onwd"):
        word, wd_text = low.split()[0], low.split()[-1].rstrip(".")
        wd = (
            _WEEKDAYS.index(wd_text.rstrip("s"))
            if wd_text.rstrip("s") in _WEEKDAYS
            else _WD_SHORT[wd_text]
        )
        if word in ("last", "past"):
            d = _weekday_before(ref, wd)
        elif word in ("next", "coming"):
            d = _weekday_after(ref, wd)
        elif word == "this":
            d = ref - timedelta(days=ref.weekday()) + timedelta(days=wd)
        else:  # "on Friday", "by Friday", "since Friday"
            d = _weekday_after(ref, wd) if future or word == "by" else _weekday_before(ref, wd)
            if not future and wd == ref.weekday():
                d = ref
        return (*_day(d), "day")
    if kind == "relunit":
        word, unit = low.split()
        if unit == "weekend":
            if word in ("last", "past", "previous"):
                start, end = _last_weekend(ref)
            else:
                start, end, _ = _unit_span("weekend", ref)
                if word in ("next", "following") and ref.weekday() < 5:
                    start, end = start + timedelta(days=7), end + timedelta(days=7)
            if word in ("last", "past", "previous"):
                return start, end, "weekend", f"the weekend before {_human(ref)}"
            return start, end, "weekend"
        if unit == "week" and word in ("last", "past", "previous"):
            return (
                _dt(ref - timedelta(days=7)), _dt(ref), "week", f"the week before {_human(ref)}",
            )  # fmt: skip
        if unit == "week" and word in ("next", "coming", "following"):
            return (
                _dt(ref + timedelta(days=1)), _dt(ref + timedelta(days=8)), "week",
                f"the week after {_human(ref)}",
            )  # fmt: skip
        step = {
            "last": -1,
            "past": -1,
            "previous": -1,
            "this": 0,
            "next": 1,
            "coming": 1,
            "following": 1,
        }[word]
        return _unit_span(unit, _offset(ref, unit, step))
    if kind == "earlier":
        unit = low.split()[-1]
        start, end, gran = _unit_span(unit, ref)
        if low.startswith("earlier"):
            return start, _dt(ref + timedelta(days=1)), gran
        return _dt(ref), end, gran
    if kind == "relseason":
        word, season = low.split()
        first = _SEASONS[season]
        now_dt = _dt(ref)
        seasons = [_season(y, first) for y in range(ref.year - 2, ref.year + 2)]
        if word in ("last", "past"):
            start, end = max(s for s in seasons if s[1] <= now_dt)
        elif word in ("next", "coming"):
            start, end = min(s for s in seasons if s[0] > now_dt)
        else:  # "this summer": the one that falls in the current year (winter: this one)
            year = ref.year - 1 if first == 12 and ref.month <= 2 else ref.year
            start, end = _season(year, first)
        return start, end, "season"
    if kind == "thebefore":
        unit = low.split()[1]
        before = low.endswith("before")
        if unit in ("week", "weekend"):
            return _resolve("relunit", f"{'last' if before else 'next'} {unit}", ref, future)
        return _unit_span(unit, _offset(ref, unit, -1 if before else 1))
    if kind in ("dmy", "mdy", "dm", "md"):
        nums = re.findall(r"\d+", low)
        mon_word = re.search(_MON, low)
        if mon_word is None:
            return None
        month = _month_number(mon_word.group(0))
        day_n = int(nums[0]) if kind in ("dmy", "dm", "md") or len(nums) > 1 else 0
        if kind == "mdy":
            day_n = int(nums[0])
        year = int(nums[-1]) if kind in ("dmy", "mdy") else ref.year
        if kind in ("dm", "md"):
            candidate = date(year, month, 1)
            if future and (month, day_n) < (ref.month, ref.day):
                year += 1
            elif not future and (candidate.month, day_n) > (ref.month, ref.day):
                year -= 1
        try:
            d = date(year, month, day_n)
        except ValueError:
            return None
        return (*_day(d), "day")
    if kind == "my":
        mon_word = re.search(_MON, low)
        year_m = re.search(_YEAR, low)
        if mon_word is None or year_m is None:
            return None
        return (*_month(int(year_m.group(0)), _month_number(mon_word.group(0))), "month")
    if kind == "seasony":
        season, year_text = low.replace(" of ", " ").split()[:2]
        return (*_season(int(year_text), _SEASONS[season]), "season")
    if kind == "inmonth":
        word = re.split(r"[\s-]+", low)[0]
        mon_word = re.search(_MON, low.split(maxsplit=1)[-1])
        if mon_word is None:
            return None
        month = _month_number(mon_word.group(0))
        year = ref.year
        if word == "last" or (word not in ("next", "this") and not future):
            if month > ref.month or (word == "last" and month == ref.month):
                year -= 1
        elif (word == "next" or future) and (
            month < ref.month or (word == "next" and month == ref.month)
        ):
            year += 1
        return (*_month(year, month), "month")
    if kind == "year":
        year = int(re.search(_YEAR, low).group(0))  # type: ignore[union-attr]
        return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC), "year"
    if kind == "decade":
        digits = re.search(r"(\d+)0'?s", low)
        if digits is None:
            return None
        prefix = digits.group(1)
        decade = int(prefix) * 10 if len(prefix) == 3 else 1900 + int(prefix) * 10
        if len(prefix) == 1 and decade + 100 <= ref.year - 20:
            decade += 100
        return datetime(decade, 1, 1, tzinfo=UTC), datetime(decade + 10, 1, 1, tzinfo=UTC), "decade"
    if kind == "fuzzy":
        if "other day" in low:
            return _dt(ref - timedelta(days=7)), _dt(ref), "fuzzy"
        return _dt(ref - timedelta(days=45)), _dt(ref + timedelta(days=1)), "fuzzy"
    return None


_WORD_START = re.compile(r"\b\w")


def _matches(text: str) -> list[re.Match[str]]:
    """What ``_PATTERN.finditer`` finds, tried only where a word starts: every rule opens
    on a word boundary before a word character, and trying the whole alternation at each
    word start rather than at every character is about twice as fast."""
    out: list[re.Match[str]] = []
    pos = 0
    for start in _WORD_START.finditer(text):
        at = start.start()
        if at < pos:
            continue
        m = _PATTERN.match(text, at)
        if m is not None:
            out.append(m)
            pos = m.end()
    return out


def find_times(text: str, ref: datetime) -> list[TimeSpan]:
    """Every time expression in ``text``, resolved against ``ref`` (when it was said).

    Args:
        text: One sentence or message.
        ref: When the text was written or said.

    Returns:
        The resolved spans, in order of appearance.
    """
    found = _matches(text) if text else []
    if not found:
        return []
    ref_day = ref.astimezone(UTC).date() if ref.tzinfo else ref.date()
    future = bool(_FUTURE.search(text))
    out: list[TimeSpan] = []
    for m in found:
        kind = m.lastgroup
        if kind is None:
            continue
        expr = m.group(0)
        if (
            kind == "inmonth"
            and expr.lower().split()[-1].rstrip(".") == "may"
            and not re.match(
                r"(?i)(in|since|during|until|by|early|late|mid|last|this|next)[\s-]+may\b(?!\s+(?:be|have|not|i|we|you|he|she|they|it))",
                expr + text[m.end() : m.end() + 12],
            )
        ):
            continue  # "may" the modal verb
        if (
            kind in ("md", "dm")
            and re.fullmatch(r"(?i)may\s+\d.*", expr) is None
            and expr.lower().startswith("may")
        ):
            continue
        try:
            resolved = _resolve(kind, expr, ref_day, future)
        except (ValueError, OverflowError):
            resolved = None
        if resolved is None:
            continue
        label = resolved[3] if len(resolved) == 4 else None
        out.append(TimeSpan(expr.strip(), resolved[0], resolved[1], resolved[2], m.start(), label))
    return out


def parse_query_window(text: str, ref: datetime) -> tuple[datetime, datetime] | None:
    """The time window a query asks about ("in July 2023", "last week"), if any.

    When a query names several, the window spans them all.
    """
    spans = [s for s in find_times(text, ref) if s.granularity != "fuzzy"]
    if not spans:
        return None
    return min(s.start for s in spans), max(s.end for s in spans)
