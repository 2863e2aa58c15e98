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
        # Entity links per memory position, as indices into entity_ids (ints keep a large
        # partition small: a million memories would otherwise hold millions of id strings).
        self.links: list[tuple[int, ...]] = []
        self.entity_ids: list[str] = []
        self.entity_index: dict[str, int] = {}
        self._graph: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None
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
        self.entity_ids = []
        self.entity_index = {}
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
            links = tuple(self._entity(e) for e in row.entities)
            if at is None:
                at = self.size
                self.size += 1
                self.pos[row.rid] = at
                self.links.append(links)
            else:
                self.links[at] = links
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

    def search_many(
        self, vectors: npt.NDArray[np.float32], keep: npt.NDArray[np.bool_], limit: int
    ) -> list[list[tuple[str, float]]]:
        n = self.size
        if n == 0 or limit <= 0 or not keep.any():
            return [[] for _ in range(len(vectors))]
        scores = vectors @ self.matrix[:n].T
        scores[:, ~keep] = -np.inf
        k = min(limit, int(keep.sum()))
        out = []
        for row in scores:
            top = np.argpartition(-row, k - 1)[:k] if k < n else np.arange(n)
            top = top[np.argsort(-row[top], kind="stable")]
            out.append([(str(self.ids[i]), float(row[i])) for i in top if np.isfinite(row[i])][:k])
        return out

    def _entity(self, entity_id: str) -> int:
        index = self.entity_index.get(entity_id)
        if index is None:
            index = self.entity_index[entity_id] = len(self.entity_ids)
            self.entity_ids.append(entity_id)
        return index

    def graph(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[str]]:
        """The memory-entity edges: (memory position, entity index) pairs and entity ids."""
        if self._graph is None:
            counts = np.fromiter(
                (len(x) for x in self.links), dtype=np.int64, count=len(self.links)
            )
            edge_m = np.repeat(np.arange(len(self.links), dtype=np.int64), counts)
            edge_e = np.fromiter(
                (e for x in self.links for e in x), dtype=np.int64, count=int(counts.sum())
            )
            self._graph = (edge_m, edge_e)
        return (*self._graph, self.entity_ids)


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

    def search_many(
        self,
        tenant: str,
        user_id: str,
        *,
        epoch: str,
        load: Loader,
        vectors: npt.NDArray[np.float32],
        limit: int,
        **filters: Any,
    ) -> list[list[tuple[str, float]]]:
        """:meth:`search` for several query vectors at once (one sync, one matrix product)."""
        part = self._partition(tenant, user_id)
        with part.lock:
            part = self._synced(tenant, user_id, epoch, load)
            return part.search_many(vectors, part.mask(**filters), limit)

    def graph(
        self,
        tenant: str,
        user_id: str,
        *,
        epoch: str,
        load: Loader,
        seeds: Sequence[str] | None = None,
        hops: int = 2,
        max_degree: int = 2000,
        **filters: Any,
    ) -> GraphView:
        """The scope's memory-entity graph, edges of filtered-out memories dropped.

        With ``seeds``, only the neighbourhood within ``hops`` memory steps of them, walked
        through entities mentioned by at most ``max_degree`` memories (a hub such as a
        speaker's own name links everything and says little), so a walk costs what the
        neighbourhood holds rather than what the scope holds.
        """
        part = self._partition(tenant, user_id)
        with part.lock:
            part = self._synced(tenant, user_id, epoch, load)
            keep = part.mask(**filters)
            edge_m, edge_e, entity_ids = part.graph()
            active = keep[edge_m] if len(edge_m) else np.zeros(0, dtype=bool)
            edge_m, edge_e = edge_m[active], edge_e[active]
            if seeds is not None and len(edge_m):
                edge_m, edge_e = _neighbourhood(
                    edge_m, edge_e, [part.entity_index[s] for s in seeds if s in part.entity_index],
                    hops, max_degree, len(entity_ids),
                )  # fmt: skip
            return GraphView(
                memory_ids=part.ids[: part.size].copy(),
                entity_ids=list(entity_ids),
                edge_memory=edge_m,
                edge_entity=edge_e,
            )


def _neighbourhood(
    edge_m: npt.NDArray[np.int64],
    edge_e: npt.NDArray[np.int64],
    seeds: list[int],
    hops: int,
    max_degree: int,
    n_entities: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The edges within ``hops`` memory steps of the seed entities, not through hubs."""
    degree = np.bincount(edge_e, minlength=n_entities)
    open_entity = degree <= max_degree
    frontier = np.zeros(n_entities, dtype=bool)
    frontier[[s for s in seeds if open_entity[s]]] = True
    reached_m = np.zeros(int(edge_m.max()) + 1, dtype=bool)
    for _ in range(hops):
        step = frontier[edge_e]
        new_m = np.zeros_like(reached_m)
        new_m[edge_m[step]] = True
        reached_m |= new_m
        nxt = np.zeros(n_entities, dtype=bool)
        nxt[edge_e[reached_m[edge_m]]] = True
        frontier = nxt & open_entity & ~frontier
    inside = reached_m[edge_m]
    return edge_m[inside], edge_e[inside]
