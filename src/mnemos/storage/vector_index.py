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
from array import array
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


def _distinct(values: npt.NDArray[np.int64], bound: int) -> list[int]:
    """The distinct values (each below ``bound``), ascending: ``np.unique`` without a sort."""
    seen = np.zeros(bound, dtype=bool)
    seen[values] = True
    return np.flatnonzero(seen).tolist()


def _renumber(
    values: npt.NDArray[np.int64], bound: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``np.unique(values, return_inverse=True)`` for values below ``bound``, without a
    sort: the distinct values ascending, and each value's index among them."""
    seen = np.zeros(bound, dtype=bool)
    seen[values] = True
    index = np.cumsum(seen) - 1
    return np.flatnonzero(seen), index[values]


# Vectors are kept in blocks of at most this many rows, so that a growing partition never
# copies its whole matrix (which would briefly need twice its memory).
_BLOCK = 65_536
# Most similarity scores held at once while searching (32 MiB of float32).
_SCORE_FLOATS = 8 * 1024 * 1024
# A search over more allowed vectors than this goes in two steps: the candidates nearest
# by the signs of their components (a bit a dimension, compared by Hamming distance, which
# reads a thirty-second of the float32 matrix), then those candidates by exact cosine.
_EXACT_ROWS = 200_000
# Candidates rescored exactly in a two-step search: this many, or 40 per hit asked for.
_CANDIDATES = 8_000


class _Partition:
    def __init__(
        self,
        dimension: int,
        block: int = _BLOCK,
        score_floats: int = _SCORE_FLOATS,
        exact_rows: int = _EXACT_ROWS,
        candidates: int = _CANDIDATES,
    ) -> None:
        self.dimension = dimension
        self.block = block
        self.score_floats = score_floats
        self.exact_rows = exact_rows
        self.candidates = candidates
        self.words = -(-dimension // 64)  # 64-bit words of a sign code
        self.lock = threading.Lock()
        self.seq = -1
        self.epoch: str | None = None
        self.size = 0
        self.version = 0
        self.pos: dict[int, int] = {}
        # Entity links per memory position, as indices into entity_ids (ints keep a large
        # partition small: a million memories would otherwise hold millions of id strings),
        # and the reverse: the memory positions that mention each entity.
        # Links are kept flat: position p links to flat[start[p] : start[p] + count[p]]
        # (a changed memory's new links are appended and its old ones left unused).
        self.link_flat = array("i")
        self.link_start = array("q")
        self.link_count = array("i")
        self.postings: list[array[int]] = []
        self.entity_ids: list[str] = []
        self.entity_index: dict[str, int] = {}
        self._entity_array: npt.NDArray[np.object_] | None = None
        self._graph: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None
        self._mask: tuple[Any, npt.NDArray[np.bool_]] | None = None
        self._alloc(0)

    def _alloc(self, capacity: int) -> None:
        self.blocks: list[npt.NDArray[np.float32]] = []
        self.rids = np.zeros(capacity, dtype=np.int64)
        self.ids = np.empty(capacity, dtype=object)
        self.status = np.full(capacity, _REMOVED, dtype=np.int8)
        self.has_vector = np.zeros(capacity, dtype=bool)
        self.kind = np.zeros(capacity, dtype=np.int8)
        self.valid_from = np.zeros(capacity, dtype=np.float64)
        self.valid_to = np.zeros(capacity, dtype=np.float64)
        self.occurred = np.zeros(capacity, dtype=np.float64)
        self.agent = np.empty(capacity, dtype=object)
        self.session = np.empty(capacity, dtype=object)
        # Sign codes, a column per position (word-major, so a scan reads each word of
        # every code contiguously); computed when a two-step search first needs them.
        self.codes = np.zeros((self.words, 0), dtype=np.uint64)
        self._coded = 0  # positions below this have their code
        self._recode: set[int] = set()  # ... except these, whose vector changed since

    def reset(self) -> None:
        self.seq = -1
        self.store_seq: int | None = None  # the store's change sequence at the last sync
        self.size = 0
        self.version += 1
        self.pos = {}
        self.link_flat = array("i")
        self.link_start = array("q")
        self.link_count = array("i")
        self.postings = []
        self.entity_ids = []
        self.entity_index = {}
        self._entity_array = None
        self._graph = None
        self._mask = None
        self._alloc(0)

    def _grow(self, need: int) -> None:
        capacity = len(self.rids)
        if need > capacity:
            new_capacity = max(need, capacity * 2, 256)
            for name in ("rids", "ids", "status", "has_vector", "kind", "valid_from", "valid_to",
                         "occurred", "agent", "session"):  # fmt: skip
                old = getattr(self, name)
                grown = np.empty(new_capacity, dtype=old.dtype)
                grown[: self.size] = old[: self.size]
                if name == "status":
                    grown[self.size :] = _REMOVED
                setattr(self, name, grown)
        # Vector blocks: the first doubles up to a full block, then full blocks are added.
        rows = sum(len(b) for b in self.blocks)
        if need <= rows:
            return
        if len(self.blocks) <= 1 and need <= self.block:
            first = np.zeros(
                (min(self.block, max(need, rows * 2, 256)), self.dimension), np.float32
            )
            if self.blocks:
                first[:rows] = self.blocks[0]
            self.blocks = [first]
            return
        if self.blocks and len(self.blocks[0]) < self.block:
            full = np.zeros((self.block, self.dimension), dtype=np.float32)
            full[: len(self.blocks[0])] = self.blocks[0]
            self.blocks[0] = full
        while sum(len(b) for b in self.blocks) < need:
            self.blocks.append(np.zeros((self.block, self.dimension), dtype=np.float32))

    def _set_vector(self, at: int, vector: npt.NDArray[np.float32] | float) -> None:
        self.blocks[at // self.block][at % self.block] = vector
        if at < self._coded:
            self._recode.add(at)

    def _sign_codes(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.uint64]:
        """The sign code of each vector, as a (words, vectors) array."""
        bits = np.zeros((len(vectors), self.words * 64), dtype=bool)
        bits[:, : self.dimension] = vectors > 0
        return np.packbits(bits, axis=1).view(np.uint64).T

    def _vectors_at(self, positions: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        out = np.empty((len(positions), self.dimension), dtype=np.float32)
        block_of = positions // self.block
        for b in np.unique(block_of).tolist():
            chosen = block_of == b
            out[chosen] = self.blocks[b][positions[chosen] % self.block]
        return out

    def _sync_codes(self) -> None:
        """Bring the sign codes up to date with the vectors."""
        n = self.size
        if self.codes.shape[1] < n:
            grown = np.zeros((self.words, len(self.rids)), dtype=np.uint64)
            grown[:, : self._coded] = self.codes[:, : self._coded]
            self.codes = grown
        for start in range(self._coded - self._coded % self.block, n, self.block):
            begin = max(start, self._coded)
            end = min(start + self.block, n)
            block = self.blocks[start // self.block]
            self.codes[:, begin:end] = self._sign_codes(block[begin - start : end - start])
        self._coded = max(self._coded, n)
        if self._recode:
            changed = np.fromiter(sorted(self._recode), dtype=np.int64)
            self.codes[:, changed] = self._sign_codes(self._vectors_at(changed))
            self._recode.clear()

    def _two_step(
        self, vector: npt.NDArray[np.float32], keep: npt.NDArray[np.bool_], limit: int
    ) -> list[tuple[str, float]]:
        """The ``limit`` most similar allowed memories among the candidates nearest by sign
        code (ties at the cut taken in position order), ranked by exact cosine."""
        self._sync_codes()
        n = self.size
        query = self._sign_codes(vector[None, :])[:, 0]
        distance = np.bitwise_count(self.codes[0, :n] ^ query[0]).astype(np.uint16)
        for w in range(1, self.words):
            distance += np.bitwise_count(self.codes[w, :n] ^ query[w])
        excluded = self.words * 64 + 1
        distance[~keep] = excluded
        want = max(self.candidates, limit * 40)
        at_most = np.cumsum(np.bincount(distance, minlength=excluded + 1))
        cut = min(int(np.searchsorted(at_most, want)), excluded - 1)
        closer = np.flatnonzero(distance < cut)
        tied = np.flatnonzero(distance == cut)[: max(0, want - len(closer))]
        chosen = np.concatenate([closer, tied])
        scores = self._vectors_at(chosen) @ vector
        order = np.lexsort((self.rids[chosen], -scores))[:limit]  # ties: earlier written
        return self._pairs(chosen[order], scores[order])

    def _link(self, at: int, links: tuple[int, ...]) -> None:
        """Record the entities memory ``at`` mentions, in both directions."""
        if at == len(self.link_start):
            self.link_start.append(len(self.link_flat))
            self.link_count.append(len(links))
            self.link_flat.extend(links)
        else:
            start, count = self.link_start[at], self.link_count[at]
            old = tuple(self.link_flat[start : start + count])
            if old == links:
                return
            for e in old:
                self.postings[e].remove(at)
            self.link_start[at] = len(self.link_flat)
            self.link_count[at] = len(links)
            self.link_flat.extend(links)
        for e in links:
            self.postings[e].append(at)
        self._graph = None

    def linked(
        self, positions: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The links of the given positions: per position its number of links, and the
        entity indices they point to, position after position."""
        counts = np.frombuffer(self.link_count, dtype=np.int32)[positions].astype(np.int64)
        starts = np.frombuffer(self.link_start, dtype=np.int64)[positions]
        total = int(counts.sum())
        if total == 0:
            return counts, np.zeros(0, dtype=np.int64)
        # Index of each link in the flat array: its position's start plus its rank within.
        first = np.cumsum(counts) - counts
        offsets = np.repeat(starts - first, counts) + np.arange(total, dtype=np.int64)
        return counts, np.frombuffer(self.link_flat, dtype=np.int32)[offsets].astype(np.int64)

    def apply(self, rows: Sequence[PartitionRow]) -> None:
        if not rows:
            return
        self._grow(self.size + len(rows))
        self.version += 1
        for row in rows:
            self.seq = max(self.seq, row.change_seq)
            at = self.pos.get(row.rid)
            if row.status == "deleted":
                if at is not None:
                    self.status[at] = _REMOVED
                continue
            links = tuple(self._entity(e) for e in row.entities)
            if at is None:
                at = self.size
                self.size += 1
                self.pos[row.rid] = at
            self._link(at, links)
            # A memory without a vector still takes part in lexical and graph recall.
            self.has_vector[at] = row.vector is not None
            self._set_vector(at, row.vector if row.vector is not None else 0.0)
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
        """Which positions pass the filters; the last answer is kept until the partition
        or the filters change (a search asks for it once per channel)."""
        key: Any = None
        if allowed_rids is None and ids is None:
            key = (
                self.version,
                self.size,
                tuple(statuses),
                None if kinds is None else tuple(kinds),
                valid_at,
                occurred_after,
                occurred_before,
                agent_id,
                session_id,
            )
            if self._mask is not None and self._mask[0] == key:
                return self._mask[1]
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
        if key is not None:
            keep.flags.writeable = False
            self._mask = (key, keep)
        return keep

    def search(
        self, vector: npt.NDArray[np.float32], keep: npt.NDArray[np.bool_], limit: int
    ) -> list[tuple[str, float]]:
        return self.search_many(vector[None, :], keep, limit)[0]

    def search_many(
        self, vectors: npt.NDArray[np.float32], keep: npt.NDArray[np.bool_], limit: int
    ) -> list[list[tuple[str, float]]]:
        """The ``limit`` most similar allowed memories for each query vector.

        Scores are computed a block of stored vectors and a group of queries at a time,
        keeping a running top ``limit`` per query, so the work space stays within
        ``score_floats`` whatever the partition and the number of queries. Over more than
        ``exact_rows`` allowed memories, each query goes in two steps (sign codes, then
        exact cosine over the nearest candidates): approximate, and bounded in what it
        reads.
        """
        n = self.size
        keep = keep & self.has_vector[:n]
        if n == 0 or limit <= 0 or not keep.any():
            return [[] for _ in range(len(vectors))]
        allowed = int(keep.sum())
        if allowed > self.exact_rows:
            return [self._two_step(v, keep, limit) for v in vectors]
        k = min(limit, allowed)
        group = max(1, self.score_floats // min(n, self.block))
        out: list[list[tuple[str, float]]] = []
        for q in range(0, len(vectors), group):
            queries = vectors[q : q + group]
            best_at = np.zeros((len(queries), 0), dtype=np.int64)
            best = np.zeros((len(queries), 0), dtype=np.float32)
            for i, block in enumerate(self.blocks):
                start = i * self.block
                rows = min(len(block), n - start)
                if rows <= 0:
                    break
                scores = queries @ block[:rows].T
                scores[:, ~keep[start : start + rows]] = -np.inf
                if k < rows:
                    at = np.argpartition(-scores, k - 1, axis=1)[:, :k]
                    scores = np.take_along_axis(scores, at, axis=1)
                else:
                    at = np.broadcast_to(np.arange(rows), scores.shape)
                best_at = np.concatenate([best_at, at + start], axis=1)
                best = np.concatenate([best, scores], axis=1)
                if best.shape[1] > k:
                    top = np.argpartition(-best, k - 1, axis=1)[:, :k]
                    best_at = np.take_along_axis(best_at, top, axis=1)
                    best = np.take_along_axis(best, top, axis=1)
            for at_row, score_row in zip(best_at, best, strict=True):
                order = np.lexsort((self.rids[at_row], -score_row))  # ties: earlier written
                order = order[np.isfinite(score_row[order])][:k]
                out.append(self._pairs(at_row[order], score_row[order]))
        return out

    def _pairs(
        self, positions: npt.NDArray[np.int64], scores: npt.NDArray[Any]
    ) -> list[tuple[str, float]]:
        """``(memory id, score)`` for positions in the partition, converted in bulk."""
        return list(zip(self.ids[positions].tolist(), scores.tolist(), strict=True))

    def rank(
        self,
        rids: Sequence[int],
        scores: Sequence[float],
        keep: npt.NDArray[np.bool_],
        limit: int,
    ) -> list[tuple[str, float]]:
        """The ``limit`` best of scored memories (by rid) that pass the filters; a memory
        scored more than once gets the sum of its scores."""
        if not rids or limit <= 0:
            return []
        pos = self.pos
        at = np.fromiter((pos.get(r, -1) for r in rids), dtype=np.int64, count=len(rids))
        value = np.asarray(scores, dtype=np.float64)
        known = at >= 0
        known[known] = keep[at[known]]
        at, value = at[known], value[known]
        if len(at) == 0:
            return []
        # A memory scored twice (by two term groups) gets the sum.
        unique, inverse = np.unique(at, return_inverse=True)
        total = np.bincount(inverse, weights=value, minlength=len(unique))
        if len(unique) > limit:
            # Every memory tied with the limit-th score stays in for the tie break.
            cut = np.partition(-total, limit - 1)[limit - 1]
            chosen = np.flatnonzero(-total <= cut)
            unique, total = unique[chosen], total[chosen]
        # Ties go to the earlier written memory, whatever order the partition loaded in.
        order = np.lexsort((self.rids[unique], -total))[:limit]
        return self._pairs(unique[order], total[order])

    def _entity(self, entity_id: str) -> int:
        index = self.entity_index.get(entity_id)
        if index is None:
            index = self.entity_index[entity_id] = len(self.entity_ids)
            self.entity_ids.append(entity_id)
            self.postings.append(array("i"))
            self._entity_array = None
        return index

    def entity_array(self) -> npt.NDArray[np.object_]:
        """The entity ids as an array (built again only after new entities appear)."""
        if self._entity_array is None:
            self._entity_array = np.array(self.entity_ids, dtype=object)
        return self._entity_array

    def graph(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The memory-entity edges: (memory position, entity index) pairs."""
        if self._graph is None:
            counts, edge_e = self.linked(np.arange(self.size, dtype=np.int64))
            edge_m = np.repeat(np.arange(self.size, dtype=np.int64), counts)
            self._graph = (edge_m, edge_e)
        return self._graph

    def neighbourhood(
        self,
        seeds: Sequence[str],
        keep: npt.NDArray[np.bool_],
        hops: int,
        max_degree: int,
        max_memories: int,
    ) -> npt.NDArray[np.int64]:
        """Positions of the allowed memories within ``hops`` memory steps of the seeds.

        A step goes from an entity to the memories that mention it and on to their other
        entities; hubs (entities mentioned by more than ``max_degree`` memories) are not
        walked through, and once ``max_memories`` are reached no further entity is
        opened, the most specific (least mentioned) entities being opened first. The walk
        costs what the neighbourhood holds, not what the scope holds.
        """
        reached = np.zeros(self.size, dtype=bool)
        count = 0
        seen: set[int] = set()
        index = self.entity_index
        frontier = sorted({index[s] for s in seeds if s in index})
        postings = self.postings
        for hop in range(hops):
            if not frontier:
                break
            degree = np.fromiter(
                map(len, map(postings.__getitem__, frontier)), dtype=np.int64, count=len(frontier)
            )
            by_degree = np.argsort(degree, kind="stable")
            frontier = [frontier[i] for i in by_degree.tolist()]
            degree = degree[by_degree]
            seen.update(frontier)
            # Open entities, least mentioned first, while each is no hub and there is room
            # left before it; sorted by degree, every entity after the first refused is too.
            room_before = (max_memories - count) - (np.cumsum(degree) - degree)
            refused = np.flatnonzero((degree > max_degree) | (room_before <= 0))
            stop = int(refused[0]) if len(refused) else len(frontier)
            if stop == 0:
                break
            opened = array("i")
            for e in frontier[:stop]:
                opened += postings[e]
            hit = np.zeros(self.size, dtype=bool)
            hit[np.frombuffer(opened, dtype=np.int32)] = True
            fresh = np.flatnonzero(hit & keep[: self.size] & ~reached)
            reached[fresh] = True
            count += len(fresh)
            if hop == hops - 1 or len(fresh) == 0 or count >= max_memories:
                break
            # Entities of equal degree open in the order they were first mentioned.
            frontier = sorted(set(_distinct(self.linked(fresh)[1], len(self.entity_ids))) - seen)
        return np.flatnonzero(reached)


# Rows written since a sequence number, in batches (a large scope streams in, rather than
# being held twice while it loads).
Loader = Callable[[str, str, int], Iterable[Sequence[PartitionRow]]]


@dataclass(frozen=True, slots=True)
class GraphView:
    """The memory-entity graph of a scope, restricted to the memories a query allows.

    Attributes:
        memory_ids: Memory id of each memory node.
        entity_ids: Entity id of each entity node.
        edge_memory: Memory node of each edge.
        edge_entity: Entity node of each edge.
        seed_nodes: The entity nodes of the seeds asked for, ascending (``None`` when
            the view was not asked for seeds).
    """

    memory_ids: npt.NDArray[np.object_]
    entity_ids: npt.NDArray[np.object_]
    edge_memory: npt.NDArray[np.int64]
    edge_entity: npt.NDArray[np.int64]
    seed_nodes: npt.NDArray[np.int64] | None = None


class VectorCache:
    """Partitions by (tenant, user), kept within a row budget by evicting the least used.

    Args:
        dimension: Vector length.
        max_rows: Rows held across all partitions before the least recently used go.
        block: Rows per block of a partition's vector matrix.
        score_floats: Most similarity scores a search holds at once (it scores a block of
            vectors against a group of queries at a time).
        exact_rows: Most allowed memories a vector search scans exactly; over more, it
            rescores the ``candidates`` nearest by sign code.
        candidates: Candidates a two-step search rescores (at least 40 per hit).
    """

    def __init__(
        self,
        dimension: int,
        max_rows: int = 4_000_000,
        block: int = _BLOCK,
        score_floats: int = _SCORE_FLOATS,
        exact_rows: int = _EXACT_ROWS,
        candidates: int = _CANDIDATES,
    ) -> None:
        self.dimension = dimension
        self.max_rows = max_rows
        self.block = block
        self.score_floats = score_floats
        self.exact_rows = exact_rows
        self.candidates = candidates
        self._parts: OrderedDict[tuple[str, str], _Partition] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Drop every partition (they reload on the next search)."""
        with self._lock:
            self._parts.clear()

    def loaded_rows(self, tenant: str, user_id: str) -> int | None:
        """How many memories the scope's partition held when it last synced, or None when
        it is not loaded (a hint: it may be behind the store)."""
        with self._lock:
            part = self._parts.get((tenant, user_id))
            return None if part is None or part.epoch is None else part.size

    def _partition(self, tenant: str, user_id: str) -> _Partition:
        with self._lock:
            part = self._parts.get((tenant, user_id))
            if part is None:
                part = self._parts[(tenant, user_id)] = _Partition(
                    self.dimension,
                    self.block,
                    self.score_floats,
                    self.exact_rows,
                    self.candidates,
                )
            self._parts.move_to_end((tenant, user_id))
            total = sum(p.size for p in self._parts.values())
            while total > self.max_rows and len(self._parts) > 1:
                _, old = self._parts.popitem(last=False)
                total -= old.size
            return part

    def _synced(
        self, tenant: str, user_id: str, epoch: str, load: Loader, store_seq: int | None
    ) -> _Partition:
        part = self._partition(tenant, user_id)
        if part.epoch != epoch:
            part.reset()
            part.epoch = epoch
        elif store_seq is not None and part.store_seq == store_seq:
            return part  # nothing was written anywhere in the store since the last sync
        try:
            for rows in load(tenant, user_id, part.seq):
                part.apply(rows)
        except BaseException:
            # Rows of one write share a sequence number and may span batches: start over
            # next time rather than resume in the middle of one.
            part.reset()
            part.epoch = None
            raise
        part.store_seq = store_seq
        return part

    def search(
        self,
        tenant: str,
        user_id: str,
        *,
        epoch: str,
        load: Loader,
        store_seq: int | None = None,
        vector: npt.NDArray[np.float32],
        limit: int,
        **filters: Any,
    ) -> list[tuple[str, float]]:
        """Bring the partition up to date through ``load(tenant, user_id, since_seq)``,
        then return the ``limit`` most similar memories that pass the filters."""
        part = self._partition(tenant, user_id)
        with part.lock:
            part = self._synced(tenant, user_id, epoch, load, store_seq)
            keep = part.mask(**filters)
            return part.search(vector, keep, limit)

    def rank(
        self,
        tenant: str,
        user_id: str,
        *,
        epoch: str,
        load: Loader,
        store_seq: int | None = None,
        rids: Sequence[int],
        scores: Sequence[float],
        limit: int,
        **filters: Any,
    ) -> list[tuple[str, float]]:
        """Filter and rank memories scored elsewhere (by rid), best first: the partition
        serves as the scope's index of status, kind, validity and the like."""
        part = self._partition(tenant, user_id)
        with part.lock:
            part = self._synced(tenant, user_id, epoch, load, store_seq)
            return part.rank(rids, scores, part.mask(**filters), limit)

    def search_many(
        self,
        tenant: str,
        user_id: str,
        *,
        epoch: str,
        load: Loader,
        store_seq: int | None = None,
        vectors: npt.NDArray[np.float32],
        limit: int,
        **filters: Any,
    ) -> list[list[tuple[str, float]]]:
        """:meth:`search` for several query vectors at once (one sync, one matrix product)."""
        part = self._partition(tenant, user_id)
        with part.lock:
            part = self._synced(tenant, user_id, epoch, load, store_seq)
            return part.search_many(vectors, part.mask(**filters), limit)

    def graph(
        self,
        tenant: str,
        user_id: str,
        *,
        epoch: str,
        load: Loader,
        store_seq: int | None = None,
        seeds: Sequence[str] | None = None,
        hops: int = 2,
        max_degree: int = 2000,
        max_memories: int = 10_000,
        whole_below: int = 0,
        **filters: Any,
    ) -> GraphView:
        """The scope's memory-entity graph, edges of filtered-out memories dropped.

        With ``seeds``, only the neighbourhood within ``hops`` memory steps of them (see
        :meth:`_Partition.neighbourhood`): at most about ``max_memories`` memories, walked
        through entities mentioned by at most ``max_degree`` memories (a hub such as a
        speaker's own name links everything and says little), renumbered so that a walk
        over it costs what the neighbourhood holds rather than what the scope holds. A
        scope of at most ``whole_below`` memories is returned whole, with the seeds' nodes:
        finding a neighbourhood there costs more than a walk over the whole scope saves.
        """
        part = self._partition(tenant, user_id)
        with part.lock:
            part = self._synced(tenant, user_id, epoch, load, store_seq)
            keep = part.mask(**filters)
            # The seeds' entity nodes in the scope's numbering, ascending.
            wanted = None
            if seeds is not None:
                index = part.entity_index
                wanted = np.array(sorted({index[s] for s in seeds if s in index}), dtype=np.int64)
            if seeds is not None and wanted is not None and part.size > whole_below:
                positions = part.neighbourhood(seeds, keep, hops, max_degree, max_memories)
                counts, linked = part.linked(positions)
                edge_m = np.repeat(np.arange(len(positions), dtype=np.int64), counts)
                used, edge_e = _renumber(linked, len(part.entity_ids))
                at = np.searchsorted(used, wanted)
                found = at < len(used)
                found[found] = used[at[found]] == wanted[found]
                return GraphView(
                    memory_ids=part.ids[positions],
                    entity_ids=part.entity_array()[used],
                    edge_memory=edge_m,
                    edge_entity=edge_e.astype(np.int64, copy=False),
                    seed_nodes=at[found],
                )
            edge_m, edge_e = part.graph()
            active = keep[edge_m] if len(edge_m) else np.zeros(0, dtype=bool)
            return GraphView(
                memory_ids=part.ids[: part.size].copy(),
                entity_ids=part.entity_array().copy(),
                edge_memory=edge_m[active],
                edge_entity=edge_e[active],
                seed_nodes=wanted,
            )
