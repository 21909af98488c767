"""An exact in-process copy of the local Qdrant collection, for fast filtered search in local mode.

qdrant-client's local mode evaluates filters in Python one point at a time (about 150 ms for a
namespace filter at 10k points). Local mode locks its directory to one process, so that process
sees every write and can keep this copy exact: rows of unit vectors plus the payload columns that
filters use (namespaces and kinds as small integer codes, tags as row sets). A search is one
matrix-vector product and a few vectorised comparisons.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sophia.kit.embeddings import Vectors
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


class LocalIndex:
    def __init__(self, dimensions: int, capacity: int = 64) -> None:
        self.dimensions = dimensions
        self.records: list[Record] = []
        self._rows: dict[str, int] = {}
        self._codes: dict[str, int] = {}  # namespace -> code in the namespace column
        self._per_namespace: Counter[str] = Counter()
        self._tag_rows: defaultdict[str, set[int]] = defaultdict(set)
        self._vectors: Vectors = np.zeros((capacity, dimensions), dtype=np.float32)
        self._namespace = np.zeros(capacity, dtype=np.int32)
        self._kind = np.zeros(capacity, dtype=np.int8)
        self._created = np.zeros(capacity, dtype=np.float64)
        self._current = np.zeros(capacity, dtype=bool)

    def __len__(self) -> int:
        return len(self.records)

    def get(self, memory_id: str) -> Record | None:
        row = self._rows.get(memory_id)
        return None if row is None else self.records[row]

    def namespaces(self) -> set[str]:
        return {name for name, count in self._per_namespace.items() if count > 0}

    def has_namespace(self, namespace: str) -> bool:
        return self._per_namespace[namespace] > 0

    def put(self, record: Record, vector: Vectors | None = None) -> None:
        """Insert or replace a record; `vector` may be omitted when only the payload changed."""
        row = self._rows.get(record.id)
        if row is None:
            if vector is None:
                raise KeyError(record.id)
            row = len(self.records)
            self._grow(row + 1)
            self.records.append(record)
            self._rows[record.id] = row
            self._per_namespace[record.namespace] += 1
        else:
            self._untag(self.records[row], row)
            self.records[row] = record
        if vector is not None:
            self._vectors[row] = vector
        self._namespace[row] = self._codes.setdefault(record.namespace, len(self._codes))
        self._kind[row] = KINDS.index(record.kind)
        self._created[row] = record.created_at
        self._current[row] = record.current
        for tag in record.tags:
            self._tag_rows[tag].add(row)

    def remove(self, memory_id: str) -> None:
        """Drop a row by moving the last row into its place."""
        row = self._rows.pop(memory_id, None)
        if row is None:
            return
        record = self.records[row]
        self._per_namespace[record.namespace] -= 1
        self._untag(record, row)
        last = len(self.records) - 1
        if row != last:
            moved = self.records[last]
            self._untag(moved, last)
            self.records[row] = moved
            self._rows[moved.id] = row
            for column in (self._vectors, self._namespace, self._kind, self._created, self._current):
                column[row] = column[last]
            for tag in moved.tags:
                self._tag_rows[tag].add(row)
        self.records.pop()

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

    def search(self, query: Vectors, where: Filter, limit: int) -> list[tuple[Record, float]]:
        rows = np.flatnonzero(self.mask(where))
        if rows.size == 0:
            return []
        # Score every row in place and pick the filtered ones after: gathering the rows' vectors
        # first would copy them (15 MB at 10k) on every search.
        scores = (self._vectors[: len(self.records)] @ query)[rows]
        top = np.argsort(-scores)[:limit] if rows.size <= limit else np.argpartition(-scores, limit)[:limit]
        top = top[np.argsort(-scores[top])]
        return [(self.records[rows[i]], float(scores[i])) for i in top]

    def vectors_of(self, where: Filter) -> tuple[list[Record], Vectors]:
        rows = np.flatnonzero(self.mask(where))
        return [self.records[r] for r in rows], self._vectors[rows].copy()

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
