"""The write path: derive, reconcile with what is known, embed, index, in one transaction.

Reconciliation decides, per candidate memory, what ``add`` does (Mem0's ADD / UPDATE /
DELETE / NONE, made deterministic):

- **Duplicates** merge in stages: the same normalised text (hash) of the same kind, then
  near-duplicates for stable kinds (facts, preferences, profile, plans): the nearest
  memory by embedding, when it says everything the new statement says (its content words,
  stemmed, are all there: "I love hiking in the mountains!!" repeats "I love hiking in the
  mountains", but "a deadline on Friday, April 8" does not repeat "a deadline on Saturday,
  January 1", however close the embeddings). A merge links the new episode to the
  existing memory as evidence and logs a MERGE event; nothing is lost.
- **Knowledge updates**: a claim that gives a single-valued attribute of a subject a new
  value ("moved to Lisbon" after "lives in Porto") supersedes the old memory: it keeps its
  text, gets ``valid_to``, status ``superseded`` and a link to its successor, and a
  SUPERSEDE event. A negation ("I no longer play the violin", "I quit my job at Quinta
  Labs") ends the matching claims the same way.
- **Corrections** ("actually it was Tuesday, not Monday") supersede the latest memory of
  the speaker that says the wrong value with a corrected copy.
- A note (a whole message) whose every claim has been superseded is superseded with them,
  so recall of "what is true now" does not resurface it.
- What a superseded memory said that is still true stays current: "I live in Berlin and
  work at Siemens" superseded by "I moved to Munich" leaves a memory of its own for the
  employer ("Mia works at Siemens"), with the same evidence and validity start, so the
  profile and recall keep it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from rapidfuzz import fuzz

from mnemos._ids import new_id
from mnemos._time import now
from mnemos.engine.derive import Candidate
from mnemos.engine.text import LIGHT_VERBS, analyze
from mnemos.models import HistoryEvent, MemoryChange, MemoryRecord
from mnemos.nlp.entities import entity_key
from mnemos.storage.base import Access, ClaimRow, MemoryWrite, StoreTransaction, Vector

if TYPE_CHECKING:
    from mnemos.engine.engine import Engine

__all__ = ["Reconciler", "claim_rows"]

STABLE_KINDS = frozenset({"fact", "preference", "profile", "plan"})
NEAR_GATE = 0.8  # below this similarity the texts are not compared at all


def _repeats(new: str, old: str) -> bool:
    """Whether ``new`` says nothing that ``old`` does not: each of its content words
    (stemmed, stop words out) is in ``old``. Close embeddings alone are not enough: in
    sentences of one shape, another date, job or person moves them little."""
    terms = set(analyze(new))
    return bool(terms) and terms <= set(analyze(old))


@dataclass(slots=True)
class Near:
    """What a new stable statement is close to, found before the transaction.

    Attributes:
        store: The nearest stored memory of a stable kind, its similarity, and why it is a
            duplicate (``None`` when it is not one), if that similarity reaches the gate.
        batch: Earlier statements of the same write (from earlier messages) as close,
            as (index, similarity), closest first. A message added on its own is compared
            with those as they are stored; in a batch they are not stored yet.
    """

    store: tuple[str, float, str | None] | None = None
    batch: list[tuple[int, float]] = field(default_factory=list)


def claim_rows(record: MemoryRecord) -> list[ClaimRow]:
    """The claims a memory makes, from its derived attributes."""
    rows = (_claim_row(c, record.user_id) for c in record.attributes.get("claims") or [])
    return [row for row in rows if row is not None]


def _claim_row(claim: Any, user_id: str) -> ClaimRow | None:
    if not isinstance(claim, dict) or not claim.get("attribute") or claim.get("value") is None:
        return None
    value = str(claim["value"])
    return ClaimRow(
        slot=f"{claim.get('subject') or user_id}|{claim['attribute']}",
        value=value,
        value_key=entity_key(value) or value.lower(),
        single=bool(claim.get("single")),
        positive=bool(claim.get("positive", True)),
    )


# A new value of the first attribute leaves the second unknown: a new job may be another
# role ("I got a job at Tidewater" after "I work at Quinta Labs as a data analyst").
_ENDS_WITH = {"employer": frozenset({"occupation"})}


def _ends(row: ClaimRow, old: ClaimRow) -> bool:
    """Whether a new claim decides an old one: the same slot with a new value for a
    single-valued attribute or the same value for another, or a new value of an attribute
    that leaves the old one unknown (:data:`_ENDS_WITH`)."""
    if row.slot == old.slot:
        return row.single or row.value_key == old.value_key or _values_match(row.value, old.value)
    # A subject may be a user id holding "|"; an attribute never does.
    subject, _, attribute = row.slot.rpartition("|")
    old_subject, _, old_attribute = old.slot.rpartition("|")
    return (
        row.positive
        and subject == old_subject
        and old_attribute.split(":", 1)[0] in _ENDS_WITH.get(attribute.split(":", 1)[0], ())
    )


_SAID_AS = {"residence": "lives in {v}", "employer": "works at {v}", "age": "is {v}"}


def claims_text(claims: Sequence[dict[str, Any]], speaker: str | None) -> str:
    """Claims of one subject as statements: "Mia works at Siemens. Mia's occupation:
    engineer." (the subject named as the speaker spelt it when the claims are theirs)."""
    subject = str(claims[0].get("subject") or "")
    name = (
        speaker if speaker and entity_key(speaker, singular=False) == subject else subject.title()
    )
    name = name or "The user"
    said = []
    for c in claims:
        attribute, value = str(c["attribute"]), str(c["value"])
        head, _, detail = attribute.partition(":")
        if head in _SAID_AS:
            said.append(f"{name} {_SAID_AS[head].format(v=value)}.")
        elif head == "count":
            said.append(f"{name}'s {detail} count: {value}.")
        else:
            said.append(f"{name}'s {f'{head} {detail}'.strip()}: {value}.")
    return " ".join(said)


def _values_match(a: str, b: str) -> bool:
    """Whether two claim values name the same thing: equal, one inside the other, a close
    fuzzy match, or the shorter one's content words mostly found in the longer one ("the
    Japan trip" and "visit Japan next spring"), a word other than a light verb among them."""
    a, b = a.lower(), b.lower()
    if a == b or a in b or b in a:
        return True
    if fuzz.token_set_ratio(a, b) >= 80:
        return True
    short, long = sorted((set(analyze(a)), set(analyze(b))), key=len)
    shared = short & long
    return bool(shared - LIGHT_VERBS) and len(shared) / len(short) >= 0.5


@dataclass
class _Outcome:
    inserted: list[MemoryRecord] = field(default_factory=list)
    changes: list[MemoryChange] = field(default_factory=list)
    history: list[HistoryEvent] = field(default_factory=list)


class Reconciler:
    """Applies a batch of candidates to the store inside one transaction.

    Args:
        engine: The engine (for ids, snapshots and embedding corrected copies).
        tx: The open transaction.
        access: The caller's access.
        user_id: The user scope written to.
        near_duplicates: Candidate index -> what it is near (:class:`Near`), found by
            embedding before the transaction (checked again inside it).
    """

    def __init__(
        self,
        engine: Engine,
        tx: StoreTransaction,
        access: Access,
        user_id: str,
        near_duplicates: dict[int, Near],
    ) -> None:
        self.engine = engine
        self.tx = tx
        self.access = access
        self.user_id = user_id
        self.near = near_duplicates
        self.stamp = now()
        self.out = _Outcome()
        self._batch_norms: dict[str, MemoryRecord] = {}
        self._known_norms: dict[str, MemoryRecord] = {}
        self._latest: dict[str, MemoryRecord] = {}
        self._superseded: set[str] = set()
        self._pending: list[MemoryWrite] = []
        self._inserted: dict[int, MemoryRecord] = {}  # candidate index -> its new memory

    # -- helpers ---------------------------------------------------------------------------

    def _event(
        self,
        memory_id: str,
        event: Literal["ADD", "SUPERSEDE", "MERGE"],
        version: int,
        *,
        before: MemoryRecord | None,
        after: MemoryRecord | None,
        reason: str | None = None,
    ) -> None:
        from mnemos.engine.engine import snapshot

        self.out.history.append(
            HistoryEvent(
                id=new_id(),
                memory_id=memory_id,
                event=event,
                version=version,
                at=self.stamp,
                actor="add",
                reason=reason,
                before=None if before is None else snapshot(before),
                after=None if after is None else snapshot(after),
            )
        )

    def _flush(self) -> None:
        """Write the memories inserted so far, before anything reads or changes the store
        (inserts are batched: one statement per table for a run of new memories)."""
        if self._pending:
            self.tx.insert_memories(self._pending)
            self._pending = []

    def _supersede(
        self, old: MemoryRecord, successor: MemoryRecord, reason: str, *, correction: bool = False
    ) -> None:
        self._flush()
        old = self._latest.get(old.id, old)
        if old.id in self._superseded or old.status != "active":
            return
        self._superseded.add(old.id)
        ended = successor.valid_from or successor.occurred_at or self.stamp
        if old.valid_from and ended < old.valid_from:
            ended = old.valid_from
        changed = old.model_copy(
            update={
                "status": "superseded",
                "valid_to": ended,
                "superseded_by": successor.id,
                "expired_at": self.stamp,
                "version": old.version + 1,
                "updated_at": self.stamp,
            }
        )
        self.tx.update_state(self.access, changed)
        self._latest[old.id] = changed
        self._event(old.id, "SUPERSEDE", changed.version, before=old, after=changed, reason=reason)
        self.out.changes.append(
            MemoryChange(
                memory_id=old.id, event="SUPERSEDE", reason=reason, related_id=successor.id
            )
        )
        if old.kind != "note" and old.episode_ids:
            self._retire_note(old.episode_ids[0], successor, reason, any_statement=correction)

    def _retire_note(
        self, episode_id: str, successor: MemoryRecord, reason: str, *, any_statement: bool = False
    ) -> None:
        self._flush()
        siblings = self.tx.memories_of_episodes(self.access, [episode_id])
        note = next((m for m in siblings if m.kind == "note" and m.status == "active"), None)
        if note is None:
            return
        claiming = [
            m
            for m in siblings
            if m.kind != "note"
            and m.id != successor.id
            and (any_statement or m.attributes.get("claims"))
        ]
        if claiming and all(m.id in self._superseded or m.status != "active" for m in claiming):
            self._supersede(note, successor, reason)

    def _merge(self, target: MemoryRecord, record: MemoryRecord, reason: str) -> None:
        self._flush()
        target = self._latest.get(target.id, target)
        new_ids = [e for e in record.episode_ids if e not in target.episode_ids]
        if new_ids:
            self.tx.add_evidence(self.access, target.id, new_ids)
        merged = target.model_copy(
            update={
                "episode_ids": [*target.episode_ids, *new_ids],
                "version": target.version + 1,
                "updated_at": self.stamp,
            }
        )
        self.tx.update_state(self.access, merged)
        self._latest[target.id] = merged
        self._event(target.id, "MERGE", merged.version, before=target, after=merged, reason=reason)
        self.out.changes.append(
            MemoryChange(memory_id=target.id, event="MERGE", reason=reason, related_id=None)
        )

    def _insert(
        self, write: MemoryWrite, reason: str | None = None, related: str | None = None
    ) -> None:
        self._pending.append(write)
        record = write.record
        self.out.inserted.append(record)
        self._event(record.id, "ADD", record.version, before=None, after=record, reason=reason)
        self.out.changes.append(
            MemoryChange(memory_id=record.id, event="ADD", reason=reason, related_id=related)
        )
        if write.norm_hash and record.kind != "note":
            self._batch_norms.setdefault(write.norm_hash, record)

    # -- stages ----------------------------------------------------------------------------

    def _duplicate(self, index: int, write: MemoryWrite) -> bool:
        record = write.record
        if record.kind == "note" or not write.norm_hash:
            return False
        existing = self._batch_norms.get(write.norm_hash) or self._known_norms.get(write.norm_hash)
        if (
            existing is not None
            and existing.kind == record.kind
            and existing.attributes.get("speaker") == record.attributes.get("speaker")
            and (
                record.kind != "event"
                or existing.attributes.get("time") == record.attributes.get("time")
            )
        ):
            if existing.episode_ids == record.episode_ids:
                return True
            # The same words said again are a repeat, not news: they join the memory they
            # repeat, even one that has since been superseded, rather than revive it.
            self._merge(existing, record, "duplicate: same text")
            return True
        near = self.near.get(index)
        if near is None or record.kind not in STABLE_KINDS:
            return False
        # The nearest of the stored memories and of those this batch stored from earlier
        # messages: what the store would have held had each message been added alone.
        best = near.store[1] if near.store is not None else 0.0
        for j, similarity in near.batch:
            earlier = self._inserted.get(j)
            if similarity <= best:
                break
            if earlier is None or earlier.id in self._superseded:
                continue
            target = self._latest.get(earlier.id, earlier)
            if target.kind != record.kind or not _repeats(record.text, target.text):
                return False
            self._merge(target, record, f"duplicate: says nothing new ({similarity:.3f})")
            return True
        if near.store is None:
            return False
        target_id, _, verdict = near.store
        if verdict is None or target_id in self._superseded:
            return False
        found = [
            m
            for m in self.engine.store.get_memories(self.access, [target_id])
            if m.status == "active"
        ]
        if found and found[0].kind == record.kind:
            self._merge(found[0], record, f"duplicate: {verdict}")
            return True
        return False

    def _correct(self, candidate: Candidate, record: MemoryRecord) -> bool:
        correction = candidate.correction
        if correction is None:
            return False
        self._flush()
        wrong = re.compile(rf"\b{re.escape(correction.wrong)}\b", re.IGNORECASE)
        speaker = record.attributes.get("speaker")
        for target in self.tx.recent_memories(self.access, self.user_id, speaker=speaker, limit=30):
            if target.id in self._superseded or not wrong.search(target.text):
                continue
            fixed = target.model_copy(
                update={
                    "id": new_id(),
                    "text": wrong.sub(correction.right, target.text),
                    "episode_ids": [*target.episode_ids, *record.episode_ids],
                    "created_at": self.stamp,
                    "updated_at": self.stamp,
                    "version": 1,
                    "attributes": {
                        **target.attributes,
                        "corrected": True,
                        "claims": [
                            {**c, "value": wrong.sub(correction.right, str(c.get("value", "")))}
                            for c in target.attributes.get("claims") or []
                        ],
                    },
                }
            )
            (write,), vectors = self.engine.writes_for([fixed])
            self.tx.put_vectors(vectors)
            self._insert(write)
            self._supersede(
                target,
                fixed,
                f"correction: {correction.wrong} -> {correction.right}",
                correction=True,
            )
            self._update_claims(fixed)
            return True
        return False

    def _update_claims(self, record: MemoryRecord) -> None:
        rows = claim_rows(record)
        if not rows:
            return
        # Only claims a new one can end are read: for a single-valued attribute, the
        # positive ones (a new value replaces them, a negation ends the same value); for a
        # many-valued one, those of the other polarity ("no longer plays the violin" ends
        # "plays the violin", and the other way round). A user who likes many things does
        # not make every new preference read them all.
        wanted = [(r.slot, True if r.single else not r.positive) for r in rows]
        existing = self.tx.claims_for_slots(self.access, self.user_id, wanted)
        # Memories of this call not yet written count too, after the stored ones and in
        # the store's order (validity start, then order of writing).
        asked = set(wanted)
        existing += [
            (w.record, c)
            for w in self._pending
            for c in w.claims
            if (c.slot, c.positive) in asked and w.record.status == "active"
        ]
        existing.sort(key=lambda pair: (pair[0].valid_from is not None, pair[0].valid_from or 0))
        ended: dict[str, MemoryRecord] = {}
        for row in rows:
            attribute = row.slot.rpartition("|")[2]
            for old, old_row in existing:
                if old_row.slot != row.slot or old.id == record.id or old.id in self._superseded:
                    continue
                same = old_row.value_key == row.value_key or _values_match(old_row.value, row.value)
                if row.single and row.positive and old_row.positive and not same:
                    reason = f"{attribute}: {old_row.value} -> {row.value}"
                elif row.single and not row.positive and old_row.positive and same:
                    reason = f"{attribute}: no longer {old_row.value}"
                elif not row.single and row.positive != old_row.positive and same:
                    reason = f"{attribute}: {'no longer ' if not row.positive else ''}{row.value}"
                else:
                    continue
                if old.id not in self._superseded:
                    ended[old.id] = self._latest.get(old.id, old)
                self._supersede(old, record, reason)
        for old in ended.values():
            if old.id in self._superseded:
                self._carry_over(old, record, rows)

    def _carry_over(self, old: MemoryRecord, record: MemoryRecord, rows: list[ClaimRow]) -> None:
        """Keep current what ``old`` claimed and ``record`` does not change: a memory of its
        own for those claims, with ``old``'s evidence and validity start."""
        kept = [
            claim
            for claim in old.attributes.get("claims") or []
            if (old_row := _claim_row(claim, old.user_id)) is not None
            and old_row.positive
            and not any(_ends(row, old_row) for row in rows)
        ]
        if not kept:
            return
        speaker = old.attributes.get("speaker")
        carried = old.model_copy(
            update={
                "id": new_id(),
                "text": claims_text(kept, speaker if isinstance(speaker, str) else None),
                "status": "active",
                "valid_to": None,
                "superseded_by": None,
                "expired_at": None,
                "version": 1,
                "created_at": self.stamp,
                "updated_at": self.stamp,
                "attributes": {
                    key: old.attributes[key]
                    for key in ("role", "speaker", "entities")
                    if key in old.attributes
                }
                | {"claims": kept, "carried_from": old.id},
            }
        )
        (write,), vectors = self.engine.writes_for([carried])
        self.tx.put_vectors(vectors)
        self._insert(write, reason=f"still true after {old.id} was superseded", related=old.id)

    # -- entry point -----------------------------------------------------------------------

    def run(self, candidates: Sequence[Candidate], writes: Sequence[MemoryWrite]) -> _Outcome:
        """Apply every candidate, in order."""
        norms = [w.norm_hash for w in writes if w.norm_hash and w.record.kind != "note"]
        self._known_norms = self.tx.find_by_norm(self.access, self.user_id, norms) if norms else {}
        for index, (candidate, write) in enumerate(zip(candidates, writes, strict=True)):
            record = write.record
            if self._duplicate(index, write):
                continue
            if record.kind != "note" and self._correct(candidate, record):
                continue
            self._insert(write)
            self._inserted[index] = record
            if record.kind != "note":
                self._update_claims(record)
        self._flush()
        return self.out


def near_duplicates(
    engine: Engine,
    access: Access,
    user_id: str,
    writes: Sequence[MemoryWrite],
    vectors: dict[str, Vector],
) -> dict[int, Near]:
    """The near-duplicate stage of duplicate detection, run before the transaction: for
    each stable statement, the nearest existing memory of a stable kind by embedding; it
    is a duplicate when it is of the same kind and says everything the statement says
    (:func:`_repeats`). Statements of earlier messages in the same write that are as
    close are listed too, for the reconciler to weigh once it knows which of them became
    memories."""
    import numpy as np

    from mnemos.storage.base import MemoryQuery, ScopeFilter

    store = engine.store
    wanted = [
        (i, w) for i, w in enumerate(writes) if w.record.kind in STABLE_KINDS and w.embed_hash
    ]
    missing = [w.embed_hash for _, w in wanted if w.embed_hash not in vectors]
    stored = store.get_vectors([h for h in missing if h]) if missing else {}
    queries: list[tuple[int, MemoryWrite, Vector]] = []
    for i, w in wanted:
        vector = vectors.get(w.embed_hash or "", stored.get(w.embed_hash or ""))
        if vector is not None:
            queries.append((i, w, vector))
    if not queries:
        return {}
    matrix = np.stack([v for *_, v in queries]).astype(np.float32)
    out: dict[int, Near] = {}
    episodes = [w.record.episode_ids[0] if w.record.episode_ids else None for _, w, _ in queries]
    if len(set(episodes)) > 1:
        unit = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        similar = unit @ unit.T
        for a, (i, _, _) in enumerate(queries):
            close = [
                (queries[b][0], float(similar[a, b]))
                for b in range(a)
                if episodes[b] != episodes[a] and similar[a, b] >= NEAR_GATE
            ]
            if close:
                out[i] = Near(batch=sorted(close, key=lambda c: -c[1]))
    mq = MemoryQuery(scope=ScopeFilter(user_id=user_id), kinds=tuple(sorted(STABLE_KINDS)))
    nearest = store.vector_search_many(access, mq, matrix, 1)
    close_hits = {
        i: (w, hits[0])
        for (i, w, _), hits in zip(queries, nearest, strict=True)
        if hits and hits[0][1] >= NEAR_GATE
    }
    if not close_hits:
        return out
    targets = {
        m.id: m for m in store.get_memories(access, [t for _, (t, _) in close_hits.values()])
    }
    for i, (write, (target_id, similarity)) in close_hits.items():
        target = targets.get(target_id)
        verdict = None
        if (
            target is not None
            and target.kind == write.record.kind
            and _repeats(write.record.text, target.text)
        ):
            verdict = f"says nothing new ({similarity:.3f})"
        out.setdefault(i, Near()).store = (target_id, similarity, verdict)
    return out


def entity_writes(candidates: Sequence[Candidate], at: datetime | None) -> list[Any]:
    """Entity mentions of a batch, one per key (first spelling wins)."""
    from mnemos.storage.base import EntityWrite

    seen: dict[str, EntityWrite] = {}
    aliases: dict[str, list[str]] = {}
    for c in candidates:
        for m in c.mentions:
            if m.key not in seen:
                seen[m.key] = EntityWrite(
                    key=m.key, name=m.text, kind=m.kind, seen_at=c.occurred_at or at
                )
        # "my sister Clara" said by Ana: Clara is also "ana's sister" ("user's sister" when
        # the user's messages carry no name).
        owner = c.attributes.get("speaker") or c.attributes.get("role")
        for r in c.attributes.get("relations") or []:
            if isinstance(owner, str) and owner:
                aliases.setdefault(r["key"], []).append(f"{owner.lower()}'s {r['relation']}")
    for key, names in aliases.items():
        if key in seen:
            seen[key] = replace(seen[key], aliases=tuple(dict.fromkeys(names)))
    return list(seen.values())
