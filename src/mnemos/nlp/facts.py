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

__all__ = ["Claim", "Correction", "analyse_sentence", "is_question", "single_valued"]

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
    r"principal|headteacher|head teacher|director|administrator|receptionist|cashier|clerk|"
    r"mom|dad|stay-at-home parent|retiree"
)
_DIETS = r"vegetarian|vegan|pescatarian|pescetarian|keto|paleo|gluten[- ]free|lactose[- ]intolerant|dairy[- ]free|carnivore|flexitarian"
_STATUSES = r"single|married|engaged|divorced|separated|widowed|in a relationship|dating someone"
_COUNTABLE = (
    r"kids|children|sons|daughters|dogs|cats|pets|puppies|kittens|siblings|brothers|sisters|"
    r"cars|bikes|horses|birds|fish|rabbits|guitars|tattoos|jobs|roommates|plants|grandchildren"
)
# Adverbs that may sit between a subject and its verb ("I also play", "I still love").
_ADV = r"(?:(?:also|really|absolutely|still|now|just|often|usually|sometimes|always|currently|actually|truly|totally) )*"
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


_TRAILING = frozenset("on in at with for every each to of from by since".split())
_CLAUSE = re.compile(
    r"\s+(?:since|because|as|when|but|after|before|until|while|so|although|though|if)\b.*$",
    re.IGNORECASE,
)


_PREFIX = re.compile(
    r"^(?:(?:it|that|this) (?:was|is|'s)|I meant|I said|the|a|an|my|our|still|now|currently"
    r"|definitely|probably|actually|sorry|oops|well|oh|no|yes)\b[\s,]*",
    re.IGNORECASE,
)
_SUFFIX = re.compile(r"\s+(?:anymore|any more|now|too|either|so much|a lot|lately)$", re.IGNORECASE)


def _clean(value: str) -> str:
    value = re.sub(r"\s+", " ", value).strip(" .,!?;:'\"")
    value = _CLAUSE.sub("", value)
    while True:
        stripped = _PREFIX.sub("", value, count=1)
        stripped = _SUFFIX.sub("", stripped)
        if stripped == value:
            break
        value = stripped
    words = value.split()
    while len(words) > 1 and words[-1].lower() in _TRAILING:
        words.pop()
    return " ".join(words).strip(" .,!?;:'\"")


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
            rf"\b(?:I|[Ww]e)(?:'m| am|'re| are)? (?:now |currently |still |all )?(?:live|living|reside|residing|based) in {_NAME}"
        ),
        "residence",
        True,
        1,
        True,
    ),
    (
        re.compile(
            rf"\b(?:I|[Ww]e)(?:'ve| have)? (?:just |finally |recently )?(?:moved|relocated|moving|settled) (?:back )?(?:to|into|in) (?:a (?:new )?\w+ in )?{_NAME}"
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
            rf"\b(?:I|and) (?:just )?(?:started|start|joined|begin|began) (?:working |a new job )?(?:at|with|for) {_NAME}"
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
    # Conversational ellipsis: "Still living in Porto", "Working at Dell these days".
    (
        re.compile(rf"^(?:still |now |currently )?(?:living|based) in {_NAME}", re.IGNORECASE),
        "residence",
        True,
        1,
        True,
    ),
    (
        re.compile(rf"^(?:still |now |currently )?working (?:at|for) {_NAME}", re.IGNORECASE),
        "employer",
        True,
        1,
        True,
    ),
    (
        re.compile(
            rf"\bI {_ADV}(?:love|like|enjoy|adore) ([^.!?,;]+)",
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
            r"\bI (?:hate|dislike|can't stand|(?:don't|do not|no longer|stopped|can't) (?:like|love|enjoy|fancy)(?:ing)?) ([^.!?,;]+)",
            re.IGNORECASE,
        ),
        "likes",
        False,
        1,
        False,
    ),
    (
        re.compile(
            rf"\bI {_ADV}(?:play|practi[cs]e|do|study|learn|collect) (?:the )?([a-z]+(?: [a-z]+)?)\b(?! (?:not|it|that|this|so|too)\b)",
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
            r"\bI (?:no longer|don't|do not|stopped|quit|gave up) (?:play(?:ing)?|practi[cs](?:e|ing)|do(?:ing)?|eat(?:ing)?) (?:the )?([a-z]+(?: [a-z]+)?)",
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
            r"\bI(?: decided not to| won't| will not| am not going to|'m not going to) ([^.!?,;]+)",
            re.IGNORECASE,
        ),
        "plan",
        False,
        1,
        False,
    ),
    # More ways of saying the same things (teach, work as ... at, inverted favourites,
    # starting to date, plans with a noun object, trips that are off, tastes that changed).
    (
        re.compile(
            rf"\bI {_ADV}teach (?:(?:high school|middle school|primary school|secondary school|university|college) )?([a-z]+)",
            re.IGNORECASE,
        ),
        "occupation:teach",
        True,
        1,
        True,
    ),
    (
        re.compile(rf"\bI {_ADV}work as (?:a|an) [a-z ]+? (?:at|for|in) {_NAME}"),
        "employer",
        True,
        1,
        True,
    ),
    (
        re.compile(
            r"\b([A-Z][\w'&.-]*(?: [A-Z][\w'&.-]*){0,3}) (?:is|are) (?:still |now |definitely )?my (?:all[- ]time |new )?favou?rite ([a-z]+)"
        ),
        "favorite:inverted",
        True,
        1,
        True,
    ),
    (
        re.compile(
            r"\bI (?:just |recently )?(?:started|began|am|'m) (?:dating|seeing) (someone|somebody|a [a-z]+)",
            re.IGNORECASE,
        ),
        "relationship status:dating",
        True,
        1,
        True,
    ),
    (
        re.compile(
            r"\bI(?:'m| am) (?:planning|organi[sz]ing|booking) (?:a|an|my|our) ([^.!?,;]+)",
            re.IGNORECASE,
        ),
        "plan",
        False,
        1,
        True,
    ),
    (
        re.compile(
            r"\b(?:the|our|my) ([A-Za-z][\w ]*?(?:trip|plans?|wedding|holiday|vacation|party|move|visit)) (?:is|was|has been|got) (?:off|cancell?ed|called off|postponed|scrapped)",
            re.IGNORECASE,
        ),
        "plan",
        False,
        1,
        False,
    ),
    (
        re.compile(
            r"\b([A-Za-z][\w ]*?) (?:isn't|is not|aren't|are not) (?:really )?my thing(?: anymore| any more)?",
            re.IGNORECASE,
        ),
        "likes",
        False,
        1,
        False,
    ),
    (
        re.compile(r"\bI(?:'m| am) (?:not|no longer) (?:into|a fan of) ([^.!?,;]+)", re.IGNORECASE),
        "likes",
        False,
        1,
        False,
    ),
    # A second clause that keeps the subject: "I live in Berlin and work at Siemens as an
    # engineer".
    (
        re.compile(
            rf"\bI\b[^.!?]*? and (?:now |currently |still )?work(?:ing)? (?:at|for) {_NAME}"
        ),
        "employer",
        True,
        1,
        True,
    ),
    (
        re.compile(
            rf"\bI\b[^.!?]*?\bwork(?:ing)? (?:at|for) [^.!?,;]+? as (?:a|an) ((?:\w+ )?(?:{_JOBS}))\b",
            re.IGNORECASE,
        ),
        "occupation",
        True,
        1,
        True,
    ),
    # "joined a startup called Loop".
    (
        re.compile(
            r"\b(?:I|and) (?:just |recently )?(?:joined|started at|moved to) (?:a|an) (?:\w+ )?"
            r"(?:startup|start-up|company|firm|agency|studio|lab|nonprofit|bank|school|hospital)"
            rf" (?:called|named) {_NAME}"
        ),
        "employer",
        True,
        1,
        True,
    ),
    # Diets given up: "I'm no longer vegan", "I'm not vegetarian anymore", "stopped being
    # vegan"; with the subject dropped ("No longer vegan") the sentence reads as the
    # speaker's.
    (
        re.compile(
            rf"\bI(?:'m| am) (?:no longer|not) (?:a |an )?({_DIETS})\b|"
            rf"\bI (?:stopped|quit) being (?:a |an )?({_DIETS})\b",
            re.IGNORECASE,
        ),
        "diet:negated",
        True,
        1,
        False,
    ),
    # Things given up and taken up instead: "gave up on Spanish, switched to Italian".
    (
        re.compile(
            r"\bI (?:gave up|quit|stopped|dropped) (?:on )?(?:learning |studying |playing |the )?"
            r"(?!(?:him|her|them|it|me|us|you|that|this|my|on|being)\b)([A-Za-z]+)\b,? (?:and )?"
            r"(?:I )?(?:switched|moved on|changed) to (?:learning |studying |playing |the )?([A-Za-z]+)",
            re.IGNORECASE,
        ),
        "activity:switched",
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


_SUBJECTLESS = re.compile(
    r"(?:^|(?<=[.!?] ))(?P<adverb>(?:just|finally|recently|also|still) )?(?P<verb>settled|moved|"
    r"relocated|turned|started|joined|quit|left|got|bought|sold|adopted|began|finished|switched|"
    r"gave up|no longer)\b",
    re.IGNORECASE,
)


def _subject(m: re.Match[str]) -> str:
    adverb, verb = (m.group("adverb") or "").lower(), m.group("verb").lower()
    if verb == "no longer":  # "No longer vegan": a state, not an act
        return f"{adverb}I'm no longer"
    return f"I {adverb}{verb}"


def _with_implied_subject(sentence: str) -> str:
    """Chat drops the subject ("Turned 30 last week", "Settled in Vancouver now", "moved
    into a new place", "No longer vegan"); a sentence, or a lower-case one run on after a
    full stop, that opens with such a verb is read as the speaker's."""
    return _SUBJECTLESS.sub(_subject, sentence.lstrip())


_I_WORD = re.compile(r"\bI\b")
_I_WORD_ANY_CASE = re.compile(r"\bi\b", re.IGNORECASE)


def _gate(pattern: re.Pattern[str]) -> tuple[str, ...]:
    """What a text must hold for ``pattern`` to have a chance: most rules open on "I" or
    "my", two need words of their own. Checking that first spares trying some thirty
    rules on the half of chat sentences that say neither.

    Returns:
        ``("I",)`` or ``("i",)`` for a rule that needs the word I (in any case for the
        latter); otherwise lower-cased strings of which the text must hold one; ``()``
        when the rule has no gate.
    """
    source = pattern.pattern
    any_case = bool(pattern.flags & re.IGNORECASE)
    if re.match(r"\\bI(?![\w])", source):
        return ("i",) if any_case else ("I",)
    if re.match(r"(?:\(\?<!\w+ \))*\\bmy ", source):
        return ("my ",)
    if "my thing" in source:
        return ("my thing",)
    if "cancell?ed" in source:
        return ("off", "cancel", "postponed", "scrapped")
    return ()


_GATES = [_gate(p) for p, *_ in _PATTERNS]
# Attributes that hold one value at a time, by the name before any ":" qualifier
# ("count:dog", "favorite:color").
_SINGLE_VALUED = frozenset(a.split(":", 1)[0] for _, a, single, _, _ in _PATTERNS if single)


def single_valued(attribute: str) -> bool:
    """Whether a claim attribute holds one value at a time (a new value replaces the old):
    ``residence``, ``employer``, ``count:dog``; not ``likes`` or ``plan``."""
    return attribute.split(":", 1)[0] in _SINGLE_VALUED


def _may_match(gate: tuple[str, ...], low: str, has_i: bool, has_i_any: bool) -> bool:
    if not gate:
        return True
    if gate == ("I",):
        return has_i
    if gate == ("i",):
        return has_i_any
    return any(g in low for g in gate)


def analyse_sentence(sentence: str) -> tuple[MemoryKind, list[Claim], Correction | None]:
    """Classify a first-person sentence and extract its claims.

    Returns:
        ``(kind, claims, correction)``: the memory kind the sentence makes, the claims with
        the speaker as subject, and a correction if the sentence corrects something.
    """
    claims: list[Claim] = []
    seen: set[tuple[str, str]] = set()
    text = _with_implied_subject(sentence)
    low = text.lower()
    has_i = bool(_I_WORD.search(text))
    has_i_any = has_i or bool(_I_WORD_ANY_CASE.search(text))
    for (pattern, attribute, single, group, positive), gate in zip(_PATTERNS, _GATES, strict=True):
        if not _may_match(gate, low, has_i, has_i_any):
            continue
        for m in pattern.finditer(text):
            if attribute == "count":
                values, attr = [_count(m.group(1))], f"count:{entity_key(m.group(2))}"
            elif attribute == "favorite":
                attr, values = f"favorite:{m.group(1).lower()}", [_clean(m.group(2))]
            elif attribute == "favorite:inverted":
                attr, values = f"favorite:{m.group(2).lower()}", [_clean(m.group(1))]
            elif attribute == "occupation:teach":
                attr, values = "occupation", [f"{m.group(1).lower()} teacher"]
            elif attribute == "relationship status:dating":
                attr, values = "relationship status", ["dating someone"]
            elif attribute == "diet:negated":
                attr, values = "diet", [_clean(m.group(1) or m.group(2))]
            elif attribute == "activity:switched":
                # The one given up ends; the one taken up is claimed (the negation in the
                # sentence is about the first).
                for value, polarity in ((m.group(1), False), (m.group(2), True)):
                    if ("activity", value.lower()) not in seen:
                        seen.add(("activity", value.lower()))
                        claims.append(Claim("activity", value, False, polarity))
                continue
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
            # "it is on Tuesday, not Monday": the right value is as long as the wrong one.
            right = " ".join(right.split()[-len(wrong.split()) :])
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
