"""An exact in-process copy of the local Qdrant collection, for fast filtered search in local mode.

qdrant-client's local mode evaluates filters in Python one point at a time (about 150 ms for a
namespace filter at 10k points). Local mode locks its directory to one process, so that process
sees every write and can keep this copy exact. It is partitioned by namespace, as every search is:
one shard per namespace holds rows of unit vectors, the payload columns that filters use (kinds as
small integer codes, tags as row sets) and posting lists of lexical terms, so a recall scans its own
namespace's memories, not every memory in the collection. A search is one matrix-vector product over
the shard, a few vectorised comparisons, and one scatter-add per query term. IDF is counted over the
whole collection, as Qdrant's IDF modifier counts it, so both modes score alike.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController

from sophia.kit.embeddings import Vectors
from sophia.memory import lexical
from sophia.memory.fusion import Hit, Weights, without_average
from sophia.memory.records import KINDS, Record
from sophia.memory.screening import Codes

Mask = npt.NDArray[np.bool_]
#: From this many rows a search screens with int8 codes first (screening.py): below it one exact pass is as fast.
SCREEN_FROM_ROWS = 20_000


@dataclass(frozen=True)
class Filter:
    """Which memories a search may return: always exactly one namespace."""

    namespace: str
    kinds: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()  # any of them
    since: float | None = None
    until: float | None = None
    include_superseded: bool = False


@dataclass(frozen=True)
class Query:
    """One recall's question in every form a ranking needs."""

    vector: Vectors
    terms: lexical.Terms
    period: tuple[float, float] | None = None  # event times the question names: a third signal
    depth: int = 100  # how many candidates each signal brings (a Qdrant server; the local index scores all)
    focused: Vectors | None = None  # the question with its names left out (ranking.py): each hit's `focus`


class LocalIndex:
    """The collection's memories, one shard per namespace."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._shards: dict[str, _Shard] = {}
        self._namespace_of: dict[str, str] = {}  # memory id -> its namespace
        self._documents: Counter[int] = Counter()  # term -> memories holding it, in every namespace

    def __len__(self) -> int:
        return len(self._namespace_of)

    def get(self, memory_id: str) -> Record | None:
        namespace = self._namespace_of.get(memory_id)
        return None if namespace is None else self._shards[namespace].get(memory_id)

    def namespaces(self) -> set[str]:
        return {name for name, shard in self._shards.items() if len(shard)}

    def has_namespace(self, namespace: str) -> bool:
        shard = self._shards.get(namespace)
        return shard is not None and len(shard) > 0

    def put(self, record: Record, vector: Vectors | None = None, terms: lexical.Terms | None = None) -> None:
        """Insert or replace a record; `vector` and `terms` may be omitted when only the payload changed
        (a memory's text and namespace never change)."""
        known = self._namespace_of.get(record.id)
        if known is not None and known != record.namespace:
            raise ValueError(f"memory {record.id} belongs to namespace {known!r}")
        shard = self._shards.get(record.namespace)
        if shard is None:
            shard = self._shards[record.namespace] = _Shard(self.dimensions)
        if known is None:
            if vector is None or terms is None:
                raise KeyError(record.id)
            self._documents.update(terms.indices)
            self._namespace_of[record.id] = record.namespace
        shard.put(record, vector, terms)

    def remove(self, memory_id: str) -> None:
        namespace = self._namespace_of.pop(memory_id, None)
        if namespace is None:
            return
        terms = self._shards[namespace].remove(memory_id)
        self._documents.subtract(terms.indices)
        for term in terms.indices:
            if self._documents[term] <= 0:
                del self._documents[term]

    def mask(self, where: Filter) -> Mask:
        """Which rows of the namespace's shard pass the filter (empty for a namespace never written)."""
        shard = self._shards.get(where.namespace)
        return shard.mask(where) if shard is not None else np.zeros(0, dtype=bool)

    def search(self, query: Query, where: Filter, limit: int, weights: Weights) -> list[Hit]:
        """The `limit` best memories by fused score (see fusion.py), every filtered row scored exactly."""
        shard = self._shards.get(where.namespace)
        if shard is None:
            return []
        return shard.search(query, where, limit, weights, self.idf)

    def idf(self, term: int) -> float:
        """Qdrant's IDF of a term, over every namespace (as a server's IDF modifier counts)."""
        return lexical.idf(len(self), self._documents[term])

    def lexical_scores(self, terms: lexical.Terms, namespace: str) -> npt.NDArray[np.float64]:
        """BM25 of every row of the namespace's shard."""
        shard = self._shards.get(namespace)
        return shard.lexical_scores(terms, self.idf) if shard is not None else np.zeros(0)

    def average(self, namespace: str) -> tuple[Vectors, int] | None:
        """The mean of the namespace's vectors and how many there are (see fusion.py); None when empty."""
        shard = self._shards.get(namespace)
        return shard.average() if shard is not None else None

    def vectors_of(self, where: Filter) -> tuple[list[Record], Vectors]:
        shard = self._shards.get(where.namespace)
        if shard is None:
            return [], np.zeros((0, self.dimensions), dtype=np.float32)
        return shard.vectors_of(where)


class _Shard:
    """One namespace's memories: vectors, filter columns and posting lists, row by row."""

    def __init__(self, dimensions: int, capacity: int = 64) -> None:
        self.dimensions = dimensions
        self.records: list[Record] = []
        self._rows: dict[str, int] = {}
        self._tag_rows: defaultdict[str, set[int]] = defaultdict(set)
        self._vectors: Vectors = np.zeros((capacity, dimensions), dtype=np.float32)
        self._codes = Codes(dimensions, capacity)  # int8 copies: the first pass of a large namespace's search
        self._sum = np.zeros(dimensions)  # of the rows' vectors: the namespace's average (see fusion.py)
        self._kind = np.zeros(capacity, dtype=np.int8)
        self._created = np.zeros(capacity, dtype=np.float64)
        self._current = np.zeros(capacity, dtype=bool)
        self._event = np.zeros(capacity, dtype=np.float64)
        self._terms: list[lexical.Terms] = []
        self._postings: defaultdict[int, dict[int, float]] = defaultdict(dict)  # term -> row -> tf weight
        self._posting_arrays: dict[int, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]] = {}

    def __len__(self) -> int:
        return len(self.records)

    def get(self, memory_id: str) -> Record | None:
        row = self._rows.get(memory_id)
        return None if row is None else self.records[row]

    def put(self, record: Record, vector: Vectors | None, terms: lexical.Terms | None) -> None:
        row = self._rows.get(record.id)
        if row is None:
            assert vector is not None and terms is not None  # LocalIndex.put checked
            row = len(self.records)
            self._grow(row + 1)
            self.records.append(record)
            self._terms.append(terms)
            self._post(row, terms)
            self._rows[record.id] = row
        else:
            self._untag(self.records[row], row)
            self.records[row] = record
            if vector is not None:
                self._sum -= self._vectors[row]
        if vector is not None:
            self._vectors[row] = vector
            self._codes.set(row, vector)
            self._sum += vector
        self._kind[row] = KINDS.index(record.kind)
        self._created[row] = record.created_at
        self._current[row] = record.current
        self._event[row] = record.event_at
        for tag in record.tags:
            self._tag_rows[tag].add(row)

    def remove(self, memory_id: str) -> lexical.Terms:
        """Drop a row by moving the last row into its place; the removed row's terms."""
        row = self._rows.pop(memory_id)
        record, terms = self.records[row], self._terms[row]
        self._sum -= self._vectors[row]
        self._untag(record, row)
        self._unpost(row, terms)
        last = len(self.records) - 1
        if row != last:
            moved = self.records[last]
            self._untag(moved, last)
            self._unpost(last, self._terms[last])
            self.records[row] = moved
            self._terms[row] = self._terms[last]
            self._rows[moved.id] = row
            for column in (self._vectors, self._kind, self._created, self._current, self._event):
                column[row] = column[last]
            self._codes.move(last, row)
            for tag in moved.tags:
                self._tag_rows[tag].add(row)
            self._post(row, self._terms[row])
        self.records.pop()
        self._terms.pop()
        return terms

    def mask(self, where: Filter) -> Mask:
        n = len(self.records)
        mask: Mask = np.ones(n, dtype=bool) if where.include_superseded else self._current[:n].copy()
        if where.kinds:
            mask &= np.isin(self._kind[:n], [KINDS.index(kind) for kind in where.kinds])
        if where.since is not None:
            mask &= self._created[:n] >= where.since
        if where.until is not None:
            mask &= self._created[:n] <= where.until
        if where.tags:
            tagged = np.zeros(n, dtype=bool)
            for tag in where.tags:
                tagged[list(self._tag_rows.get(tag, ()))] = True
            mask &= tagged
        return mask

    def search(
        self, query: Query, where: Filter, limit: int, weights: Weights, idf: Callable[[int], float]
    ) -> list[Hit]:
        rows = np.flatnonzero(self.mask(where))
        if rows.size == 0:
            return []
        n = len(self.records)
        # Taking the namespace's average out of the query takes it out of every memory's score at once.
        vector, offset = without_average(query.vector, self.average(), weights.generic)
        bm25 = self.lexical_scores(query.terms, idf)[rows]
        top_bm25 = bm25.max()
        relative = bm25 / top_bm25 if top_bm25 > 0 else bm25
        inside = np.zeros(rows.size, dtype=bool)
        if query.period is not None:
            event = self._event[rows]
            inside = (event >= query.period[0]) & (event < query.period[1])
        asked = query.period is not None
        total = (weights.dense + weights.lexical + (weights.time if asked else 0.0)) or 1.0
        if rows.size > max(limit, SCREEN_FROM_ROWS):
            rest = (weights.lexical * relative + weights.time * inside) / total
            kept = self._screen(vector, offset, rows, rest, weights.dense / total, limit)
            rows, relative, inside = rows[kept], relative[kept], inside[kept]
            # One BLAS thread, as below; the candidates are few, so gathering their vectors costs little.
            with _blas().limit(limits=1, user_api="blas"):
                dense = (self._vectors[rows] @ vector).astype(np.float64) + offset
        else:
            # Score every row in place and pick the filtered ones after: gathering the rows' vectors
            # first would copy them (15 MB at 10k) on every search. One BLAS thread: a second one must wait
            # for a free core (on 2 cores the model and the event loop hold them), which cost 14-44 ms p95 on
            # a 2k-row namespace, and it spins afterwards.
            with _blas().limit(limits=1, user_api="blas"):
                dense = (self._vectors[:n] @ vector)[rows].astype(np.float64) + offset
        fused = (weights.dense * dense + weights.lexical * relative + weights.time * inside) / total
        top = _top(fused, limit)
        found = self._vectors[rows[top]]
        similarity = found @ query.vector
        focus = found @ query.focused if query.focused is not None else similarity
        return [
            Hit(self.records[rows[i]], float(fused[i]), float(cosine), float(relative[i]), float(dense[i]), float(f))
            for i, cosine, f in zip(top, similarity, focus, strict=True)
        ]

    def _screen(
        self,
        vector: Vectors,
        offset: float,
        rows: npt.NDArray[np.int64],
        rest: npt.NDArray[np.float64],
        dense_weight: float,
        limit: int,
    ) -> npt.NDArray[np.int64]:
        """Positions in `rows` that may be among the `limit` best: every row whose highest possible fused
        score (its int8 estimate plus the bound on its error) reaches the `limit`-th best lowest possible one.
        `rest` is each row's fused score less its dense part; the dense part is exact for the rows kept."""
        estimate, bound = self._codes.estimate(vector, len(self.records))
        estimate64 = estimate[rows].astype(np.float64) + offset
        bound64 = bound[rows].astype(np.float64)
        lowest = dense_weight * (estimate64 - bound64) + rest
        highest = dense_weight * (estimate64 + bound64) + rest
        floor = np.partition(lowest, -limit)[-limit]
        return np.flatnonzero(highest >= floor)

    def average(self) -> tuple[Vectors, int] | None:
        count = len(self.records)
        return ((self._sum / count).astype(np.float32), count) if count else None

    def lexical_scores(self, terms: lexical.Terms, idf: Callable[[int], float]) -> npt.NDArray[np.float64]:
        """BM25 of every row: only the query's terms' posting lists are touched."""
        scores = np.zeros(len(self.records))
        for term, weight in zip(terms.indices, terms.values, strict=True):
            if term not in self._postings:
                continue
            rows, tf = self._posting_array(term)
            scores[rows] += weight * idf(term) * tf
        return scores

    def vectors_of(self, where: Filter) -> tuple[list[Record], Vectors]:
        rows = np.flatnonzero(self.mask(where))
        return [self.records[r] for r in rows], self._vectors[rows].copy()

    def _post(self, row: int, terms: lexical.Terms) -> None:
        for term, weight in zip(terms.indices, terms.values, strict=True):
            self._postings[term][row] = weight
            self._posting_arrays.pop(term, None)

    def _unpost(self, row: int, terms: lexical.Terms) -> None:
        for term in terms.indices:
            posting = self._postings[term]
            posting.pop(row, None)
            if not posting:
                del self._postings[term]
            self._posting_arrays.pop(term, None)

    def _posting_array(self, term: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """A term's posting list as arrays, rebuilt only after the term's rows changed."""
        cached = self._posting_arrays.get(term)
        if cached is None:
            posting = self._postings[term]
            cached = (np.fromiter(posting.keys(), np.int64, len(posting)), np.fromiter(posting.values(), np.float64))
            self._posting_arrays[term] = cached
        return cached

    def _untag(self, record: Record, row: int) -> None:
        for tag in record.tags:
            rows = self._tag_rows[tag]
            rows.discard(row)
            if not rows:
                del self._tag_rows[tag]

    def _grow(self, size: int) -> None:
        capacity = len(self._created)
        if size <= capacity:
            return
        capacity = max(size, capacity * 2)
        self._vectors = np.resize(self._vectors, (capacity, self.dimensions))
        self._kind = np.resize(self._kind, capacity)
        self._created = np.resize(self._created, capacity)
        self._current = np.resize(self._current, capacity)
        self._event = np.resize(self._event, capacity)
        self._codes.resize(capacity)


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    """The process's BLAS libraries, found once (finding them takes milliseconds; a limit takes ~20 µs)."""
    return ThreadpoolController()


def _top(scores: npt.NDArray[np.floating], limit: int) -> npt.NDArray[np.int64]:
    """Positions of the `limit` highest scores, best first."""
    if scores.size <= limit:
        return np.argsort(-scores, kind="stable")
    top = np.argpartition(-scores, limit)[:limit]
    return top[np.argsort(-scores[top], kind="stable")]
