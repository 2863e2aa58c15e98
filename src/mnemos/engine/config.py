"""Retrieval configuration: a frozen model and named recipes.

Recipes are never mutated; derive a variant with ``HYBRID.model_copy(update={...})``.
The same model is the REST / MCP request schema and the benchmark's configuration.
Default weights were tuned on the LoCoMo dev split only (see ``mnemos bench locomo``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["CHANNELS", "FIELDS", "HYBRID", "LEXICAL", "RECIPES", "SEMANTIC", "SearchConfig"]

CHANNELS = ("bm25", "vector", "graph", "time", "speaker", "profile", "answer")
# Weights are relative; a bound keeps products of them finite (1e308 overflowed BM25 to NaN).
MAX_WEIGHT = 1000.0
FIELDS = ("body", "turn", "context", "keys")


class SearchConfig(BaseModel):
    """How ``search`` finds and ranks memories.

    Attributes:
        weights: Channel -> weight in reciprocal-rank fusion: ``bm25`` (lexical), ``vector``
            (semantic), ``graph`` (personalised PageRank from the query's entities over the
            memory-entity graph), ``time`` (memories whose resolved time falls in the
            query's time window; it counts six times as much when the window is a day,
            three times for a week or a month), ``speaker`` (BM25 over what the people the
            query names said themselves), ``profile`` (the current claims about the attribute
            a question asks after, "where does Ana live?" -> Ana's residence; it counts
            double when every attribute asked holds one value at a time, as where one lives
            or works: the current claim is then the answer), ``answer`` (among the first lexical and
            vector candidates, those that hold the form of answer the question asks for: a
            duration for "how long", a frequency for "how often", a piece of advice for
            "what did she suggest"). A channel with weight 0
            is not run.
        fields: Weights of the lexical index fields: ``body`` (the memory's text), ``turn``
            (the question a message answers: the turn before it, when that asks something),
            ``context`` (the turn a message follows otherwise) and ``keys`` (speaker,
            resolved dates).
        rrf_k: The RRF constant.
        candidates: How many candidates each channel contributes before fusion.
        collapse: Return at most one hit per source episode (the best-ranked memory).
        prefer_notes: With ``collapse``, return the episode's note (the message as said)
            in place of a statement derived from it: the same evidence for fewer tokens.
        context_window: How far (in turns of the same session, before and after its
            evidence) a hit looks for context, returned as ``hit.context``.
        context_mode: ``fixed`` returns every turn in the window; ``adaptive`` only those
            that share a word with the query, plus the reply to a hit that asks a question
            and the question before a hit that is a short reply.
        budget_context: With ``budget_tokens``, how many of the first hits bring their
            context; later hits come bare, so that more distinct hits fit the budget.
        repeats_last: When a hit whose every evidence turn an earlier hit already returned
            as context comes after the hits that return something new (and is left out
            when those fill the limit or the budget): ``budget`` within ``budget_tokens``
            only, where the tokens it takes would crowd out new turns; ``always`` (more
            distinct turns per search, for reading more records: about 1 ms a search at
            LoCoMo scale); ``never`` (hits in score order).
        graph_hops: Memory-entity-memory steps the graph channel walks from the seeds.
        damping: Personalised-PageRank continuation probability (1 - restart).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "bm25": 1.0,
            "vector": 0.5,
            "graph": 0.5,
            "time": 0.5,
            "speaker": 0.5,
            "profile": 1.0,
            "answer": 1.0,
        },
        # The schema says what the validator checks, for REST and MCP clients.
        json_schema_extra={
            "propertyNames": {"enum": list(CHANNELS)},
            "additionalProperties": {"type": "number", "minimum": 0, "maximum": MAX_WEIGHT},
            "anyOf": [
                {"required": [channel], "properties": {channel: {"exclusiveMinimum": 0}}}
                for channel in ("bm25", "vector", "graph")
            ],
        },
    )
    fields: dict[str, float] = Field(
        default_factory=lambda: {"body": 1.0, "turn": 0.8, "context": 0.3, "keys": 0.3},
        json_schema_extra={
            "propertyNames": {"enum": list(FIELDS)},
            "additionalProperties": {"type": "number", "minimum": 0, "maximum": MAX_WEIGHT},
        },
    )
    rrf_k: int = Field(default=20, ge=1, le=10_000)
    candidates: int = Field(default=100, ge=1, le=10_000)
    collapse: bool = True
    prefer_notes: bool = True
    context_window: int = Field(default=2, ge=0, le=10)
    context_mode: Literal["adaptive", "fixed"] = "fixed"
    budget_context: int = Field(default=3, ge=0, le=10_000)
    repeats_last: Literal["budget", "always", "never"] = "budget"
    graph_hops: int = Field(default=2, ge=1, le=3)
    damping: float = Field(default=0.85, gt=0, lt=1)

    @model_validator(mode="after")
    def _check(self) -> SearchConfig:
        unknown = set(self.weights) - set(CHANNELS)
        if unknown:
            raise ValueError(f"unknown channels {sorted(unknown)}; known: {list(CHANNELS)}")
        if any(not 0 <= w <= MAX_WEIGHT for w in self.weights.values()):
            raise ValueError(f"channel weights must be between 0 and {MAX_WEIGHT:g}")
        if not any(self.weights.get(c, 0) > 0 for c in ("bm25", "vector", "graph")):
            raise ValueError("at least one of bm25, vector or graph needs a positive weight")
        unknown = set(self.fields) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}; known: {list(FIELDS)}")
        if any(not 0 <= w <= MAX_WEIGHT for w in self.fields.values()):
            raise ValueError(f"field weights must be between 0 and {MAX_WEIGHT:g}")
        return self

    def active_channels(self) -> list[str]:
        """Channels with a positive weight, in a stable order."""
        return [c for c in CHANNELS if self.weights.get(c, 0.0) > 0]


HYBRID = SearchConfig()
LEXICAL = SearchConfig(weights={"bm25": 1.0}, context_window=0)
SEMANTIC = SearchConfig(weights={"vector": 1.0}, context_window=0)
RECIPES: dict[str, SearchConfig] = {"hybrid": HYBRID, "lexical": LEXICAL, "semantic": SEMANTIC}
