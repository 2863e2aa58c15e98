"""Derivation: from episodes to candidate memories, without an LLM.

Every message yields a ``note`` (the message itself, the unit turn-level recall works on)
and, from each sentence that states something, an atomic memory rewritten in the third
person with its kind, claims, entities and resolved time:

    Caroline (8 May 2023): "I went to a LGBTQ support group yesterday and it was so powerful."
    -> event: "Caroline went to a LGBTQ support group yesterday [7 May 2023] and it was so
       powerful."  time 2023-05-07, entities {caroline, lgbtq, support group}

The engine then reconciles candidates with what is stored (updates, duplicates),
embeds and indexes them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from mnemos.engine.text import STOP_WORDS, tokenize
from mnemos.models import Episode, MemoryKind
from mnemos.nlp.entities import Mention, entity_key, extract_mentions
from mnemos.nlp.facts import Claim, Correction, analyse_sentence, is_question
from mnemos.nlp.person import about_someone, as_first_person, named_relations, rewrite_person
from mnemos.nlp.sentences import split_sentences
from mnemos.nlp.timex import TimeSpan, find_times

__all__ = [
    "Candidate",
    "DeriveContext",
    "Deriver",
    "NoteDeriver",
    "StatementDeriver",
    "speaker_of",
]

# Sentences made only of these carry no memory of their own ("Wow, that's great!").
_CHATTER = frozenset(
    """
    wow great awesome amazing cool nice thanks thank congrats congratulations love glad happy
    good sounds sound sure yeah yes yep yup hey hi hello oh haha lol totally definitely
    absolutely really much lot lots proud excited exciting beautiful wonderful fantastic
    incredible inspiring inspired stunning gorgeous lovely sweet cute fun day hope well know
    see hear talk chat catch touch mean means appreciate appreciated support need keep care
    time take thing things way feel feels reach always remember thought share pic photo look
    looks agree agreed true totally keep going awesome super kind words glad mel thing hugs
    wish wishing cheers nope okay ok absolutely exactly indeed anyway anyways btw bye soon
    """.split()
)
# How an agent names the user in a note it writes in a user's message ("The user lives in Madrid").
_THE_USER = ("the user", "user")
_FIRST_PERSON = re.compile(r"\b(?:I|me|my|mine|myself|I'm|I've|I'll|I'd)\b")
_PHOTO = re.compile(
    r"^\[(?:shares|shared) (?:a )?(?:photo|picture|image)(?: of)?:?\s*(.*)\]$", re.IGNORECASE
)


@dataclass(slots=True)
class Candidate:
    """A memory a deriver proposes.

    Attributes:
        kind: The memory kind.
        text: What the memory says, as shown to a reader.
        episode_ids: The episodes it rests on.
        occurred_at: When what it describes happened (or was said).
        valid_from: Since when it holds (default: ``occurred_at``).
        valid_to: Until when it holds, if known.
        attributes: What derivation found (speaker, time, claims, entities, keys).
        metadata: Caller metadata carried over from the episodes.
        claims: The claims it makes, with ``subject`` the entity key they are about.
        subject: Entity key of who the claims are about.
        correction: A correction the sentence makes, if any.
        mentions: Entities it mentions.
        time: The time it is about, when resolved from its text.
    """

    kind: MemoryKind
    text: str
    episode_ids: list[str]
    occurred_at: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)
    subject: str | None = None
    correction: Correction | None = None
    mentions: list[Mention] = field(default_factory=list)
    time: TimeSpan | None = None


@dataclass(slots=True)
class DeriveContext:
    """What a deriver may know besides the new episodes.

    Attributes:
        previous: Earlier episodes of the same session (oldest first), for who is being
            addressed and what a message answers.
        people: Names known to be people in this user scope.
    """

    previous: list[Episode] = field(default_factory=list)
    people: set[str] = field(default_factory=set)


class Deriver(Protocol):
    """Proposes memories for the episodes of one ``add`` call (in order)."""

    def derive(self, episodes: Sequence[Episode], context: DeriveContext) -> list[Candidate]:
        """Return candidate memories; every episode must be evidence for at least one."""
        ...


def speaker_of(episode: Episode) -> str:
    """The best name for who produced an episode: its name, else its role."""
    return episode.name or episode.role


def _note(ep: Episode) -> Candidate:
    attributes: dict[str, Any] = {"role": ep.role}
    if ep.name:
        attributes["speaker"] = ep.name
    return Candidate(
        kind="note",
        text=ep.text,
        episode_ids=[ep.id],
        occurred_at=ep.occurred_at,
        valid_from=ep.occurred_at,
        attributes=attributes,
        metadata=dict(ep.metadata),
    )


class NoteDeriver:
    """One ``note`` memory per episode: the message itself, keyed by its speaker."""

    def derive(
        self, episodes: Sequence[Episode], context: DeriveContext | None = None
    ) -> list[Candidate]:
        """Propose one note per episode."""
        return [_note(ep) for ep in episodes]


def _informative(sentence: str) -> bool:
    words = [w for w in tokenize(sentence) if w not in STOP_WORDS and not w.isdigit()]
    return sum(1 for w in words if w not in _CHATTER) >= 3


class StatementDeriver:
    """The default zero-LLM deriver: a note per message plus atomic statements.

    Args:
        max_sentences: Sentences considered per message (long documents are notes only
            beyond this).
    """

    def __init__(self, max_sentences: int = 40) -> None:
        self.max_sentences = max_sentences

    def derive(
        self, episodes: Sequence[Episode], context: DeriveContext | None = None
    ) -> list[Candidate]:
        """A note per episode, then a statement per sentence that carries structure."""
        ctx = context or DeriveContext()
        history = list(ctx.previous)
        people = set(ctx.people)
        out: list[Candidate] = []
        for ep in episodes:
            speaker = ep.name
            addressee = next(
                (e.name for e in reversed(history) if e.name and e.name != speaker), None
            )
            for name in (speaker, addressee):
                if name:
                    people.add(name.lower())
            note = _note(ep)
            mentions: dict[str, Mention] = {}
            times: list[TimeSpan] = []
            statements: list[Candidate] = []
            relations: list[dict[str, str]] = []
            for start, end in split_sentences(ep.text)[: self.max_sentences]:
                sentence = ep.text[start:end]
                # "my sister Clara": Clara is the speaker's sister (or the role's, unnamed).
                for relation, name in named_relations(sentence):
                    key = entity_key(name, singular=False)
                    mentions.setdefault(key, Mention(name, key, "person"))
                    relations.append({"relation": relation, "name": name, "key": key})
                    people.add(name.lower())
                stmt = self._statement(ep, sentence, speaker, addressee, people)
                if stmt is None:
                    continue
                for m in stmt.mentions:
                    mentions.setdefault(m.key, m)
                if stmt.time is not None:
                    times.append(stmt.time)
                if _structured(stmt):
                    stmt.text = _finish_text(stmt, speaker, addressee)
                    statements.append(stmt)
            if speaker:
                key = entity_key(speaker, singular=False)
                mentions.setdefault(key, Mention(speaker, key, "person"))
            note.mentions = list(mentions.values())
            note.attributes["entities"] = [m.key for m in note.mentions]
            if relations:
                note.attributes["relations"] = relations
            if times:
                note.time = times[0]
                note.attributes["time"] = _time_attr(times[0])
                note.attributes["keys"] = list(dict.fromkeys(t.label() for t in times))
            out.append(note)
            out.extend(statements)
            history.append(ep)
            # The people named so far are known to the next message, as to the next add.
            people.update(m.text.lower() for m in note.mentions if m.kind == "person")
        return out

    def _statement(
        self,
        ep: Episode,
        sentence: str,
        speaker: str | None,
        addressee: str | None,
        people: set[str],
    ) -> Candidate | None:
        """What one sentence says; its text is finished only if it becomes a memory."""
        photo = _PHOTO.match(sentence.strip())
        claims: list[Claim] = []
        correction = None
        someone: tuple[str, str] | None = None
        kind: MemoryKind
        if photo:
            caption = photo.group(1).strip()
            if not caption:
                return None
            kind = "event"
            text = f"{speaker or ep.role} shared a photo: {caption}"
        else:
            if is_question(sentence):
                return None
            # "Ana works at Tidewater" said by Ana, or "The user works at Tidewater" in a
            # user's message (an agent's note of what it learnt of its user), says what
            # "I work at Tidewater" would.
            also = _THE_USER if ep.role == "user" else ()
            first = as_first_person(sentence, speaker, also)
            # "My sister Clara got engaged": Clara's claims, read as she would say them.
            someone = None if first is not None else about_someone(sentence, people, speaker)
            kind, claims, correction = analyse_sentence(
                first or (someone[0] if someone else sentence)
            )
            if not claims and correction is None and not _informative(sentence):
                return None
            text = sentence
        times = [t for t in find_times(sentence, ep.occurred_at) if t.granularity != "fuzzy"]
        time = times[0] if times else None
        mentions = extract_mentions(sentence, people)
        subject = entity_key(speaker, singular=False) if speaker else ep.role
        if speaker and _FIRST_PERSON.search(sentence) and subject not in {m.key for m in mentions}:
            mentions.insert(0, Mention(speaker, subject, "person"))
        attributes: dict[str, Any] = {"role": ep.role, "said": sentence}
        if photo:
            attributes["photo"] = True
        if speaker:
            attributes["speaker"] = speaker
        if time is not None:
            attributes["time"] = _time_attr(time)
            attributes["keys"] = [t.label() for t in times]
        if correction is not None:
            attributes["correction"] = {"wrong": correction.wrong, "right": correction.right}
        attributes["entities"] = [m.key for m in mentions]
        occurred = time.start if time is not None and kind == "event" else ep.occurred_at
        return Candidate(
            kind=kind,
            text=text,
            episode_ids=[ep.id],
            occurred_at=occurred,
            valid_from=ep.occurred_at,
            attributes=attributes,
            metadata=dict(ep.metadata),
            claims=claims,
            # Claims are the speaker's, or those of the person a clause is about.
            subject=subject if someone is None else entity_key(someone[1], singular=False),
            correction=correction,
            mentions=mentions,
            time=time,
        )


def _structured(stmt: Candidate) -> bool:
    """Whether a sentence says more as its own memory than inside its message's note: a
    claim, a resolved time, a correction, a preference, plan or profile fact, a photo."""
    return bool(
        stmt.claims
        or stmt.time is not None
        or stmt.correction is not None
        or stmt.kind in ("preference", "plan", "profile")
        or stmt.attributes.get("photo")
    )


def _finish_text(stmt: Candidate, speaker: str | None, addressee: str | None) -> str:
    """The statement as a reader sees it: people named, the resolved date appended; its
    claims get their values rewritten the same way."""
    if stmt.attributes.get("photo"):
        text = stmt.text
    else:
        text = rewrite_person(stmt.text, speaker, addressee) if speaker else stmt.text
    if stmt.claims:
        stmt.claims = [
            Claim(
                c.attribute,
                rewrite_person(c.value, speaker, addressee) if speaker else c.value,
                c.single,
                c.positive,
            )
            for c in stmt.claims
        ]
        stmt.attributes["claims"] = [
            {
                "subject": stmt.subject,
                "attribute": c.attribute,
                "value": c.value,
                "single": c.single,
                "positive": c.positive,
            }
            for c in stmt.claims
        ]
    if stmt.time is not None:
        text = f"{text.rstrip()} [{stmt.time.label()}]"
    return text


def _time_attr(span: TimeSpan) -> dict[str, str]:
    return {
        "text": span.text,
        "start": span.start.isoformat(),
        "end": span.end.isoformat(),
        "granularity": span.granularity,
        "label": span.label(),
    }
