"""Retrieval configuration: a frozen model and named recipes.

Recipes are never mutated; derive a variant with ``HYBRID.model_copy(update={...})``.
The same model is the REST / MCP request schema and the benchmark's configuration.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["HYBRID", "LEXICAL", "RECIPES", "SEMANTIC", "SearchConfig"]


class SearchConfig(BaseModel):
    """How ``search`` finds and ranks memories.

    Attributes:
        weights: Channel name -> weight in reciprocal-rank fusion. A channel with weight 0
            is not run at all.
        rrf_k: The RRF constant.
        candidates: How many candidates each channel contributes before fusion.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    weights: dict[str, float] = Field(
        default_factory=lambda: {"bm25": 1.0, "vector": 1.0},
        json_schema_extra={
            "propertyNames": {"enum": ["bm25", "vector"]},
            "additionalProperties": {"type": "number", "minimum": 0},
            "anyOf": [
                {"required": [channel], "properties": {channel: {"exclusiveMinimum": 0}}}
                for channel in ("bm25", "vector")
            ],
        },
    )
    rrf_k: int = Field(default=60, ge=1, le=10_000)
    candidates: int = Field(default=100, ge=1, le=10_000)

    @model_validator(mode="after")
    def _check_weights(self) -> SearchConfig:
        known = {"bm25", "vector"}
        unknown = set(self.weights) - known
        if unknown:
            raise ValueError(f"unknown channels {sorted(unknown)}; known: {sorted(known)}")
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("channel weights must not be negative")
        if not any(w > 0 for w in self.weights.values()):
            raise ValueError("at least one channel needs a positive weight")
        return self

    def active_channels(self) -> list[str]:
        """Channels with a positive weight, in a stable order."""
        return [c for c in ("bm25", "vector") if self.weights.get(c, 0.0) > 0]


HYBRID = SearchConfig()
LEXICAL = SearchConfig(weights={"bm25": 1.0, "vector": 0.0})
SEMANTIC = SearchConfig(weights={"bm25": 0.0, "vector": 1.0})
RECIPES: dict[str, SearchConfig] = {"hybrid": HYBRID, "lexical": LEXICAL, "semantic": SEMANTIC}
