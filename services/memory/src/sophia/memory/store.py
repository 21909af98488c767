"""Long-term memories in Qdrant: a server when configured, else local mode on disk.

Every call into qdrant-client runs in a worker thread (local mode is synchronous Python; the server
client is used the same way for one code path). Every read and search filters on the namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from typing import Any, TypeVar

import numpy as np
from qdrant_client import QdrantClient, models

from sophia.kit.embeddings import Vectors
from sophia.memory import lexical
from sophia.memory.fusion import Hit, Weights, without_average
from sophia.memory.index import Filter, LocalIndex, Query
from sophia.memory.records import Record
from sophia.memory.settings import MemorySettings

logger = logging.getLogger("sophia.memory")
T = TypeVar("T")

# Payload fields that filters use. Qdrant's local mode ignores indexes; a server needs them to filter
# without scanning.
INDEXES: dict[str, models.PayloadSchemaType] = {
    "namespace": models.PayloadSchemaType.KEYWORD,
    "kind": models.PayloadSchemaType.KEYWORD,
    "tags": models.PayloadSchemaType.KEYWORD,
    "current": models.PayloadSchemaType.BOOL,
    "created_at": models.PayloadSchemaType.FLOAT,
    "event_at": models.PayloadSchemaType.FLOAT,
}
SCROLL_PAGE = 1000
# On a Qdrant server a namespace's average vector (see fusion.py) is the mean of up to this many of its
# vectors, kept this long: it moves slowly as memories are added, and other replicas write too.
DIRECTION_SAMPLE = 1000
DIRECTION_TTL_S = 60.0
DENSE = ""  # the collection's unnamed dense vector
SPARSE = "text"  # BM25 term weights; Qdrant multiplies in IDF (Modifier.IDF)


class _Deferred:
    """qdrant-client's local mode commits (and so fsyncs) its SQLite file once per point, in a `with
    connection:` block around each point's row: 20 ms a point on a busy disk, 99% of a bulk write's time.
    While one write request runs, this stands in for that connection: the per-point blocks neither commit
    nor roll back, and the request's own transaction (`Store._one_transaction`) does either once."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __enter__(self) -> _Deferred:
        return self

    def __exit__(self, *exc: object) -> None:
        return None  # an exception propagates to the request's transaction, which rolls back


def qdrant_filter(where: Filter) -> models.Filter:
    must: list[models.Condition] = [
        models.FieldCondition(key="namespace", match=models.MatchValue(value=where.namespace))
    ]
    if not where.include_superseded:
        must.append(models.FieldCondition(key="current", match=models.MatchValue(value=True)))
    if where.kinds:
        must.append(models.FieldCondition(key="kind", match=models.MatchAny(any=sorted(where.kinds))))
    if where.tags:
        must.append(models.FieldCondition(key="tags", match=models.MatchAny(any=sorted(where.tags))))
    if where.since is not None or where.until is not None:
        must.append(models.FieldCondition(key="created_at", range=models.Range(gte=where.since, lte=where.until)))
    return models.Filter(must=must)


def in_period(where: Filter, period: tuple[float, float]) -> models.Filter:
    base = qdrant_filter(where)
    window = models.FieldCondition(key="event_at", range=models.Range(gte=period[0], lt=period[1]))
    return models.Filter(must=[*(base.must or []), window])


def dense_of(stored: Any) -> Vectors | None:
    """A point's dense vector as asked with `with_vector=[DENSE]`: local mode answers the list alone, a
    server may answer it by name."""
    if isinstance(stored, dict):
        stored = stored.get(DENSE)
    return np.asarray(stored, np.float32) if isinstance(stored, list) and stored else None


class Store:
    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        dimensions: int,
        index: LocalIndex | None,
        server: bool = False,
        avg_length: float = 8.0,
    ) -> None:
        self._client = client
        self.server = server
        self._collection = collection
        self.dimensions = dimensions
        self.index = index
        self.avg_length = avg_length
        self._directions: dict[str, tuple[float, tuple[Vectors, int] | None]] = {}  # server: namespace -> (when, mean)
        # Writes go one at a time in this process: supersede and forget read a record, then rewrite it,
        # and qdrant-client's local mode is not safe for concurrent writers.
        self.writes = asyncio.Lock()

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(partial(fn, *args, **kwargs))

    async def _write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A write request, committed to local mode's file once (all of it or, on failure, none of it)."""
        return await self._call(self._in_one_transaction, partial(fn, *args, **kwargs))

    def _in_one_transaction(self, write: Callable[[], Any]) -> Any:
        with self._one_transaction():
            return write()

    def local_file(self) -> Any:
        """Local mode's SQLite persistence of this collection (qdrant-client internals), or None: a server,
        an in-memory collection, or a qdrant-client whose internals moved (writes then commit per point,
        slower but as safe; tests/test_store.py fails on such an upgrade so it is noticed)."""
        collections = getattr(getattr(self._client, "_client", None), "collections", None)
        if not isinstance(collections, dict) or self._collection not in collections:
            return None
        storage = getattr(collections[self._collection], "storage", None)
        return storage if hasattr(getattr(storage, "storage", None), "commit") else None

    @contextlib.contextmanager
    def _one_transaction(self) -> Iterator[None]:
        # Safe because every write holds self.writes, and local mode's reads are served from memory.
        storage = self.local_file()
        if storage is None:
            yield
            return
        connection = storage.storage
        storage.storage = _Deferred(connection)
        try:
            with connection:  # sqlite3: commit on leaving, roll back on an exception
                yield
        finally:
            storage.storage = connection

    async def ensure_collection(self) -> None:
        if not await self._call(self._client.collection_exists, self._collection):
            params = models.VectorParams(size=self.dimensions, distance=models.Distance.COSINE)
            sparse = {SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)}
            await self._call(
                self._client.create_collection, self._collection, vectors_config=params, sparse_vectors_config=sparse
            )
        info = await self._call(self._client.get_collection, self._collection)
        size = info.config.params.vectors.size
        if size != self.dimensions:
            # Vectors of two models cannot be compared: nothing is converted or overwritten on the quiet.
            raise RuntimeError(
                f"collection {self._collection} holds {size}-d vectors; the embedder makes {self.dimensions}-d "
                "ones (another embedding model?): set SOPHIA_MEMORY_COLLECTION to a new name, or delete the old "
                "collection to re-import its memories"
            )
        if SPARSE not in (info.config.params.sparse_vectors or {}):
            # Qdrant cannot add a sparse vector to an existing collection: its points would lack one.
            raise RuntimeError(
                f"collection {self._collection} was made before hybrid recall and has no {SPARSE!r} sparse vectors; "
                "set SOPHIA_MEMORY_COLLECTION to a new name (or delete the old collection)"
            )
        if self.server:
            # Local mode ignores payload indexes (and warns); a server needs them to filter without a scan.
            for field_name, schema in INDEXES.items():
                await self._call(self._client.create_payload_index, self._collection, field_name, field_schema=schema)

    async def load_index(self) -> None:
        """Fill the local index from the collection (local mode, at start)."""
        if self.index is None:
            return
        offset = None
        while True:
            points, offset = await self._call(
                self._client.scroll, self._collection, limit=SCROLL_PAGE, offset=offset, with_vectors=True
            )
            for point in points:
                record = Record.from_payload(point.id, point.payload or {})
                vectors: Any = point.vector
                self.index.put(record, np.asarray(vectors[DENSE], np.float32), self.terms(record.text))
            if offset is None:
                break

    def terms(self, text: str) -> lexical.Terms:
        return lexical.document(text, self.avg_length)

    def _point(self, record: Record, vector: Vectors, terms: lexical.Terms) -> models.PointStruct:
        sparse = models.SparseVector(indices=terms.indices, values=terms.values)
        vectors: dict[str, Any] = {DENSE: vector.tolist(), SPARSE: sparse}
        return models.PointStruct(id=record.id, vector=vectors, payload=record.payload())

    async def add(self, record: Record, vector: Vectors, supersedes: Record | None = None) -> None:
        """Store `record`; when it supersedes another, mark that one in the same request."""
        terms = self.terms(record.text)
        operations: list[Any] = [
            models.UpsertOperation(upsert=models.PointsList(points=[self._point(record, vector, terms)]))
        ]
        old: Record | None = None
        if supersedes is not None:
            old = supersedes.model_copy(update={"superseded_by": record.id, "superseded_at": record.created_at})
            operations.append(self._set_payload(old))
        try:
            await self._write(self._client.batch_update_points, self._collection, operations, wait=True)
        except Exception:
            # Nothing half-way: if the batch failed after the upsert, take the new point back out.
            await self._write(self._delete_points, [record.id])
            raise
        if self.index is not None:
            self.index.put(record, vector, terms)
            if old is not None:
                self.index.put(old)

    async def add_many(self, records: list[Record], vectors: Vectors) -> None:
        """Store new records (none supersedes another) in one upsert: all of them or, on failure, none."""
        terms = [self.terms(r.text) for r in records]
        points = [self._point(r, v, t) for r, v, t in zip(records, vectors, terms, strict=True)]
        try:
            await self._write(self._client.upsert, self._collection, points, wait=True)
        except Exception:
            await self._write(self._delete_points, [r.id for r in records])
            raise
        if self.index is not None:
            for record, vector, record_terms in zip(records, vectors, terms, strict=True):
                self.index.put(record, vector, record_terms)

    async def get(self, namespace: str, memory_id: str) -> Record | None:
        if self.index is not None:
            record = self.index.get(memory_id)
        else:
            points = await self._call(self._client.retrieve, self._collection, [memory_id])
            record = Record.from_payload(points[0].id, points[0].payload or {}) if points else None
        # Another namespace's memory is answered exactly like a missing one.
        return record if record is not None and record.namespace == namespace else None

    async def search(self, query: Query, where: Filter, limit: int, weights: Weights) -> list[Hit]:
        """The `limit` best memories by fused score (see fusion.py), from the local index or from Qdrant."""
        query = dataclasses.replace(query, depth=max(query.depth, limit))
        if self.index is not None:
            return self.index.search(query, where, limit, weights)
        return await self._call(self._search_qdrant, query, where, limit, weights)

    def _search_qdrant(self, query: Query, where: Filter, limit: int, weights: Weights) -> list[Hit]:
        """Candidates from one batch of up to three queries (dense, BM25, dense within the period), scored
        here as the local index scores them. A candidate missing from the BM25 list scores 0 there: it is
        below the depth-th BM25 score anyway."""
        shifted, offset = without_average(query.vector, self._server_average(where.namespace), weights.generic)
        dense = shifted.tolist()
        flt = qdrant_filter(where)
        # Every request returns the dense vectors: plain and generic-free similarity are computed here.
        requests = [
            models.QueryRequest(query=dense, filter=flt, limit=query.depth, with_payload=True, with_vector=[DENSE])
        ]
        if query.terms and weights.lexical > 0:
            sparse = models.SparseVector(indices=query.terms.indices, values=query.terms.values)
            requests.append(
                models.QueryRequest(
                    query=sparse, using=SPARSE, filter=flt, limit=query.depth, with_payload=True, with_vector=[DENSE]
                )
            )
        if query.period is not None:
            window = in_period(where, query.period)
            requests.append(
                models.QueryRequest(
                    query=dense, filter=window, limit=query.depth, with_payload=True, with_vector=[DENSE]
                )
            )
        responses = self._client.query_batch_points(self._collection, requests)
        records: dict[str, Record] = {}
        vectors: dict[str, Vectors] = {}
        bm25: dict[str, float] = {}
        for request, response in zip(requests, responses, strict=True):
            for point in response.points:
                key = str(point.id)
                records.setdefault(key, Record.from_payload(key, point.payload or {}))
                stored = dense_of(point.vector)
                if stored is not None:
                    vectors.setdefault(key, stored)
                if request.using == SPARSE:
                    bm25[key] = float(point.score)
        top_bm25 = max(bm25.values(), default=0.0) or 1.0
        hits = []
        focused = query.focused  # the question without its names (ranking.py), when it names something
        for key, record in records.items():
            inside = query.period is not None and query.period[0] <= record.event_at < query.period[1]
            relative = bm25.get(key, 0.0) / top_bm25
            vector = vectors.get(key)
            similarity = float(np.dot(vector, query.vector)) if vector is not None else 0.0
            specific = float(np.dot(vector, shifted)) + offset if vector is not None else 0.0
            focus = float(np.dot(vector, focused)) if vector is not None and focused is not None else similarity
            score = weights.fuse(specific, relative, inside, query.period is not None)
            hits.append(Hit(record, score, similarity, relative, specific, focus))
        hits.sort(key=lambda hit: -hit.score)
        return hits[:limit]

    def _server_average(self, namespace: str) -> tuple[Vectors, int] | None:
        """The mean of a sample of the namespace's vectors on a Qdrant server and the sample's size, cached a
        while."""
        now = time.monotonic()
        cached = self._directions.get(namespace)
        if cached is not None and now - cached[0] < DIRECTION_TTL_S:
            return cached[1]
        points, _ = self._client.scroll(
            self._collection,
            scroll_filter=qdrant_filter(Filter(namespace, include_superseded=True)),
            limit=DIRECTION_SAMPLE,
            with_vectors=[DENSE],
        )
        stored = [v for point in points if (v := dense_of(point.vector)) is not None]
        average = (np.stack(stored).mean(axis=0, dtype=np.float64).astype(np.float32), len(stored)) if stored else None
        self._directions[namespace] = (now, average)
        return average

    async def remove(self, records: list[Record], restore: list[Record]) -> None:
        """Delete `records`, and write back `restore` (predecessors made current again) in one request."""
        operations: list[Any] = [self._set_payload(r) for r in restore]
        ids: list[models.ExtendedPointId] = [r.id for r in records]
        operations.append(models.DeleteOperation(delete=models.PointIdsList(points=ids)))
        await self._write(self._client.batch_update_points, self._collection, operations, wait=True)
        if self.index is not None:
            for record in records:
                self.index.remove(record.id)
            for record in restore:
                self.index.put(record)

    async def has_namespace(self, namespace: str) -> bool:
        if self.index is not None:
            return self.index.has_namespace(namespace)
        return await self.count(Filter(namespace, include_superseded=True)) > 0

    async def namespaces(self, most: int) -> list[str]:
        """The namespaces holding any memory, by name (at most `most`): the local index's shards, or on a
        Qdrant server a facet of the indexed `namespace` payload field (no scan of the points)."""
        if self.index is not None:
            return sorted(self.index.namespaces())[:most]
        found = await self._call(self._client.facet, self._collection, "namespace", limit=most, exact=True)
        return sorted(str(hit.value) for hit in found.hits if hit.count > 0)

    async def count(self, where: Filter) -> int:
        if self.index is not None:
            return int(self.index.mask(where).sum())
        result = await self._call(self._client.count, self._collection, count_filter=qdrant_filter(where), exact=True)
        return int(result.count)

    async def with_vectors(self, where: Filter) -> tuple[list[Record], Vectors]:
        """Every record that passes `where`, with its vector (for pruning)."""
        if self.index is not None:
            return self.index.vectors_of(where)
        records: list[Record] = []
        vectors: list[list[float]] = []
        offset = None
        while True:
            points, offset = await self._call(
                self._client.scroll,
                self._collection,
                scroll_filter=qdrant_filter(where),
                limit=SCROLL_PAGE,
                offset=offset,
                with_vectors=True,
            )
            for point in points:
                records.append(Record.from_payload(point.id, point.payload or {}))
                stored: Any = point.vector
                vectors.append(stored[DENSE])
            if offset is None:
                break
        return records, np.asarray(vectors, dtype=np.float32).reshape(len(records), self.dimensions)

    def _set_payload(self, record: Record) -> models.SetPayloadOperation:
        return models.SetPayloadOperation(set_payload=models.SetPayload(payload=record.payload(), points=[record.id]))

    def _delete_points(self, ids: list[str]) -> None:
        self._client.delete(self._collection, points_selector=models.PointIdsList(points=list(ids)), wait=True)

    def close(self) -> None:
        self._client.close()


async def open_store(settings: MemorySettings) -> AsyncIterator[Store]:
    """The process's one Qdrant connection (a kit dependency)."""
    started = time.perf_counter()
    index: LocalIndex | None = None
    if settings.qdrant_url:
        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        client = QdrantClient(url=settings.qdrant_url, api_key=key)
    else:
        settings.qdrant_path.mkdir(parents=True, exist_ok=True)
        client = await asyncio.to_thread(QdrantClient, path=str(settings.qdrant_path))
        if settings.local_index:
            index = LocalIndex(settings.embedding_dimensions)
    store = Store(
        client,
        settings.collection,
        settings.embedding_dimensions,
        index,
        server=bool(settings.qdrant_url),
        avg_length=settings.lexical_avg_length,
    )
    try:
        await store.ensure_collection()
        await store.load_index()
        logger.info("qdrant ready", extra={"seconds": round(time.perf_counter() - started, 3)})
        yield store
    finally:
        store.close()
