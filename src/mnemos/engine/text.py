"""Text analysis for the lexical channel and token counting for prompt budgets.

The analyser is deterministic and language-light: Unicode word tokens, case folding,
accent folding, an English stop-word list and Snowball (Porter 2) stemming. Every backend
indexes and queries the analysed terms, so lexical recall is the same on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

import Stemmer

__all__ = [
    "LIGHT_VERBS",
    "QUESTION_WORDS",
    "STOP_WORDS",
    "analyze",
    "content_hash",
    "count_tokens",
    "normalize",
    "tokenize",
]

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*", re.UNICODE)
# What count_tokens counts: runs of letters/digits (long ones in 6-character pieces, as BPE
# tokenisers split long words) and each punctuation mark.
_TOKEN = re.compile(r"[^\W_]{1,6}|[^\w\s]", re.UNICODE)

_STOP_WORDS_TEXT = """
a about above after again against all am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do
does doesn't doing don't down during each few for from further had hadn't has hasn't
have haven't having he he'd he'll he's her here here's hers herself him himself his how
how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most
mustn't my myself no nor not of off on once only or other ought our ours ourselves out
over own same shan't she she'd she'll she's should shouldn't so some such than that
that's the their theirs them themselves then there there's these they they'd they'll
they're they've this those through to too under until up very was wasn't we we'd we'll
we're we've were weren't what what's when when's where where's which while who who's
whom why why's with won't would wouldn't you you'd you'll you're you've your yours
yourself yourselves also just really yeah yes oh ok okay hey hi hello well s t d ll m re
ve
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split())

_stemmer = Stemmer.Stemmer("english")


def normalize(text: str) -> str:
    """Case-fold, fold accents and unify apostrophes, keeping the words in place."""
    if text.isascii():
        return text.lower()  # what the general path gives for ASCII, without the work
    # Decompose first: compatibility forms (fraktur letters, ligatures) fold to plain ones,
    # which only then case-fold.
    folded = unicodedata.normalize("NFKD", text).casefold()
    stripped = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return stripped.replace("\u2019", "'")


def tokenize(text: str) -> list[str]:
    """Split normalised text into word tokens (contractions kept whole)."""
    return _WORD.findall(normalize(text))


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


def analyze(text: str) -> list[str]:
    """The lexical terms of a text: tokens minus stop words, stemmed, in order.

    Possessives are reduced first ("Caroline's" -> "caroline"), so a name matches in every
    grammatical position.
    """
    if len(text) <= _REMEMBERED_CHARS:
        return list(_remembered(text))
    return list(_analyze(text))


# Chat-sized texts are remembered: a turn is analysed as its note's body, then as the
# context of the note after it. Documents are not, so the cache stays a few megabytes.
_REMEMBERED_CHARS = 2000


@lru_cache(maxsize=8192)
def _remembered(text: str) -> tuple[str, ...]:
    return _analyze(text)


def _analyze(text: str) -> tuple[str, ...]:
    terms: list[str] = []
    for token in tokenize(text):
        if token.endswith("'s"):
            token = token[:-2]
        if token in STOP_WORDS or not token:
            continue
        terms.append(_stem(token.replace("'", "")))
    return tuple(terms)


# Verbs that say little of what a sentence is about ("get", "go", "make", "give up"), as
# analysed terms. Not stop words: a claim's value may be nothing else ("I want to go").
LIGHT_VERBS: frozenset[str] = frozenset(
    analyze("be do go get give have make take try start keep put come see let want need")
)

# Words that phrase a question rather than say what it is about ("What is the name of ...",
# "What did he say about ...", "What kind of ..."), as analysed terms. Left out of a query's
# lexical terms only: a memory is about what they ask after. "now" and "currently" are not
# among them: "I live in Porto now" is how a change is often told.
QUESTION_WORDS: frozenset[str] = frozenset(
    analyze("name kind type sort tell say mention think describe happen")
)


def count_tokens(text: str) -> int:
    """Approximate LLM tokens in a text, deterministically and without a vocabulary.

    Counts each punctuation mark and each run of up to six letters or digits, which tracks
    BPE tokenisers on English chat (1.2 to 1.4 tokens a word) closely enough for budgets.
    """
    if len(text) <= _REMEMBERED_CHARS:
        return _counted(text)
    return len(_TOKEN.findall(text))


# A recalled turn is costed again on every search that returns it.
@lru_cache(maxsize=8192)
def _counted(text: str) -> int:
    return len(_TOKEN.findall(text))


def content_hash(text: str) -> str:
    """A stable hex digest of a text, used to key embeddings and find exact duplicates."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
