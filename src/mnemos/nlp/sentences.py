"""Sentence splitting: rules, fast, with character offsets.

Splits after ``.``, ``!``, ``?`` (and closing quotes or brackets) when whitespace and an
upper-case letter, digit or quote follow, and at line breaks; never after common
abbreviations ("Dr.", "e.g.", "a.m."), initials ("J. R. R.") or inside decimals. A
bracketed aside such as ``[shares a photo: ...]`` is its own sentence.
"""

from __future__ import annotations

import re

__all__ = ["split_sentences"]

_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt vs etc e.g i.e a.m p.m u.s u.k no approx dept est fig
    inc ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu
    thur thurs fri sat sun
    """.split()
)
_BOUNDARY = re.compile(r"""([.!?…]+["')\]]*)(\s+)(?=["'(\[]?[A-Z0-9])|\n\s*\n?|(?=\[)(?<=\S\s)""")
_BRACKET = re.compile(r"\[[^\[\]]{1,500}\]")


def _is_abbreviation(text: str, end: int) -> bool:
    start = end
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:end].rstrip(".").lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def split_sentences(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` offsets of each sentence in ``text`` (whitespace trimmed)."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    pieces: list[tuple[int, int]] = []
    for m in _BRACKET.finditer(text):
        pieces.append((cursor, m.start()))
        pieces.append((m.start(), m.end()))
        cursor = m.end()
    pieces.append((cursor, len(text)))
    for lo, hi in pieces:
        if text[lo:hi].startswith("["):
            spans.append((lo, hi))
            continue
        start = lo
        for m in _BOUNDARY.finditer(text, lo, hi):
            punct = m.group(1)
            if punct and punct.startswith(".") and _is_abbreviation(text, m.start(1)):
                continue
            end = m.end(1) if punct else m.start()
            spans.append((start, end))
            start = m.end()
        spans.append((start, hi))
    out = []
    for lo, hi in spans:
        while lo < hi and text[lo].isspace():
            lo += 1
        while hi > lo and text[hi - 1].isspace():
            hi -= 1
        if hi > lo and any(ch.isalnum() for ch in text[lo:hi]):
            out.append((lo, hi))
    return out
