"""First and second person, resolved to the people in the conversation.

"I adopted a puppy" said by Caroline becomes "Caroline adopted a puppy"; "I love it" becomes
"Caroline loves it" (the verb agrees with its new third-person subject); "you should try
it" said to Melanie becomes "Melanie should try it". Plural first person keeps the speaker
in view ("we went camping" -> "Melanie and others went camping"). When nobody is known to be
addressed, second person is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from lemminflect import getAllLemmas, getInflection

__all__ = [
    "about_someone",
    "as_first_person",
    "asked_relations",
    "named_relations",
    "rewrite_person",
]

_ADVERBS = frozenset(
    """
    really also just always never still often usually actually finally recently definitely
    totally truly sometimes already even only kind sort of probably mostly basically literally
    honestly seriously certainly simply absolutely generally normally occasionally rarely
    no longer hardly barely now then once
    """.split()
)
_KEEP = frozenset(
    """
    was were will would can could should shall might must may had did 'd 'll ought used
    """.split()
)
_AGREE = {
    "am": "is", "are": "is", "have": "has", "do": "does", "don't": "doesn't",
    "haven't": "hasn't", "aren't": "isn't", "were": "was", "weren't": "wasn't",
    "ain't": "isn't", "'m": " is", "'ve": " has",
}  # fmt: skip
_CONTRACTIONS = [
    (re.compile(r"\bI'm\b|\bI am\b|\bIm\b(?=\s)"), "{s} is"),
    (re.compile(r"\bI've\b"), "{s} has"),
    (re.compile(r"\bI'll\b"), "{s} will"),
    (re.compile(r"\bI'd\b(?=\s+(?:been|had|gone|done|seen|never|already|just)\b)"), "{s} had"),
    (re.compile(r"\bI'd\b"), "{s} would"),
    (re.compile(r"\b[Ww]e're\b"), "{s} and others are"),
    (re.compile(r"\b[Ww]e've\b"), "{s} and others have"),
    (re.compile(r"\b[Ww]e'll\b"), "{s} and others will"),
    (re.compile(r"\b[Ww]e'd\b"), "{s} and others would"),
]
_YOU_CONTRACTIONS = [
    (re.compile(r"\b[Yy]ou're\b|\b[Yy]ou are\b"), "{a} is"),
    (re.compile(r"\b[Yy]ou've\b"), "{a} has"),
    (re.compile(r"\b[Yy]ou'll\b"), "{a} will"),
    (re.compile(r"\b[Yy]ou'd\b"), "{a} would"),
    (re.compile(r"\b[Yy]ou were\b"), "{a} was"),
    (re.compile(r"\b[Yy]ou have\b"), "{a} has"),
    (re.compile(r"\b[Yy]ou don't\b"), "{a} doesn't"),
    (re.compile(r"\b[Yy]ou do\b"), "{a} does"),
]
_TOKEN = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|[^\sA-Za-z]+|\s+")
_FILLER_YOU = re.compile(
    r"\b(?:you know|you see|thank you|see you|you guys|are you|do you|did you|have you|can you|could you|would you|will you|how about you|and you|you too)\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=50_000)
def _third_person(word: str) -> str | None:
    """The third-person singular of a base-form verb, or None if ``word`` is not one."""
    low = word.lower()
    if low in _AGREE:
        return _AGREE[low]
    if low in _KEEP or low.endswith(("ed", "n't")):
        return None
    lemmas = getAllLemmas(low)
    verb = lemmas.get("VERB")
    if not verb or verb[0] != low:
        return None
    if "NOUN" in lemmas and "ADJ" in lemmas:
        return None
    if low in getInflection(low, tag="VBD"):
        # "I quit Siemens last week": the past is spelt as the base form, and "Mia quits
        # Siemens" would say it is happening now. "Mia quit" holds either way.
        return None
    forms = getInflection(low, tag="VBZ")
    return forms[0] if forms else None


def _agree_after(tokens: list[str], index: int) -> None:
    """Make the verb after position ``index`` (skipping adverbs) agree with a third person."""
    j = index + 1
    while j < len(tokens) and (tokens[j].isspace() or tokens[j].lower() in _ADVERBS):
        j += 1
    if j < len(tokens) and tokens[j][:1].isalpha():
        new = _third_person(tokens[j])
        if new:
            tokens[j] = new


_DETERMINERS = frozenset("a an the my your his her its our their this that these those".split())


def _clause_before(tokens: list[str], index: int, speaker: str) -> bool:
    """Whether "... and I" starts a new clause (a verb came before) rather than ending a
    compound subject ("my mom and I")."""
    words = [t for t in tokens[:index] if t[:1].isalpha()]
    for k, word in enumerate(words):
        low = word.lower()
        if word == speaker and k < len(words) - 1:
            return True
        if low in ("and", "or", "nor") or (k and words[k - 1].lower() in _DETERMINERS):
            continue
        if "VERB" in getAllLemmas(low):
            return True
    return False


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def rewrite_person(sentence: str, speaker: str | None, addressee: str | None = None) -> str:
    """Rewrite first (and, with an addressee, second) person to names.

    Args:
        sentence: One sentence.
        speaker: Who said it; without one the sentence is returned unchanged.
        addressee: Who it was said to, if known.
    """
    if not speaker:
        return sentence
    text = sentence.replace("\u2019", "'")
    # Every contraction rule needs an apostrophe, "I am" or "Im"; every "you" rule "ou".
    if "'" in text or "I am" in text or "Im" in text:
        for pattern, template in _CONTRACTIONS:
            text = pattern.sub(template.format(s=speaker), text)
    if addressee and "ou" in text and not _FILLER_YOU.search(text):
        for pattern, template in _YOU_CONTRACTIONS:
            text = pattern.sub(template.format(a=addressee), text)
    tokens = _TOKEN.findall(text)
    prev = ""  # the last word or mark before this token, as rewritten so far
    for i, tok in enumerate(tokens):
        if i and not tokens[i - 1].isspace():
            prev = tokens[i - 1].lower()
        low = tok.lower()
        if tok == "I":
            tokens[i] = speaker
            if prev not in ("and", "or", "nor") or _clause_before(tokens, i, speaker):
                _agree_after(tokens, i)
        elif low == "me":
            tokens[i] = speaker
        elif low == "my" or low == "mine":
            tokens[i] = _possessive(speaker)
        elif low == "myself":
            tokens[i] = speaker
        elif low in ("we", "us"):
            tokens[i] = f"{speaker} and others"
        elif low in ("our", "ours"):
            tokens[i] = _possessive(speaker)
        elif low == "ourselves":
            tokens[i] = "themselves"
        elif addressee and low in ("your", "yours"):
            tokens[i] = _possessive(addressee)
        elif addressee and low == "yourself":
            tokens[i] = addressee
        elif addressee and low == "you" and not _FILLER_YOU.search(text):
            tokens[i] = addressee
            if prev in ("", ",", ";", "and", "but", "so", "if", "when", "that", "because"):
                _agree_after(tokens, i)
    out = "".join(tokens)
    if out and out[0].islower() and out[0] != sentence[0]:
        out = out[0].upper() + out[1:]
    return out


# Third-person verb forms back to the first person, where the base form is not simply the
# lemma ("is" -> "am"); modal and past forms stay as they are.
_FIRST = {
    "is": "am", "isn't": "am not", "has": "have", "hasn't": "haven't", "does": "do",
    "doesn't": "don't",
}  # fmt: skip
_FINITE = frozenset("is was has had will would can could should might must may does did".split())
_OPENING_WORD = re.compile(r"\s*([A-Za-z]+(?:'[A-Za-z]+)?)")


def _first_person(word: str) -> str | None:
    """``word`` as a verb after "I" where it followed a third-person subject ("works" ->
    "work", "is" -> "am"; past and modal forms as they are), or None if it is not a verb
    that agrees with a third-person subject."""
    low = word.lower()
    if low in _FIRST:
        return _FIRST[low]
    if low in _KEEP or low.endswith(("ed", "n't")):
        return word
    if not low.endswith("s") or low.endswith("ss"):
        return word if _irregular_past(low) else None
    verb = getAllLemmas(low).get("VERB")
    if not verb:
        return None
    forms = getInflection(verb[0], tag="VBZ")
    return verb[0] if forms and forms[0] == low else None


@lru_cache(maxsize=10_000)
def _irregular_past(word: str) -> bool:
    """Whether ``word`` is the past tense of a verb that does not end in "-ed" ("got",
    "went", "began"): the same after "I" as after a name."""
    verb = getAllLemmas(word).get("VERB")
    return bool(verb) and verb[0] != word and word in getInflection(verb[0], tag="VBD")


def as_first_person(sentence: str, speaker: str | None, also: tuple[str, ...] = ()) -> str | None:
    """A sentence in which the speaker speaks of themself by name ("Ana works at Tidewater",
    "Ana no longer eats meat", as an agent notes what it learnt of its user), rewritten to
    the first person ("I work at Tidewater"), so that it is read as what "I" says would be;
    ``None`` when it does not open with the speaker's name (first name alone included), or
    one of ``also`` ("The user", in any case), and a verb that agrees with it. Past and
    modal forms need no change ("Ana moved ...")."""
    text = sentence.lstrip().replace("\u2019", "'")
    low = text.lower()
    names = [speaker, *speaker.split()[:1]] if speaker else []
    openers = [(name, text) for name in names] + [(phrase.lower(), low) for phrase in also]
    rest = next(
        (
            text[len(opener) :]
            for opener, said in openers
            if said.startswith(opener) and text[len(opener) : len(opener) + 1] in (" ", "'")
        ),
        None,
    )
    said = None if rest is None else _as_i(rest)
    return None if said is None else _go_on(said)


def _as_i(rest: str) -> str | None:
    """What follows a third-person subject ("'s moving ...", " no longer eats ..."), with
    "I" as its subject; ``None`` unless a verb that agrees with the subject comes first."""
    if rest.startswith("'") and not rest.startswith("'s "):
        return None
    if rest.startswith("'s "):  # "Ana's moving" is "Ana is"; "Ana's dog" a possessive
        following = _OPENING_WORD.match(rest, 3)
        if not following or not following.group(1).lower().endswith("ing"):
            return None
        # "Ana's wedding is in May": a noun in -ing, the subject of the verb after it.
        after = _OPENING_WORD.match(rest, following.end())
        if after and after.group(1).lower() in _FINITE:
            return None
        return "I am" + rest[2:]
    adverbs = ""
    found = _OPENING_WORD.match(rest)
    while found and found.group(1).lower() in _ADVERBS:
        adverbs += found.group(0)
        found = _OPENING_WORD.match(rest, found.end())
    verb = _first_person(found.group(1)) if found else None
    if found is None or verb is None:
        return None
    return "I" + adverbs + " " + verb + rest[found.end() :]


# Where a clause about someone may open: the sentence's start, or after a colon or a dash
# ("Big news: my sister Clara got engaged"), then "my" and one or two lower-case words that
# say who they are to the speaker ("my sister", "my best friend"), then the name: a
# capitalised word ("Clara", "Zoë", "Mary-Jane", "O'Neil"), perhaps followed by another.
_UPPER, _LOWER = "A-Z\u00c0-\u00d6\u00d8-\u00de", "a-z\u00df-\u00f6\u00f8-\u00ff"
_NAME_WORD = rf"[{_UPPER}][{_LOWER}]*(?:'[{_UPPER}])?[{_LOWER}]+(?:-[{_UPPER}]?[{_LOWER}]+)?"
_SOMEONE = re.compile(
    r"(?:^|[:;\u2013\u2014]\s+|\s-\s+)"
    r"(?P<my>[Mm]y\s+(?:[a-z]+\s+){1,2})?"
    rf"(?P<name>{_NAME_WORD}(?:\s+{_NAME_WORD})?)(?=\s|'s\s)"
)


def about_someone(
    sentence: str, people: set[str], speaker: str | None = None
) -> tuple[str, str] | None:
    """A clause that says something of another person by name ("Clara lives in Sintra",
    "Big news: my sister Clara got engaged", "Rui's moving to Braga"), as what that person
    would say of themself ("I live in Sintra", "I got engaged"), with the name as written;
    ``None`` when no clause opens with another person and a verb that agrees with them.

    The name, in full or its first word, must be a known person (``people``, lower-cased)
    unless "my <relation>" comes before it, which says it is one. The speaker's own name is
    left to :func:`as_first_person`.
    """
    own = {speaker.lower(), *speaker.lower().split()[:1]} if speaker else set()
    text = sentence.replace("\u2019", "'")
    for found in _SOMEONE.finditer(text):
        full = found.group("name")
        # "Clara Silva lives" names Clara Silva; "Clara Got it" names Clara.
        for name in dict.fromkeys([full, full.split()[0]]):
            low = name.lower()
            known = low in people or low.split()[0] in people
            if low in own or (found.group("my") is None and not known):
                continue
            rewritten = _as_i(text[found.start("name") + len(name) :])
            if rewritten is not None:
                return _go_on(rewritten), name
    return None


# "... and she's a nurse": a second clause whose subject is the same person.
_SAME_PERSON = re.compile(r"\b(?P<and>and|but) (?:she|he)(?=[\s'])")
_PERFECT = frozenset("been got gotten had".split())


def _go_on(rewritten: str) -> str:
    """``rewritten`` with a following "and she ..." / "but he ..." read as "and I ...":
    the pronoun is the person the clause before is about."""
    found = _SAME_PERSON.search(rewritten)
    if found is None:
        return rewritten
    rest = rewritten[found.end() :]
    if rest.startswith("'s "):  # after a pronoun, "'s" is "is", or "has" before "been"
        following = _OPENING_WORD.match(rest, 3)
        perfect = following is not None and following.group(1).lower() in _PERFECT
        then: str | None = ("I have" if perfect else "I am") + rest[2:]
    else:
        then = _as_i(rest)
    if then is None:
        return rewritten
    return f"{rewritten[: found.start()]}{found.group('and')} {then}"


# Who someone is to the speaker, as "my <relation> <Name>" says it ("my sister Clara", "my
# best friend Tom", "my new puppy Coco").
RELATIONS = frozenset(
    """
    sister brother mom mum mother dad father wife husband partner girlfriend boyfriend
    fiance fiancee fiancé fiancée son daughter kid child baby aunt uncle cousin niece nephew
    grandma grandmother grandpa grandfather granddaughter grandson stepmom stepdad
    stepmother stepfather stepsister stepbrother friend bestie boss manager colleague
    coworker teammate roommate flatmate housemate neighbour neighbor mentor coach teacher
    therapist doctor dentist dog cat puppy kitten pet
    """.split()
)
_RELATION_ADJECTIVES = (
    "best|old|oldest|little|big|younger|youngest|older|elder|new|baby|childhood|close|good"
)
_MY_RELATION = re.compile(
    rf"\b[Mm]y\s+(?:(?:{_RELATION_ADJECTIVES})\s+)?(?P<relation>[a-zé]+)"
    rf"(?:,\s*|\s+)(?P<name>{_NAME_WORD}(?:\s+{_NAME_WORD})?)(?=[\s,.!?;:)]|'s\b|$)"
)


def named_relations(sentence: str) -> list[tuple[str, str]]:
    """``(relation, name)`` for each "my <relation> <Name>" in a sentence ("my sister
    Clara" -> ``("sister", "Clara")``; "my best friend Tom" -> ``("friend", "Tom")``),
    the relation one of :data:`RELATIONS`."""
    text = sentence.replace("\u2019", "'")
    return [
        (m.group("relation"), m.group("name"))
        for m in _MY_RELATION.finditer(text)
        if m.group("relation") in RELATIONS
    ]


_ASKED_RELATION = re.compile(
    rf"(?:\b(?P<owner>{_NAME_WORD}(?:\s+{_NAME_WORD})?)'s|\b(?P<my>[Mm]y|[Tt]he user's))"
    rf"\s+(?:(?:{_RELATION_ADJECTIVES})\s+)?(?P<relation>[a-zé]+)\b"
)


def asked_relations(
    question: str, owners: Callable[[], Iterable[str]] = tuple
) -> dict[str, str | None]:
    """The names a question may give someone by who they are to someone else, as
    :func:`named_relations` records them: "Ana's sister" -> ``{"ana's sister": "ana"}``;
    "my sister" (or "the user's sister") -> one per possible owner, owner ``None``: each
    of ``owners()`` (lower-cased names, asked for only then) and "user" (the role)."""
    out: dict[str, str | None] = {}
    mine: list[str] | None = None
    for m in _ASKED_RELATION.finditer(question.replace("\u2019", "'")):
        relation = m.group("relation")
        if relation not in RELATIONS:
            continue
        if m.group("owner"):
            owner = m.group("owner").lower()
            out[f"{owner}'s {relation}"] = owner
            continue
        if mine is None:
            mine = sorted({*owners(), "user"})
        for owner in mine:
            out.setdefault(f"{owner}'s {relation}", None)
    return out
