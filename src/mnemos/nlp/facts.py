"""What a sentence asserts: its kind, and the claims (subject, attribute, value) in it.

Claims are what knowledge updates reconcile: "I live in Porto" and later "I moved to
Lisbon" are two values of the same single-valued attribute (``residence``) of the same
subject, so the second supersedes the first; "I love hiking" and "I love pottery" are two
values of a multi-valued one (``likes``) and both stand until one is negated ("I don't
like hiking anymore"). Corrections ("actually it was Tuesday, not Monday") name the wrong
and the right value.

Patterns work on the sentence as said, in the first person, with the speaker as subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mnemos.models import MemoryKind
from mnemos.nlp.entities import entity_key

__all__ = ["Claim", "Correction", "analyse_sentence", "is_question"]

_NUMBERS = {
    "no": 0, "zero": 0, "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_NAME = r"([A-Z][\w'&.-]*(?:\s+(?:of\s+|the\s+|de\s+|&\s+)?[A-Z][\w'&.-]*){0,4})"
_JOBS = (
    r"teacher|nurse|engineer|developer|programmer|analyst|designer|doctor|student|lawyer|"
    r"manager|chef|cook|writer|author|artist|painter|musician|singer|dancer|photographer|"
    r"scientist|researcher|consultant|accountant|architect|pilot|driver|firefighter|"
    r"police officer|officer|soldier|veteran|therapist|counselor|counsellor|psychologist|"
    r"social worker|pharmacist|dentist|vet|veterinarian|librarian|journalist|editor|"
    r"entrepreneur|founder|ceo|cto|banker|salesperson|marketer|baker|barista|waiter|"
    r"waitress|mechanic|electrician|plumber|carpenter|farmer|coach|trainer|athlete|gamer|"
    r"streamer|youtuber|influencer|intern|freelancer|volunteer|professor|lecturer|tutor|"
    r"mom|dad|stay-at-home parent|retiree"
)
_DIETS = r"vegetarian|vegan|pescatarian|pescetarian|keto|paleo|gluten[- ]free|lactose[- ]intolerant|dairy[- ]free|carnivore|flexitarian"
_STATUSES = r"single|married|engaged|divorced|separated|widowed|in a relationship|dating someone"
_COUNTABLE = (
    r"kids|children|sons|daughters|dogs|cats|pets|puppies|kittens|siblings|brothers|sisters|"
    r"cars|bikes|horses|birds|fish|rabbits|guitars|tattoos|jobs|roommates|plants|grandchildren"
)
_NEGATION = re.compile(
    r"\b(?:no longer|not anymore|don't \w+ (?:\w+ )?anymore|doesn't \w+ anymore|"
    r"stopped|quit|gave up|given up|not into)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Claim:
    """One assertion about a subject.

    Attributes:
        attribute: What about the subject ("residence", "employer", "likes", "count:kid").
        value: The value, as said ("Lisbon", "Tidewater Analytics", "hiking", "2").
        single: Whether the attribute holds one value at a time (a new value replaces it).
        positive: False for a negation ("I no longer play the violin").
    """

    attribute: str
    value: str
    single: bool
    positive: bool = True

    def slot(self, subject: str) -> str:
        """The key claims about the same thing share: ``subject|attribute``."""
        return f"{subject}|{self.attribute}"


@dataclass(frozen=True, slots=True)
class Correction:
    """A correction: the speaker replaces ``wrong`` by ``right`` in something said before."""

    wrong: str
    right: str


def _clean(value: str) -> str:
    value = re.sub(r"\s+", " ", value).strip(" .,!?;:'\"")
    value = re.sub(
        r"^(?:(?:it|that|this) (?:was|is|'s)|I meant|I said|the|a|an|my|our)\s+",
        "",
        value,
        flags=re.IGNORECASE,
    )
    value = re.sub(
        r"\s+(?:anymore|any more|now|too|either|so much|a lot|lately)$",
        "",
        value,
        flags=re.IGNORECASE,
    )
    return value.strip(" .,!?;:'\"")


def _split_values(value: str) -> list[str]:
    parts = re.split(r",\s*(?:and\s+)?|\s+and\s+|\s+or\s+", value)
    return [p for p in (_clean(x) for x in parts) if p]


def _count(text: str) -> str:
    low = text.lower()
    return str(_NUMBERS.get(low, low))


def is_question(sentence: str) -> bool:
    """Whether the sentence asks rather than tells."""
    return sentence.rstrip().endswith("?")


# (pattern, attribute, single-valued, value group, positive)
_PATTERNS: list[tuple[re.Pattern[str], str, bool, int, bool]] = [
    (
        re.compile(
            rf"\bI (?:quit|left|lost|resigned from|was laid off from|got fired from) (?:my (?:job|position|role) (?:at|with) )?{_NAME}"
        ),
        "employer",
        True,
        1,
        False,
    ),
    (
        re.compile(
            rf"\bI(?:'m| am)? (?:now |currently |still )?(?:live|living|reside|residing|based) in {_NAME}"
        ),
        "residence",
        True,
        1,
        True,
    ),
    (
        re.compile(
            rf"\bI(?:'ve| have)? (?:just |finally |recently )?(?:moved|relocated|moving) (?:back )?(?:to|into) (?:a (?:new )?\w+ in )?{_NAME}"
        ),
        "residence",
        True,
        1,
        True,
    ),
    (
        re.compile(
            rf"\b(?:found|bought|rented|got) (?:a|an|our|my) (?:new )?(?:flat|apartment|house|place|home|condo) in {_NAME}"
        ),
        "residence",
        True,
        1,
        True,
    ),
    (
        re.compile(rf"\bI(?:'m| am)? (?:now |currently |still )?work(?:ing)? (?:at|for) {_NAME}"),
        "employer",
        True,
        1,
        True,
    ),
    (
        re.compile(
            rf"\bI (?:just |finally )?(?:got|landed|accepted|took|started) (?:a |an |the |my )?(?:new )?(?:\w+ )?(?:job|position|role|internship) (?:at|with) {_NAME}"
        ),
        "employer",
        True,
        1,
        True,
    ),
    (re.compile(rf"\bI got the {_NAME} (?:job|offer|position|role)"), "employer", True, 1, True),
    (
        re.compile(
            rf"\bI (?:just )?(?:started|start|joined|begin|began) (?:working |a new job )?(?:at|with) {_NAME}"
        ),
        "employer",
        True,
        1,
        True,
    ),
    (
        re.compile(
            rf"(?<!quit )(?<!left )(?<!lost )\bmy (?:new )?(?:job|work|employer|company) (?:is )?(?:at|with)? ?{_NAME}"
        ),
        "employer",
        True,
        1,
        True,
    ),
    (
        re.compile(rf"\bI(?:'m| am) (?:a|an) (?:\w+ )?({_JOBS})\b", re.IGNORECASE),
        "occupation",
        True,
        1,
        True,
    ),
    (
        re.compile(rf"\bI work as (?:a|an) ((?:\w+ )?(?:{_JOBS}))\b", re.IGNORECASE),
        "occupation",
        True,
        1,
        True,
    ),
    (
        re.compile(
            rf"\bI(?:'m| am| have been| became| went) (?:now |a |an |fully |strictly )?({_DIETS})\b",
            re.IGNORECASE,
        ),
        "diet",
        True,
        1,
        True,
    ),
    (
        re.compile(
            rf"\bI(?:'m| am)? (?:now |just |recently |finally )?(?:got |getting )?({_STATUSES})\b",
            re.IGNORECASE,
        ),
        "relationship status",
        True,
        1,
        True,
    ),
    (
        re.compile(
            rf"\bI (?:now )?have (\d+|no|one|two|three|four|five|six|seven|eight|nine|ten) ({_COUNTABLE})\b",
            re.IGNORECASE,
        ),
        "count",
        True,
        1,
        True,
    ),
    (
        re.compile(
            r"\bmy (?:all[- ]time |new |current )?favou?rite (\w+(?: \w+)?) (?:is|are|has become|is now) ([^.!?,;]+)",
            re.IGNORECASE,
        ),
        "favorite",
        True,
        2,
        True,
    ),
    (
        re.compile(
            r"\bI(?:'m| am| just turned| turned) (\d{1,3})(?: years old| this year)?\b(?! (?:km|miles|minutes|hours|days|percent|%))"
        ),
        "age",
        True,
        1,
        True,
    ),
    (re.compile(rf"\bmy name is {_NAME}"), "name", True, 1, True),
    (
        re.compile(
            r"\bI (?:really |absolutely |still |also )?(?:love|like|enjoy|adore) ([^.!?,;]+)",
            re.IGNORECASE,
        ),
        "likes",
        False,
        1,
        True,
    ),
    (
        re.compile(
            r"\bI(?:'m| am) (?:really |so )?(?:into|passionate about|a big fan of|a fan of|obsessed with) ([^.!?,;]+)",
            re.IGNORECASE,
        ),
        "likes",
        False,
        1,
        True,
    ),
    (
        re.compile(
            r"\bI (?:hate|dislike|can't stand|don't like|do not like) ([^.!?,;]+)", re.IGNORECASE
        ),
        "likes",
        False,
        1,
        False,
    ),
    (
        re.compile(
            r"\bI (?:play|practi[cs]e|do|study|learn|collect) (?:the )?([a-z]+(?: [a-z]+)?)\b(?! (?:not|it|that|this|so|too)\b)",
            re.IGNORECASE,
        ),
        "activity",
        False,
        1,
        True,
    ),
    (
        re.compile(
            r"\bI(?:'m| am) (?:learning|studying|taking up|practi[cs]ing) (?:to (?:play )?)?(?:the )?([a-z]+(?: [a-z]+)?)",
            re.IGNORECASE,
        ),
        "activity",
        False,
        1,
        True,
    ),
    (
        re.compile(
            r"\bI (?:no longer|don't|do not|stopped|quit|gave up) (?:play(?:ing)?|practi[cs](?:e|ing)|do(?:ing)?|eat(?:ing)?|like|love|enjoy) (?:the )?([a-z]+(?: [a-z]+)?)",
            re.IGNORECASE,
        ),
        "activity",
        False,
        1,
        False,
    ),
    (
        re.compile(
            r"\bI(?:'m| am) (?:planning|going|hoping|about|set) to ([^.!?,;]+)", re.IGNORECASE
        ),
        "plan",
        False,
        1,
        True,
    ),
    (
        re.compile(r"\bI (?:plan|intend|want|hope|decided) to ([^.!?,;]+)", re.IGNORECASE),
        "plan",
        False,
        1,
        True,
    ),
    (
        re.compile(
            r"\bI (?:cancelled|canceled|called off|postponed|scrapped|dropped) (?:my |the |our )?(?:plans? (?:to|for) )?([^.!?,;]+)",
            re.IGNORECASE,
        ),
        "plan",
        False,
        1,
        False,
    ),
    (
        re.compile(
            r"\bI (?:decided not to|won't|will not|am not going to|'m not going to) ([^.!?,;]+)",
            re.IGNORECASE,
        ),
        "plan",
        False,
        1,
        False,
    ),
]
_CORRECTIONS = [
    re.compile(
        r"\b(?:actually|sorry|correction|oops|wait)\b[^.!?]*?\b(?:it was|it's|it is|I meant|is|was|I said)?\s*([^.!?,;]+?),? not ([^.!?,;]+)",
        re.IGNORECASE,
    ),
    re.compile(r"\bnot ([^.!?,;]+?),? but ([^.!?,;]+)", re.IGNORECASE),
    re.compile(r"\bI meant ([^.!?,;]+?),? not ([^.!?,;]+)", re.IGNORECASE),
]
_PREFERENCE = re.compile(
    r"\b(?:love|like|enjoy|adore|prefer|hate|dislike|favou?rite|fan of|into|passionate about)\b",
    re.IGNORECASE,
)
_PLAN = re.compile(
    r"\b(?:will|'ll|going to|gonna|planning|plan to|plans to|hope to|hoping to|want to|intend|next (?:week|month|year|weekend)|tomorrow|soon|upcoming|can't wait)\b",
    re.IGNORECASE,
)
_PROFILE = re.compile(
    rf"\b(?:I(?:'m| am) (?:a|an) |I work (?:at|for|as)|I live|my name is|I(?:'m| am) from|years old|I(?:'m| am) ({_DIETS}|{_STATUSES})\b)",
    re.IGNORECASE,
)
_PAST = re.compile(
    r"\b(?:\w+ed|went|got|made|took|saw|met|had|did|was|were|bought|ran|came|gave|found|left|told|began|wrote|read|won|lost|sang|drew|flew|ate|drove|rode|swam|built|sent|spent|felt|kept|brought|thought|taught|caught|sold|heard|paid|fell|held|sat|stood|led|finished|started)\b",
    re.IGNORECASE,
)


def analyse_sentence(sentence: str) -> tuple[MemoryKind, list[Claim], Correction | None]:
    """Classify a first-person sentence and extract its claims.

    Returns:
        ``(kind, claims, correction)``: the memory kind the sentence makes, the claims with
        the speaker as subject, and a correction if the sentence corrects something.
    """
    claims: list[Claim] = []
    seen: set[tuple[str, str]] = set()
    for pattern, attribute, single, group, positive in _PATTERNS:
        for m in pattern.finditer(sentence):
            if attribute == "count":
                values, attr = [_count(m.group(1))], f"count:{entity_key(m.group(2))}"
            elif attribute == "favorite":
                attr, values = f"favorite:{m.group(1).lower()}", [_clean(m.group(2))]
            elif not single:
                attr, values = attribute, _split_values(m.group(group))
            else:
                attr, values = attribute, [_clean(m.group(group))]
            if attr in ("likes", "activity", "plan") and _NEGATION.search(sentence) and positive:
                continue
            for value in values:
                if not value or (attr, value.lower()) in seen or len(value) > 80:
                    continue
                seen.add((attr, value.lower()))
                claims.append(Claim(attr, value, single, positive))
    correction = None
    for pattern in _CORRECTIONS:
        found = pattern.search(sentence)
        if found:
            m = found
            right, wrong = (
                (m.group(2), m.group(1))
                if pattern.pattern.startswith(r"\bnot")
                else (m.group(1), m.group(2))
            )
            right, wrong = _clean(right), _clean(wrong)
            if len(right.split()) > 4:
                right = right.split()[-1]
            if right and wrong and right.lower() != wrong.lower() and len(wrong) <= 60:
                correction = Correction(wrong=wrong, right=right)
                break
    kind: MemoryKind
    if any(
        c.attribute
        in ("residence", "employer", "occupation", "diet", "relationship status", "age", "name")
        or c.attribute.startswith("count:")
        for c in claims
    ) or _PROFILE.search(sentence):
        kind = "profile"
    elif _PLAN.search(sentence) or any(c.attribute == "plan" for c in claims):
        kind = "plan"
    elif _PREFERENCE.search(sentence) or any(
        c.attribute in ("likes",) or c.attribute.startswith("favorite:") for c in claims
    ):
        kind = "preference"
    elif _PAST.search(sentence):
        kind = "event"
    else:
        kind = "fact"
    return kind, claims, correction
