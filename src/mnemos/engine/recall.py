"""The read path: query analysis, channels, fusion, collapse, context and packing.

::

    query -> analysis (terms, time window, entities, the form of answer asked for)
          -> channels: bm25 (weighted fields) | vector | graph (personalised PageRank over
             the memory-entity graph, HippoRAG-style) | time (resolved times in the window)
             | speaker | profile (current claims) | answer (a duration for "how long",
             a piece of advice for "what did she recommend")
          -> weighted reciprocal-rank fusion
          -> one hit per source episode, neighbouring turns as context
          -> limit and token budget
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from mnemos.engine.config import SearchConfig
from mnemos.engine.fusion import max_rrf, rrf
from mnemos.engine.text import LIGHT_VERBS, QUESTION_WORDS, analyze, count_tokens
from mnemos.models import Episode, Evidence, MemoryRecord, SearchHit, trusted
from mnemos.nlp.entities import entity_key, extract_mentions
from mnemos.nlp.facts import single_valued
from mnemos.nlp.person import asked_relations
from mnemos.nlp.timex import NUMBER_WORDS, parse_query_window
from mnemos.storage.base import Access, MemoryQuery, Store, Vector
from mnemos.storage.vector_index import GraphView

__all__ = ["QueryAnalysis", "analyse_query", "personalized_pagerank", "run_channels"]

SPEAKER_POOL = 50  # lexical candidates the speaker channel looks at
# Lexical and vector candidates (each) the answer channel reads: on the LoCoMo dev split 30
# gave the same recall as 100.
ANSWER_POOL = 50
# A scope of up to this many memories is walked whole by the graph channel: there, finding
# the seeds' neighbourhood (which bounds the walk in larger scopes) costs more than it
# saves, and it holds nearly all of the scope anyway (98% of a LoCoMo conversation's
# thousand memories). Searches measured 0.9 ms faster at a thousand memories, 0.7 ms at
# 2,500, the same at 5,000 and 1.8 ms slower at 10,000.
WHOLE_GRAPH_BELOW = 4_000


# How much more the time channel counts when the query names a short window, by the
# window's length in days: a day named ("What did Nate cook on 9 November, 2022?") all but
# says which session holds the answer, a week or a month less so, a year hardly at all.
# Tuned on the LoCoMo dev split: single-hop R@10 0.947 -> 0.955, temporal 0.946 -> 0.957
# (with day 4, month 4 instead: 0.950, 0.957; with day 6, month 2: 0.955, 0.946).
WINDOW_FOCUS: tuple[tuple[int, float], ...] = ((1, 6.0), (31, 3.0))


@dataclass(slots=True)
class QueryAnalysis:
    """What a query asks about."""

    terms: list[str]
    window: tuple[datetime, datetime] | None = None
    entity_ids: list[str] = field(default_factory=list)
    entity_names: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    slots: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    answer_form: str | None = None

    def lexical_terms(self) -> list[str]:
        """The terms BM25 scores: the query's, less the names of the known people it asks
        about, the light verbs any question may use ("getting", "go":
        :data:`~mnemos.engine.text.LIGHT_VERBS`) and the words that phrase a question
        ("name", "say", "kind": :data:`~mnemos.engine.text.QUESTION_WORDS`);
        failing those, the names; failing that, the whole query.

        In a personal store a person's name is on a large share of the memories (every
        turn they said carries it as its speaker), so as a BM25 term it says little more
        than who spoke, which the speaker and graph channels say exactly, and it makes
        the full-text index score half the scope. Leaving it out kept LoCoMo dev recall
        (R@10 0.856 against 0.855) and cut search p50 from 16.1 to 10.3 ms. A light verb
        or a question word says nothing of what is asked, yet a memory matching only it
        ("Who is getting married?" against "Biscuit still gets riverside walks") took the
        lexical channel's first rank: fusion counts ranks, not how much of the query
        matched. For the same reason the names are not put back when the other terms
        match nothing ("What is the name of Ana's dog?" in Ana's store): there they match
        nearly every memory, ranked by BM25's length normalisation. Both kept LoCoMo dev
        recall and raised it (R@10 0.855 -> 0.859, open-domain 0.506 -> 0.528).
        """
        names = {t for name in self.people for t in analyze(name)}
        vague = LIGHT_VERBS | QUESTION_WORDS
        return (
            [t for t in self.terms if t not in names and t not in vague]
            or [t for t in self.terms if t not in vague]
            or self.terms
        )

    def asks_current_value(self) -> bool:
        """Whether the query asks after attributes of known people (or, asking who, of
        anyone) that each hold one value at a time ("Where does Ana work?", "Who is getting
        married?"): the current claims are then the answer."""
        asked = [slot.rpartition("|")[2] for slot in self.slots] + self.attributes
        return bool(asked) and all(single_valued(attribute) for attribute in asked)

    def fusion_config(self, cfg: SearchConfig) -> SearchConfig:
        """``cfg`` as this query fuses its channels: the time channel counts more the
        tighter the query's window (see :data:`WINDOW_FOCUS`), and the profile channel
        counts double when the query asks for a current value (see
        :meth:`asks_current_value`)."""
        weights = dict(cfg.weights)
        if self.window is not None and weights.get("time", 0.0) > 0:
            days = (self.window[1] - self.window[0]).days
            focus = next((f for most, f in WINDOW_FOCUS if days <= most), 1.0)
            weights["time"] *= focus
        if self.asks_current_value() and weights.get("profile", 0.0) > 0:
            weights["profile"] *= 2
        if weights == cfg.weights:
            return cfg
        return cfg.model_copy(update={"weights": weights})


def analyse_query(
    store: Store,
    access: Access,
    user_id: str,
    text: str,
    ref: datetime,
    owners: Callable[[], Iterable[str]] = tuple,
) -> QueryAnalysis:
    """Terms, time window and known entities of a query; ``owners()`` gives who "my" may
    be in "my sister" (lower-cased names of the scope's people), asked for only then."""
    analysis = QueryAnalysis(
        terms=analyze(text), window=parse_query_window(text, ref), answer_form=asked_form(text)
    )
    keys = [m.key for m in extract_mentions(text)]
    # "Ana's sister", "my sister": whoever was introduced as such ("my sister Clara").
    relations = asked_relations(text, owners)
    if keys or relations:
        found = store.find_entities(access, user_id, [*keys, *relations], with_attributes=False)
        related = {
            e.id: relations[a.lower()] for e in found for a in e.aliases if a.lower() in relations
        }
        # Asked after Ana's sister, the claims wanted are the sister's, not Ana's.
        asked_owners = set(related.values())
        analysis.entity_ids = [e.id for e in found]
        analysis.entity_names = [e.name for e in found]
        analysis.people = [e.name for e in found if e.kind == "person"]
        subjects = [
            e.key
            for e in found
            if e.kind == "person" and (e.id in related or e.key not in asked_owners)
        ]
        analysis.slots = [f"{s}|{a}" for s in subjects for a in asked_attributes(text)]
    if not analysis.people and _WHO.match(text):
        # "Who is getting married?" names nobody: the attribute is asked of anyone, where
        # everyone's current value is a short list (not everything anyone ever liked).
        analysis.attributes = [a for a in asked_attributes(text) if single_valued(a)]
    return analysis


_WHO = re.compile(r"\s*(?:who|whose|whom)\b", re.IGNORECASE)

# The form of answer a question asks for, by how it asks, and what a text holding that
# form says: "How long has Nate had his turtles?" is answered by "for 3 years now", which
# shares no word with it but "had"; "How often do you run?" by "twice a week"; "What advice
# does Caroline give for getting started with adoption?" by "Do your research ... Don't
# forget to prepare emotionally".
_ASKED_FORMS: dict[str, re.Pattern[str]] = {
    "duration": re.compile(
        r"\bhow\s+(?:long|many\s+(?:years|months|weeks|days|hours))\b", re.IGNORECASE
    ),
    "frequency": re.compile(r"\bhow\s+(?:often|frequently|many\s+times\s+a)\b", re.IGNORECASE),
    "advice": re.compile(
        r"\b(?:advi[cs]e[sd]?|suggest(?:s|ed|ions?)?|rec+om+end(?:s|ed|ations?)?|tips?)\b",
        re.IGNORECASE,
    ),
}
_NUMBER = rf"(?:\d+(?:\.\d+)?|many|{NUMBER_WORDS})"
# What holds each form, in lower-cased text (case-blind patterns are three times slower).
ANSWER_FORMS: dict[str, re.Pattern[str]] = {
    "duration": re.compile(
        rf"\b{_NUMBER}(?:\s+|-)(?:years?|months?|weeks?|days?|hours?|decades?)\b"
    ),
    "frequency": re.compile(
        r"\b(?:every|each|once|twice|thrice|daily|weekly|monthly|yearly|nightly"
        r"|times?\s+(?:a|an|per|each|every)|per\s+(?:day|week|month|year))\b"
    ),
    "advice": re.compile(
        r"\b(?:make\s+sure|be\s+sure\s+to|don'?t\s+forget"
        r"|you\s+(?:should|could|might|must|need\s+to|have\s+to)|you(?:'d|'ll|\s+will)\s+love"
        r"|i(?:\s+would|'d)?\s+(?:definitely\s+)?(?:rec+om+end|suggest)|highly\s+rec+om+end|a\s+must"
        r"|must-(?:see|read|visit|try|watch)|how\s+about\s+(?!you\b)|why\s+not|try\s+(?:to|out)"
        r"|look\s+(?:for|into)|worth\s+(?:it|a|the|checking|trying))\b"
    ),
}
# What each form cannot be held without (as part of a word): most candidates hold none,
# and looking for these is far cheaper than trying a form at every position.
_FORM_PARTS: dict[str, tuple[str, ...]] = {
    "duration": ("year", "month", "week", "day", "hour", "decade"),
    "frequency": ("every", "each", "once", "twice", "thrice", "ly", "time", "per"),
    "advice": (
        "sure",
        "forget",
        "you",
        "mend",
        "sugg",
        "must",
        "how",
        "why",
        "try",
        "look",
        "worth",
    ),
}


def holds_form(form: str, text: str) -> bool:
    """Whether a text holds the form of answer (a key of :data:`ANSWER_FORMS`)."""
    low = text.lower()
    return any(part in low for part in _FORM_PARTS[form]) and bool(ANSWER_FORMS[form].search(low))


def asked_form(text: str) -> str | None:
    """The form of answer a question asks for (a key of :data:`ANSWER_FORMS`), if any."""
    for form, asking in _ASKED_FORMS.items():
        if asking.search(text):
            return form
    return None


# Question words that say which attribute is asked after (matched on stems).
_ATTRIBUTE_CUES: dict[str, tuple[str, ...]] = {
    "residence": ("live", "reside", "home", "move", "base", "citi", "hometown"),
    "employer": ("work", "job", "employ", "compani", "firm"),
    "occupation": ("job", "occup", "profess", "career", "work"),
    "diet": ("diet", "eat", "vegetarian", "vegan", "pescatarian", "meat"),
    "relationship status": (
        "relationship", "marri", "singl", "date", "engag", "partner", "girlfriend",
        "boyfriend", "wife", "husband",
    ),
    "age": ("age", "old"),
    "likes": ("like", "enjoy", "hobbi", "love", "fan", "interest"),
    "activity": ("play", "hobbi", "practic", "instrument", "sport"),
    "plan": ("plan", "trip", "visit", "go", "travel"),
}  # fmt: skip


# "work out" (exercise) says nothing of work: left out before the cues are matched.
_WORK_OUT = re.compile(r"\bwork(?:s|ed|ing)?\s+out\b", re.IGNORECASE)


def asked_attributes(question: str) -> list[str]:
    """The claim attributes a question asks after ("How many dogs ..." -> ``count:dog``)."""
    terms = set(analyze(_WORK_OUT.sub(" ", question)))
    found = [a for a, cues in _ATTRIBUTE_CUES.items() if terms & set(cues)]
    lowered = question.lower()
    many = re.search(r"\bhow many ([a-z]+)", lowered)
    if many:
        found.append(f"count:{entity_key(many.group(1))}")
    favourite = re.search(r"\bfavou?rite ([a-z]+(?: [a-z]+)?)", lowered)
    if favourite:
        phrase = favourite.group(1)
        found.extend(f"favorite:{v}" for v in dict.fromkeys([phrase, phrase.split()[0]]))
    return found


def personalized_pagerank(
    graph: GraphView,
    seeds: Sequence[str],
    *,
    damping: float,
    iterations: int = 8,
    limit: int | None = None,
) -> list[tuple[str, float]]:
    """Personalised PageRank over the bipartite memory-entity graph (HippoRAG).

    The walk restarts at the seed entities, in inverse proportion to how many memories
    mention each (a specific entity says more than a hub such as a speaker's name), and
    moves along memory-entity edges; a memory scores the visits of ``iterations`` steps.
    Eight steps rank as twelve did on the LoCoMo dev split (R@10 0.862 against 0.861,
    within 1,000 tokens 0.833 both), and twelve as twenty did before (0.853 both).

    Returns:
        ``(memory id, score)`` best first (equal scores in node order), at most ``limit``
        of them, for memories the walk ranks above the average (memories it cannot tell
        apart carry no signal).
    """
    em, ee = graph.edge_memory, graph.edge_entity
    if len(em) == 0:
        return []
    if graph.seed_nodes is not None:
        seed_nodes = graph.seed_nodes.tolist()
    else:
        wanted = set(seeds)
        seed_nodes = [i for i, eid in enumerate(graph.entity_ids) if eid in wanted]
    if not seed_nodes:
        return []
    n_m, n_e = len(graph.memory_ids), len(graph.entity_ids)
    deg_m = np.bincount(em, minlength=n_m).astype(np.float64)
    deg_e = np.bincount(ee, minlength=n_e).astype(np.float64)
    if not deg_e[seed_nodes].any():
        return []
    restart = np.zeros(n_e)
    specificity = np.divide(
        1.0, deg_e[seed_nodes], out=np.zeros(len(seed_nodes)), where=deg_e[seed_nodes] > 0
    )
    restart[seed_nodes] = specificity / specificity.sum()
    # Each edge's share of a step, the continuation probability folded in once.
    to_m = (damping * np.divide(1.0, deg_e, out=np.zeros(n_e), where=deg_e > 0))[ee]
    to_e = (damping * np.divide(1.0, deg_m, out=np.zeros(n_m), where=deg_m > 0))[em]
    jump = (1 - damping) * restart
    r_e: npt.NDArray[Any] = restart.copy()
    r_m: npt.NDArray[Any] = np.zeros(n_m)
    total_m = np.zeros(n_m)
    for _ in range(iterations):
        r_m, r_e = (
            np.bincount(em, weights=r_e[ee] * to_m, minlength=n_m),
            jump + np.bincount(ee, weights=r_m[em] * to_e, minlength=n_e),
        )
        total_m += r_m
    reached = np.flatnonzero(total_m > 0)
    if len(reached) == 0:
        return []
    mean = total_m[reached].mean()
    keep = reached[total_m[reached] > mean * (1 + 1e-6)]
    order = keep[np.lexsort((keep, -total_m[keep]))][:limit]
    return [(str(graph.memory_ids[i]), float(total_m[i])) for i in order]


def run_channels(
    store: Store,
    access: Access,
    mq: MemoryQuery,
    analysis: QueryAnalysis,
    query_vector: Vector | None,
    cfg: SearchConfig,
    pool: int,
    anchors: dict[str, tuple[str | None, str, str | None]] | None = None,
) -> dict[str, list[tuple[str, float]]]:
    """Every active channel's ranking: channel -> ``(memory id, score)``, best first."""
    channels = cfg.active_channels()
    found: dict[str, list[tuple[str, float]]] = {}
    if "bm25" in channels:
        terms = analysis.lexical_terms()
        found["bm25"] = store.lexical_search(access, mq, terms, pool, weights=cfg.fields)
    if "vector" in channels and query_vector is not None:
        found["vector"] = store.vector_search(access, mq, query_vector, pool)
    if "graph" in channels and analysis.entity_ids:
        graph = store.entity_graph(
            access, mq, analysis.entity_ids, cfg.graph_hops, whole_below=WHOLE_GRAPH_BELOW
        )
        found["graph"] = personalized_pagerank(
            graph, analysis.entity_ids, damping=cfg.damping, limit=pool
        )
    if "speaker" in channels and analysis.people and found.get("bm25"):
        # What the named people said themselves, in lexical order (no second index pass).
        known = anchors if anchors is not None else {}
        lexical = found["bm25"][:SPEAKER_POOL]
        missing = [mid for mid, _ in lexical if mid not in known]
        if missing:
            known.update(store.memory_anchors(access, missing))
        people = set(analysis.people)
        found["speaker"] = [
            (m, s) for m, s in lexical if known.get(m, (None, "", None))[2] in people
        ]
    if "answer" in channels and analysis.answer_form is not None:
        # Among the first candidates, those that hold the answer's form, in their order.
        pool_ids = list(
            dict.fromkeys(
                [m for m, _ in found.get("bm25", [])[:ANSWER_POOL]]
                + [m for m, _ in found.get("vector", [])[:ANSWER_POOL]]
            )
        )
        form = analysis.answer_form
        texts = store.memory_texts(access, pool_ids) if pool_ids else {}
        found["answer"] = [(m, 1.0) for m in pool_ids if holds_form(form, texts.get(m, ""))]
    if "profile" in channels and (analysis.slots or analysis.attributes):
        found["profile"] = store.slot_search(
            access, mq, analysis.slots, pool, attributes=analysis.attributes
        )
    if "time" in channels and analysis.window is not None:
        start, end = analysis.window
        timed = store.time_search(access, mq, start, end, pool)
        # Among memories that fit the window equally (a day's turns, say), those that
        # match the query's words come first, in lexical order; the rest keep theirs.
        lexical_rank = {mid: rank for rank, (mid, _) in enumerate(found.get("bm25", []))}
        unmatched = len(lexical_rank)
        timed.sort(key=lambda hit: (-hit[1], lexical_rank.get(hit[0], unmatched)))
        found["time"] = timed
    return {c: hits for c, hits in found.items() if hits}


def _evidence(episode: Episode) -> Evidence:
    # The episode was validated on its way into the store.
    return trusted(
        Evidence,
        episode_id=episode.id,
        role=episode.role,
        name=episode.name,
        text=episode.text,
        occurred_at=episode.occurred_at,
        session_id=episode.session_id,
        metadata=episode.metadata,
    )


def build_hit(
    record: MemoryRecord,
    evidence: list[Episode],
    context: list[Episode],
    score: float,
    ranks: dict[str, int],
    raw: dict[str, float],
    matched: list[str],
) -> SearchHit:
    """A search hit with its token cost: its text, plus evidence and context episodes
    whose text it does not already contain."""
    seen = record.text
    tokens = count_tokens(record.text)
    for episode in [*evidence, *context]:
        if episode.text not in seen:
            tokens += count_tokens(episode.text)
            seen += "\n" + episode.text
    evidence_ids = {e.id for e in evidence}
    # Every part comes from validated records: no second validation.
    return trusted(
        SearchHit,
        id=record.id,
        text=record.text,
        kind=record.kind,
        score=round(score, 6),
        scores=raw,
        ranks=dict(ranks),
        occurred_at=record.occurred_at,
        valid_from=record.valid_from,
        valid_to=record.valid_to,
        status=record.status,
        user_id=record.user_id,
        agent_id=record.agent_id,
        session_id=record.session_id,
        metadata=record.metadata,
        attributes=record.attributes,
        evidence=[_evidence(e) for e in evidence],
        context=[_evidence(e) for e in context if e.id not in evidence_ids],
        matched=matched,
        tokens=tokens,
    )


def _useful_context(anchor: Episode, around: list[Episode], query_terms: set[str]) -> list[Episode]:
    """The neighbouring turns worth returning with a hit: those that share a word with the
    query, the turn right after a hit that asks a question (its answer) and the turn right
    before a hit that is a short reply (what it answers)."""
    before = [e for e in around if (e.occurred_at, e.id) < (anchor.occurred_at, anchor.id)]
    position = {e.id: i for i, e in enumerate(around)}
    split = len(before)
    keep: list[Episode] = []
    asks = anchor.text.rstrip().endswith("?")
    short = len(anchor.text.split()) < 12
    for e in around:
        adjacent_after = position[e.id] == split
        adjacent_before = position[e.id] == split - 1
        if (
            (asks and adjacent_after)
            or (short and adjacent_before)
            or (query_terms and query_terms & set(analyze(e.text)))
        ):
            keep.append(e)
    return keep


# Within a budget, once it holds a hit, the search stops looking for hits short enough
# for what is left when this many in a row did not fit: on the LoCoMo dev split, recall
# within 1,000 tokens stayed 0.840, while a search for 20 hits within 1,000 tokens read 29
# candidate groups instead of 70 (p50 13 ms instead of 26). Stopping at the first hit that
# did not fit read 21 and lost recall (0.835).
BUDGET_MISFITS = 8


def assemble(
    store: Store,
    access: Access,
    mq: MemoryQuery,
    rankings: dict[str, list[tuple[str, float]]],
    cfg: SearchConfig,
    limit: int,
    budget: int | None,
    query_terms: set[str] | None = None,
    anchors: dict[str, tuple[str | None, str, str | None]] | None = None,
) -> list[SearchHit]:
    """Fuse the rankings and turn the best into hits: collapsed per episode (as the
    episode's note, if preferred), with context that repeats no turn already returned,
    within the limit and the budget. Only the groups that become hits are loaded in full.
    """
    fused = rrf(
        {c: [mid for mid, _ in hits] for c, hits in rankings.items()},
        k=cfg.rrf_k,
        weights=cfg.weights,
    )
    if not fused:
        return []
    raw = {c: dict(hits) for c, hits in rankings.items()}
    # A weight as small as 5e-324 is positive but underflows the bound to 0.
    top = max_rrf(list(rankings), k=cfg.rrf_k, weights=cfg.weights) or 1.0
    hits: list[SearchHit] = []
    used_tokens = 0
    # Episodes already handed back, as evidence or context: a hit's context leaves them
    # out rather than repeat them (its own evidence is always returned).
    returned: set[str] = set()
    # Load what the hits need a batch at a time: the first ``limit`` groups usually
    # suffice; more are read only when a budget, a repeat (see ``repeats_last``) or a
    # vanished record skips some.
    most = limit * 2 if budget is None else limit * 4
    groups = _groups(store, access, fused, raw, top, cfg, limit, most, dict(anchors or {}))

    misfits = 0  # hits in a row that did not fit the budget, once it holds one

    def place(
        record: MemoryRecord, episodes: list[Episode], neighbours: list[Episode], group: list[Any]
    ) -> None:
        nonlocal used_tokens, misfits
        _, _, _, score, ranks, channel_scores, matched = group
        if cfg.context_mode == "adaptive" and episodes:
            neighbours = _useful_context(episodes[0], neighbours, query_terms or set())
        # Within a budget, context is worth its tokens around the best hits; further
        # down, the same tokens hold more hits.
        if budget is not None and len(hits) >= cfg.budget_context:
            neighbours = []
        neighbours = [e for e in neighbours if e.id not in returned]
        hit = build_hit(record, episodes, neighbours, score, ranks, channel_scores, matched)
        if budget is not None and used_tokens + hit.tokens > budget and neighbours:
            hit = build_hit(record, episodes, [], score, ranks, channel_scores, matched)
        if budget is not None and used_tokens + hit.tokens > budget:
            if hits:
                misfits += 1
            return
        misfits = 0
        used_tokens += hit.tokens
        hits.append(hit)
        returned.update(e.episode_id for e in [*hit.evidence, *hit.context])

    # Hits whose every evidence turn an earlier hit returned as context: they say nothing
    # new, so (see ``repeats_last``) they may come after the hits that do.
    defer = cfg.repeats_last == "always" or (cfg.repeats_last == "budget" and budget is not None)
    repeats: list[tuple[MemoryRecord, list[Episode], list[Episode], list[Any]]] = []
    while (
        len(hits) < limit and (budget is None or used_tokens < budget) and misfits < BUDGET_MISFITS
    ):
        # As many groups as hits are still wanted: each round reads what the hits need in
        # a few statements; a search without a budget mostly takes one round.
        batch = list(itertools.islice(groups, limit - len(hits)))
        if not batch:
            break
        for record, episodes, neighbours, group in _load_batch(store, access, mq, cfg, batch):
            if len(hits) >= limit or misfits >= BUDGET_MISFITS:
                break
            if defer and episodes and all(e.id in returned for e in episodes):
                repeats.append((record, episodes, neighbours, group))
                continue
            place(record, episodes, neighbours, group)
    for repeat in repeats:
        if len(hits) >= limit or (budget is not None and used_tokens >= budget):
            break
        place(*repeat)
    return hits


def _groups(
    store: Store,
    access: Access,
    fused: list[Any],
    raw: dict[str, dict[str, float]],
    top: float,
    cfg: SearchConfig,
    limit: int,
    most: int,
    known: dict[str, tuple[str | None, str, str | None]],
) -> Iterator[list[Any]]:
    """The fused candidates grouped per episode (when collapsing), at most ``most`` of
    them, best first; each group is ``[best memory id, its kind, episode,
    score, ranks, channel scores, matched ids]``. Candidates are grouped on a light read
    of their first evidence episode, a window of them at a time, as the groups are asked
    for."""
    groups: dict[str, list[Any]] = {}
    order: list[str] = []
    emitted = 0
    start, window = 0, max(limit * 3, 30)
    while start < len(fused) and len(order) < most:
        batch = fused[start : start + window]
        start += window
        missing = [f.key for f in batch if f.key not in known]
        if missing:
            known.update(store.memory_anchors(access, missing))
        for item in batch:
            anchor = known.get(item.key)
            if anchor is None:
                continue
            episode, kind, _ = anchor
            key = episode if cfg.collapse and episode else item.key
            if key in groups:
                groups[key][6].append(item.key)
                continue
            channel_scores = {c: raw[c][item.key] for c in item.ranks}
            groups[key] = [
                item.key,
                kind,
                episode,
                item.score / top,
                item.ranks,
                channel_scores,
                [item.key],
            ]
            order.append(key)
            if len(order) >= most:
                break
        while emitted < len(order):
            yield groups[order[emitted]]
            emitted += 1


def _load_batch(
    store: Store, access: Access, mq: MemoryQuery, cfg: SearchConfig, chosen: list[list[Any]]
) -> list[tuple[MemoryRecord, list[Episode], list[Episode], list[Any]]]:
    """The records (an episode's note where preferred), evidence and context of a batch of
    candidate groups, in their order; groups whose record is gone are left out."""
    notes: dict[str, MemoryRecord] = {}
    if cfg.collapse and cfg.prefer_notes:
        episodes = [g[2] for g in chosen if g[1] != "note" and g[2]]
        notes = store.episode_notes(access, episodes, mq.statuses) if episodes else {}
    direct = [g[0] for g in chosen if not (g[1] != "note" and g[2] in notes)]
    records = {r.id: r for r in store.get_memories(access, direct)} if direct else {}
    resolved: list[tuple[MemoryRecord, list[Any]]] = []
    for g in chosen:
        record = notes.get(g[2]) if g[1] != "note" and g[2] in notes else records.get(g[0])
        if record is not None:
            resolved.append((record, g))
    evidence = store.evidence(access, [r.id for r, _ in resolved])
    around = (
        store.neighbors(
            access,
            [r.episode_ids[0] for r, _ in resolved if r.episode_ids],
            cfg.context_window,
            cfg.context_window,
        )
        if cfg.context_window
        else {}
    )
    return [
        (
            record,
            evidence.get(record.id, []),
            around.get(record.episode_ids[0], []) if record.episode_ids else [],
            group,
        )
        for record, group in resolved
    ]
