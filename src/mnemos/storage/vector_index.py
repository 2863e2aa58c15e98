"""In-process vector partitions for the SQLite store.

Vectors live in the store file (the ``vectors`` table, keyed by content hash); this module
keeps one float32 matrix per (tenant, user) in memory and scans it exactly. Exact numpy
scan was chosen by measurement (see ``mnemos bench speed``): a scope of 100k memories scans
in about 5 ms on two cores, with perfect recall and no index to rebuild or keep in sync.

A partition follows the store incrementally: each memory row carries ``change_seq``, the
sequence number of the write that last touched it, and a partition remembers the highest it
has seen, so a search first pulls only rows written since (by this process or another).
Hard deletes bump the store's ``epoch``, which makes partitions reload from scratch.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from mnemos.models import MEMORY_KINDS, MEMORY_STATUSES

__all__ = ["GraphView", "PartitionRow", "VectorCache"]

_STATUS_CODE = {s: i for i, s in enumerate(MEMORY_STATUSES)}
_KIND_CODE = {k: i for i, k in enumerate(MEMORY_KINDS)}
_REMOVED = np.int8(-1)


@dataclass(slots=True)
class PartitionRow:
    """One memory as a partition needs it."""

    rid: int
    id: str
    status: str
    kind: str
    valid_from: datetime | None
    valid_to: datetime | None
    occurred_at: datetime | None
    agent_id: str | None
    session_id: str | None
    change_seq: int
    vector: npt.NDArray[np.float32] | None
    entities: tuple[str, ...] = ()


def _ts(value: datetime | None, default: float) -> float:
    return default if value is None else value.timestamp()


class _Partition:
    """The vectors and filterable fields of one (tenant, user)."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.lock = threading.Lock()
        self.seq = -1
        self.epoch: str | None = None
        self.size = 0
        self.pos: dict[int, int] = {}
        self.links: list[tuple[str, ...]] = []
        self._graph: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[str]] | None = None
        self._alloc(0)

    def _alloc(self, capacity: int) -> None:
        self.matrix = np.zeros((capacity, self.dimension), dtype=np.float32)
        self.rids = np.zeros(capacity, dtype=np.int64)
        self.ids = np.empty(capacity, dtype=object)
        self.status = np.full(capacity, _REMOVED, dtype=np.int8)
        self.kind = np.zeros(capacity, dtype=np.int8)
        self.valid_from = np.zeros(capacity, dtype=np.float64)
        self.valid_to = np.zeros(capacity, dtype=np.float64)
        self.occurred = np.zeros(capacity, dtype=np.float64)
        self.agent = np.empty(capacity, dtype=object)
        self.session = np.empty(capacity, dtype=object)

    def reset(self) -> None:
        self.seq = -1
        self.size = 0
        self.pos = {}
        self.links = []
        self._graph = None
        self._alloc(0)

    def _grow(self, need: int) -> None:
        capacity = len(self.rids)
        if need <= capacity:
            return
        new_capacity = max(need, capacity * 2, 256)
        old = {
            name: getattr(self, name)
            for name in (
                "matrix",
                "rids",
                "ids",
                "status",
                "kind",
                "valid_from",
                "valid_to",
                "occurred",
                "agent",
                "session",
            )
        }
        self._alloc(new_capacity)
        for name, array in old.items():
            getattr(self, name)[: self.size] = array[: self.size]

    def apply(self, rows: Sequence[PartitionRow]) -> None:
        if not rows:
            return
        self._grow(self.size + len(rows))
        for row in rows:
            self.seq = max(self.seq, row.change_seq)
            at = self.pos.get(row.rid)
            if row.vector is None or row.status == "deleted":
                if at is not None:
                    self.status[at] = _REMOVED
                continue
            if at is None:
                at = self.size
                self.size += 1
                self.pos[row.rid] = at
                self.links.append(row.entities)
            else:
                self.links[at] = row.entities
            self._graph = None
            self.matrix[at] = row.vector
            self.rids[at] = row.rid
            self.ids[at] = row.id
            self.status[at] = _STATUS_CODE[row.status]
            self.kind[at] = _KIND_CODE[row.kind]
            self.valid_from[at] = _ts(row.valid_from, -math.inf)
            self.valid_to[at] = _ts(row.valid_to, math.inf)
            self.occurred[at] = _ts(row.occurred_at, math.nan)
            self.agent[at] = row.agent_id
            self.session[at] = row.session_id

    def mask(
        self,
        *,
        statuses: Iterable[str],
        kinds: Iterable[str] | None,
        valid_at: datetime | None,
        occurred_after: datetime | None,
        occurred_before: datetime | None,
        agent_id: str | None,
        session_id: str | None,
        allowed_rids: Iterable[int] | None,
        ids: Iterable[str] | None,
    ) -> npt.NDArray[np.bool_]:
        n = self.size
        codes = [_STATUS_CODE[s] for s in statuses if s != "deleted"]
        keep: npt.NDArray[np.bool_] = np.isin(self.status[:n], codes)
        if kinds is not None:
            keep &= np.isin(self.kind[:n], [_KIND_CODE[k] for k in kinds])
        if valid_at is not None:
            t = valid_at.timestamp()
            keep &= (self.valid_from[:n] <= t) & (t < self.valid_to[:n])
        if occurred_after is not None:
            keep &= self.occurred[:n] >= occurred_after.timestamp()
        if occurred_before is not None:
            keep &= self.occurred[:n] < occurred_before.timestamp()
        if agent_id is not None:
            keep &= self.agent[:n] == agent_id
        if session_id is not None:
            keep &= self.session[:n] == session_id
        if allowed_rids is not None:
            keep &= np.isin(self.rids[:n], np.fromiter(allowed_rids, dtype=np.int64))
        if ids is not None:
            keep &= np.isin(self.ids[:n], list(ids))
        return keep

    def search(
        self, vector: npt.NDArray[np.float32], keep: npt.NDArray[np.bool_], limit: int
    ) -> list[tuple[str, float]]:
        n = self.size
        if n == 0 or limit <= 0:
            return []
        scores = self.matrix[:n] @ vector
        scores = np.where(keep, scores, -np.inf)
        k = min(limit, int(keep.sum()))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(str(self.ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])][:k]

    def graph(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[str]]:
        """The memory-entity edges: (memory position, entity index) pairs and entity ids."""
        if self._graph is None:
            index: dict[str, int] = {}
            edge_m: list[int] = []
            edge_e: list[int] = []
            for position, entities in enumerate(self.links):
                for entity in entities:
                    edge_m.append(position)
                    edge_e.append(index.setdefault(entity, len(index)))
            self._graph = (
                np.asarray(edge_m, dtype=np.int64),
                np.asarray(edge_e, dtype=np.int64),
                list(index),
            )
        return self._graph


Loader = Callable[[str, str, int], list[PartitionRow]]


@dataclass(frozen=True, slots=True)
class GraphView:
    """The memory-entity graph of a scope, restricted to the memories a query allows.

    Attributes:
        memory_ids: Memory id of each memory node.
        entity_ids: Entity id of each entity node.
        edge_memory: Memory node of each edge.
        edge_entity: Entity node of each edge.
    """

    memory_ids: npt.NDArray[np.object_]
    entity_ids: list[str]
    edge_memory: npt.NDArray[np.int64]
    edge_entity: npt.NDArray[np.int64]


class VectorCache:
    """Partitions by (tenant, user), kept within a row budget by evicting the least used.

    Args:
        dimension: Vector length.
        max_rows: Rows held across all partitions before the least recently used go.
    """

    def __init__(self, dimension: int, max_rows: int = 4_000_000) -> None:
        self.dimension = dimension
        self.max_rows = max_rows
        self._parts: OrderedDict[tuple[str, str], _Partition] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Drop every partition (they reload on the next search)."""
        with self._lock:
            self._parts.clear()

    def _partition(self, tenant: str, user_id: str) -> _Partition:
        with self._lock:
            part = self._parts.get((tenant, user_id))
            if part is None:
                part = self._parts[(tenant, user_id)] = _Partition(self.dimension)
            self._parts.move_to_end((tenant, user_id))
            total = sum(p.size for p in self._parts.values())
            while total > self.max_rows and len(self._parts) > 1:
                _, old = self._parts.popitem(last=False)
                total -= old.size
            return part

    def _synced(self, tenant: str, user_id: str, epoch: str, load: Loader) -> _Partition:
        part = self._partition(tenant, user_id)
        if part.epoch != epoch:
            part.reset()
            part.epoch = epoch
        part.apply(load(tenant, user_id, part.seq))
        return part

    def search(
        self,
        tenant: str,
        user_id: str,
        *,
        epoch: str,
        load: Loader,
        vector: npt.NDArray[np.float32],
        limit: int,
        **filters: Any,
    ) -> list[tuple[str, float]]:
        """Bring the partition up to date through ``load(tenant, user_id, since_seq)``,
        then return the ``limit`` most similar memories that pass the filters."""
        part = self._partition(tenant, user_id)
        with part.lock:
            part = self._synced(tenant, user_id, epoch, load)
            keep = part.mask(**filters)
            return part.search(vector, keep, limit)

    def graph(
        self, tenant: str, user_id: str, *, epoch: str, load: Loader, **filters: Any
    ) -> GraphView:
        """The scope's memory-entity graph, edges of filtered-out memories dropped."""
        part = self._partition(tenant, user_id)
        with part.lock:
            part = self._synced(tenant, user_id, epoch, load)
            keep = part.mask(**filters)
            edge_m, edge_e, entity_ids = part.graph()
            active = keep[edge_m] if len(edge_m) else np.zeros(0, dtype=bool)
            return GraphView(
                memory_ids=part.ids[: part.size].copy(),
                entity_ids=list(entity_ids),
                edge_memory=edge_m[active],
                edge_entity=edge_e[active],
            )
