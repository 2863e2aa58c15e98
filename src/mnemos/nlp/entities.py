"""Entities and keyphrases, by rules and a lexicon (no model to download).

- Proper names: runs of capitalised words ("Tidewater Analytics", "Lord of the Rings") and
  acronyms ("LGBTQ"), typed as person, place, organisation or thing from the people already
  known in the conversation, cue words ("my sister Clara", "moved to Lisbon", "Quinta
  Labs") and a small gazetteer. A capitalised word that opens a sentence counts only when
  the lexicon does not know it as an ordinary word.
- Concepts: noun phrases made of words the lexicon knows as nouns or adjectives ("pottery
  class", "adoption agencies" -> "adoption agency"), the things people do and own, which
  link memories that share no name.

Keys are normalised (case-folded, possessive dropped, head noun singular) so aliases meet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from lemminflect import getAllLemmas

__all__ = ["Mention", "entity_key", "extract_mentions"]

EntityKind = Literal["person", "place", "organization", "thing", "concept"]

_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*[A-Za-z]|[A-Za-z]|\d+")
_CONNECTORS = frozenset(
    {"of", "the", "de", "da", "do", "von", "van", "del", "la", "le", "and", "&"}
)
_NOT_NAMES = frozenset(
    """
    i hey hi hello wow oh ok okay yeah yes no thanks thank congrats congratulations omg lol
    haha aw aww awesome great sure well so but and or if when what where who why how which
    the a an this that these those my your his her our their its it he she we they you me us
    them mr mrs ms dr monday tuesday wednesday thursday friday saturday sunday january
    february march april may june july august september october november december today
    tomorrow yesterday god gosh dear
    """.split()
)
# "I'm", "Don't", "We're": a word that ends as a contraction is not a name; nor is a word
# that "'s" shortens ("Let's", "There's", "It's"), when the word itself is no name.
_CONTRACTED = re.compile(r"(?:'m|'ve|'ll|'d|'re|n't)$", re.IGNORECASE)
_SHORTENED = frozenset("let there here it that what who where how everyone everything".split())


def _not_a_name(word: str) -> bool:
    """Whether a capitalised word cannot begin or continue a name."""
    low = word.lower()
    if _CONTRACTED.search(low):
        return True
    base = low[:-2] if low.endswith("'s") else low
    return base in _NOT_NAMES or (base != low and base in _SHORTENED)


_ORG_WORDS = frozenset(
    """
    inc ltd llc corp company co labs lab analytics university college school academy
    institute foundation group club bank hospital museum studio studios agency association
    society team church center centre council committee department ministry press records
    games cafe restaurant bakery shop store market
    """.split()
)
_PLACE_CUES = frozenset(
    "in at to from near visited visit visiting moved move moving around across".split()
)
_PERSON_CUES = frozenset(
    """
    sister brother mom mum mother dad father son daughter wife husband partner boyfriend
    girlfriend friend friends cousin aunt uncle grandma grandpa grandmother grandfather niece
    nephew boss manager colleague coworker mentor teacher coach neighbor neighbour fiance
    fiancee named called
    """.split()
)
_PLACES = frozenset(
    """
    africa america asia europe australia antarctica canada mexico brazil argentina chile peru
    colombia england scotland wales ireland britain uk usa us france germany spain portugal
    italy greece netherlands belgium sweden norway denmark finland iceland poland austria
    switzerland russia ukraine turkey egypt morocco kenya nigeria india china japan korea
    thailand vietnam indonesia philippines singapore malaysia israel iran iraq pakistan
    london paris berlin madrid lisbon porto rome milan barcelona amsterdam dublin vienna
    prague tokyo kyoto beijing shanghai seoul bangkok sydney melbourne toronto vancouver
    montreal boston chicago seattle austin denver miami atlanta dallas houston phoenix nyc la
    sf hawaii alaska california texas florida york sintra aveiro stamford phuket bali
    """.split()
)
_COMMON_NOUNS = frozenset(
    """
    time times thing things way ways lot lots day days people person stuff kind bit week
    weeks month months year years today moment moments part something anything everything
    nothing someone anyone everyone one ones fun place idea ideas point life world sense
    others other make help love need needs look feel feeling feelings hope try care thanks
    thank chance deal start end photo photos picture pictures pic pics image images shot
    snap glad sure reason course matter question answer word words side number couple lots
    back front top bottom while bunch piece pieces sort
    """.split()
)


@dataclass(frozen=True, slots=True)
class Mention:
    """An entity mentioned in a sentence.

    Attributes:
        text: As written (possessive dropped).
        key: The normalised key entities are merged on.
        kind: person, place, organization, thing, or concept (a common-noun phrase).
    """

    text: str
    key: str
    kind: EntityKind


@lru_cache(maxsize=100_000)
def _lemmas(word: str) -> dict[str, tuple[str, ...]]:
    return dict(getAllLemmas(word))


def _is_ordinary_word(word: str) -> bool:
    return bool(_lemmas(word.lower()))


def entity_key(text: str, *, singular: bool = True) -> str:
    """The key a name or phrase merges on: case-folded, no possessive, singular head
    (names keep their number: "Lord of the Rings")."""
    words = text.replace("\u2019", "'").lower().split()
    if not words:
        return ""
    words[-1] = re.sub(r"'s?$", "", words[-1])
    head = words[-1]
    nouns = _lemmas(head).get("NOUN") if singular else None
    if nouns and head.endswith("s") and not head.endswith("ss"):
        words[-1] = nouns[0]
    return " ".join(words)


def _kind(words: list[str], before: str, people: set[str]) -> EntityKind:
    low = [w.lower() for w in words]
    joined = " ".join(low)
    if joined in people or low[0] in people:
        return "person"
    if len(low) > 1 and any(w in _ORG_WORDS for w in low):
        return "organization"
    if joined in _PLACES or low[-1] in _PLACES:
        return "place"
    if before in _PERSON_CUES:
        return "person"
    if before in _PLACE_CUES and len(words) <= 3:
        return "place"
    return "thing"


def _adjacent(sentence: str, left: tuple[str, int], right: tuple[str, int]) -> bool:
    """Whether only spaces separate two tokens (punctuation ends a name)."""
    return not sentence[left[1] + len(left[0]) : right[1]].strip()


def _alias_of(word: str, people: set[str]) -> str | None:
    """The known person a short name stands for ("Mel" -> "melanie"), if exactly one."""
    low = word.lower()
    if len(low) < 3:
        return None
    # A one-word prefix of a name is a prefix of its first word.
    matches = {p for p in people if p != low and p.startswith(low) and not p[:1].isspace()}
    return matches.pop() if len(matches) == 1 else None


def _proper_names(sentence: str, people: set[str]) -> list[Mention]:
    tokens = [(m.group(0), m.start()) for m in _WORD.finditer(sentence)]
    out: list[Mention] = []
    i = 0
    while i < len(tokens):
        word, start = tokens[i]
        is_acronym = word.isupper() and 2 <= len(word) <= 6 and word.isalpha()
        capital = word[:1].isupper() and not word.isdigit()
        if not capital or _not_a_name(word):
            i += 1
            continue
        first_in_sentence = (
            not sentence[:start].strip() or sentence[:start].rstrip()[-1:] in ".!?\"'(["
        )
        if (
            first_in_sentence
            and not is_acronym
            and word.lower() not in people
            and _is_ordinary_word(word)
        ):
            i += 1
            continue
        j = i + 1
        words = [word]
        while j < len(tokens) and _adjacent(sentence, tokens[j - 1], tokens[j]):
            nxt = tokens[j][0]
            if nxt[:1].isupper() and not _not_a_name(nxt):
                words.append(nxt)
                j += 1
                continue
            k = j
            while (
                k < len(tokens)
                and tokens[k][0].lower() in _CONNECTORS
                and tokens[k][0].lower() != "and"
                and _adjacent(sentence, tokens[k - 1], tokens[k])
            ):
                k += 1
            if (
                k > j
                and k < len(tokens)
                and k - j <= 2
                and tokens[k][0][:1].isupper()
                and not _not_a_name(tokens[k][0])
                and _adjacent(sentence, tokens[k - 1], tokens[k])
            ):
                words.extend(t[0] for t in tokens[j : k + 1])
                j = k + 1
            else:
                break
        before = tokens[i - 1][0].lower() if i else ""
        words[-1] = re.sub(r"'s$", "", words[-1])
        text = " ".join(words)
        alias = _alias_of(text, people) if len(words) == 1 else None
        if alias:
            out.append(Mention(text, alias, "person"))
        else:
            kind = _kind(words, before, people)
            if kind == "thing" and len(words) == 1 and before in ("with", "and", "told", "asked"):
                kind = "person"
            out.append(Mention(text, entity_key(text, singular=False), kind))
        i = j
    return out


def _concepts(sentence: str, names: set[str]) -> list[Mention]:
    out: list[Mention] = []
    run: list[str] = []

    def flush() -> None:
        while run and "NOUN" not in _lemmas(run[-1].lower()):
            run.pop()
        while run and run[0].lower() in _COMMON_NOUNS:
            run.pop(0)
        if run and not (len(run) == 1 and run[0].lower() in _COMMON_NOUNS):
            text = " ".join(run[-3:])
            key = entity_key(text)
            if key not in names and len(key) > 2:
                out.append(Mention(text, key, "concept"))
        run.clear()

    before = ""
    for word in _WORD.findall(sentence):
        low, prev, before = word.lower(), before, word.lower()
        if word[:1].isupper() or low in _NOT_NAMES or low in _STOP:
            if run:
                flush()
            continue
        lemmas = _lemmas(low)
        if (
            not lemmas
            or not ("NOUN" in lemmas or "ADJ" in lemmas)
            or ("VERB" in lemmas and low.endswith("ed") and "NOUN" not in lemmas)
            # "I felt", "we saw", "to keep", "can't wait": a verb where one may be.
            or (not run and "VERB" in lemmas and prev in _BEFORE_VERBS)
        ):
            if run:
                flush()
            continue
        if "NOUN" not in lemmas and "ADJ" in lemmas and run and "NOUN" in _lemmas(run[-1].lower()):
            flush()
        run.append(word)
    flush()
    return out


# Words after which a word that can be a verb is one ("I felt", "to keep", "can't wait").
_BEFORE_VERBS = frozenset(
    """
    i you we they he she it to will would can could should must might may shall don't
    doesn't didn't can't couldn't won't wouldn't shouldn't i'll we'll you'll they'll i'd
    we'd you'd they'd also just really always never often sometimes still even
    """.split()
)

_STOP = frozenset(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    yourself yourselves really also much many even still ever never always sometimes lot
    well good great nice new old big little last next first other such own sure glad happy
    amazing awesome cool wonderful super totally so'
    """.split()
)


def extract_mentions(sentence: str, people: Iterable[str] = ()) -> list[Mention]:
    """Proper names and concept phrases in one sentence, in order, without repeats.

    Args:
        sentence: The text.
        people: Names already known to be people (the speakers, people seen before).
    """
    known = {p.lower() for p in people}
    names = _proper_names(sentence, known)
    name_keys = {n.key for n in names}
    seen: set[str] = set()
    out = []
    for mention in [*names, *_concepts(sentence, name_keys)]:
        if mention.key and mention.key not in seen:
            seen.add(mention.key)
            out.append(mention)
    return out
