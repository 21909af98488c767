"""An exact in-process copy of the local Qdrant collection, for fast filtered search in local mode.

qdrant-client's local mode evaluates filters in Python one point at a time (about 150 ms for a
namespace filter at 10k points). Local mode locks its directory to one process, so that process
sees every write and can keep this copy exact: rows of unit vectors plus the payload columns that
filters use (namespaces and kinds as small integer codes, tags as row sets), and posting lists of
lexical terms. A search is one matrix-vector product, a few vectorised comparisons, and one
scatter-add per query term.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sophia.kit.embeddings import Vectors
from sophia.memory import lexical
from sophia.memory.fusion import Hit, Weights, without_average
from sophia.memory.records import KINDS, Record

Mask = npt.NDArray[np.bool_]


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


class LocalIndex:
    def __init__(self, dimensions: int, capacity: int = 64) -> None:
        self.dimensions = dimensions
        self.records: list[Record] = []
        self._rows: dict[str, int] = {}
        self._codes: dict[str, int] = {}  # namespace -> code in the namespace column
        self._per_namespace: Counter[str] = Counter()
        self._sums: defaultdict[int, npt.NDArray[np.float64]] = defaultdict(lambda: np.zeros(dimensions))  # by code
        self._tag_rows: defaultdict[str, set[int]] = defaultdict(set)
        self._vectors: Vectors = np.zeros((capacity, dimensions), dtype=np.float32)
        self._namespace = np.zeros(capacity, dtype=np.int32)
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

    def namespaces(self) -> set[str]:
        return {name for name, count in self._per_namespace.items() if count > 0}

    def has_namespace(self, namespace: str) -> bool:
        return self._per_namespace[namespace] > 0

    def put(self, record: Record, vector: Vectors | None = None, terms: lexical.Terms | None = None) -> None:
        """Insert or replace a record; `vector` and `terms` may be omitted when only the payload changed
        (a memory's text never changes)."""
        row = self._rows.get(record.id)
        if row is None:
            if vector is None or terms is None:
                raise KeyError(record.id)
            row = len(self.records)
            self._grow(row + 1)
            self.records.append(record)
            self._terms.append(terms)
            self._post(row, terms)
            self._rows[record.id] = row
            self._per_namespace[record.namespace] += 1
        else:
            self._untag(self.records[row], row)
            self.records[row] = record
            if vector is not None:
                self._sums[int(self._namespace[row])] -= self._vectors[row]
        code = self._codes.setdefault(record.namespace, len(self._codes))
        if vector is not None:
            self._vectors[row] = vector
            self._sums[code] += vector
        self._namespace[row] = code
        self._kind[row] = KINDS.index(record.kind)
        self._created[row] = record.created_at
        self._current[row] = record.current
        self._event[row] = record.event_at
        for tag in record.tags:
            self._tag_rows[tag].add(row)

    def remove(self, memory_id: str) -> None:
        """Drop a row by moving the last row into its place."""
        row = self._rows.pop(memory_id, None)
        if row is None:
            return
        record = self.records[row]
        self._per_namespace[record.namespace] -= 1
        self._sums[int(self._namespace[row])] -= self._vectors[row]
        self._untag(record, row)
        self._unpost(row, self._terms[row])
        last = len(self.records) - 1
        if row != last:
            moved = self.records[last]
            self._untag(moved, last)
            self._unpost(last, self._terms[last])
            self.records[row] = moved
            self._terms[row] = self._terms[last]
            self._rows[moved.id] = row
            for column in (self._vectors, self._namespace, self._kind, self._created, self._current, self._event):
                column[row] = column[last]
            for tag in moved.tags:
                self._tag_rows[tag].add(row)
            self._post(row, self._terms[row])
        self.records.pop()
        self._terms.pop()

    def mask(self, where: Filter) -> Mask:
        n = len(self.records)
        code = self._codes.get(where.namespace)
        if code is None:
            return np.zeros(n, dtype=bool)
        mask: Mask = self._namespace[:n] == code
        if not where.include_superseded:
            mask &= self._current[:n]
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

    def search(self, query: Query, where: Filter, limit: int, weights: Weights) -> list[Hit]:
        """The `limit` best rows by fused score (see fusion.py), every filtered row scored exactly."""
        rows = np.flatnonzero(self.mask(where))
        if rows.size == 0:
            return []
        n = len(self.records)
        # Taking the namespace's average out of the query takes it out of every memory's score at once.
        vector, offset = without_average(query.vector, self.average(where.namespace), weights.generic)
        # Score every row in place and pick the filtered ones after: gathering the rows' vectors
        # first would copy them (15 MB at 10k) on every search.
        dense = (self._vectors[:n] @ vector)[rows].astype(np.float64) + offset
        bm25 = self.lexical_scores(query.terms)[rows]
        top_bm25 = bm25.max()
        relative = bm25 / top_bm25 if top_bm25 > 0 else bm25
        inside = np.zeros(rows.size, dtype=bool)
        if query.period is not None:
            event = self._event[rows]
            inside = (event >= query.period[0]) & (event < query.period[1])
        asked = query.period is not None
        total = weights.dense + weights.lexical + (weights.time if asked else 0.0)
        fused = (weights.dense * dense + weights.lexical * relative + weights.time * inside) / (total or 1.0)
        top = _top(fused, limit)
        similarity = self._vectors[rows[top]] @ query.vector
        return [
            Hit(self.records[rows[i]], float(fused[i]), float(cosine), float(relative[i]), float(dense[i]))
            for i, cosine in zip(top, similarity, strict=True)
        ]

    def average(self, namespace: str) -> tuple[Vectors, int] | None:
        """The mean of the namespace's vectors and how many there are (see fusion.py); None for an empty
        namespace."""
        code = self._codes.get(namespace)
        count = self._per_namespace[namespace]
        if code is None or not count:
            return None
        return (self._sums[code] / count).astype(np.float32), count

    def lexical_scores(self, terms: lexical.Terms) -> npt.NDArray[np.float64]:
        """BM25 of every row, with IDF over the whole collection (as Qdrant's IDF modifier computes it)."""
        n = len(self.records)
        scores = np.zeros(n)
        for term, weight in zip(terms.indices, terms.values, strict=True):
            posting = self._postings.get(term)
            if not posting:
                continue
            rows, tf = self._posting_array(term)
            scores[rows] += weight * lexical.idf(n, len(posting)) * tf
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
        self._namespace = np.resize(self._namespace, capacity)
        self._kind = np.resize(self._kind, capacity)
        self._created = np.resize(self._created, capacity)
        self._current = np.resize(self._current, capacity)
        self._event = np.resize(self._event, capacity)


def _top(scores: npt.NDArray[np.floating], limit: int) -> npt.NDArray[np.int64]:
    """Positions of the `limit` highest scores, best first."""
    if scores.size <= limit:
        return np.argsort(-scores, kind="stable")
    top = np.argpartition(-scores, limit)[:limit]
    return top[np.argsort(-scores[top], kind="stable")]
