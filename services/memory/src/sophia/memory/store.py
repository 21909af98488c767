"""Long-term memories in Qdrant: a server when configured, else local mode on disk.

Every call into qdrant-client runs in a worker thread (local mode is synchronous Python; the server
client is used the same way for one code path). Every read and search filters on the namespace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from functools import partial
from typing import Any, TypeVar

import numpy as np
from qdrant_client import QdrantClient, models

from sophia.kit.embeddings import Vectors
from sophia.memory.index import Filter, LocalIndex
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
}
SCROLL_PAGE = 1000


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


class Store:
    def __init__(
        self, client: QdrantClient, collection: str, dimensions: int, index: LocalIndex | None, server: bool = False
    ) -> None:
        self._client = client
        self.server = server
        self._collection = collection
        self.dimensions = dimensions
        self.index = index
        # Writes go one at a time in this process: supersede and forget read a record, then rewrite it,
        # and qdrant-client's local mode is not safe for concurrent writers.
        self.writes = asyncio.Lock()

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(partial(fn, *args, **kwargs))

    async def ensure_collection(self) -> None:
        if not await self._call(self._client.collection_exists, self._collection):
            params = models.VectorParams(size=self.dimensions, distance=models.Distance.COSINE)
            await self._call(self._client.create_collection, self._collection, vectors_config=params)
        info = await self._call(self._client.get_collection, self._collection)
        size = info.config.params.vectors.size
        if size != self.dimensions:
            raise RuntimeError(
                f"collection {self._collection} holds {size}-d vectors; the embedder makes {self.dimensions}"
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
                self.index.put(Record.from_payload(point.id, point.payload or {}), np.asarray(point.vector, np.float32))
            if offset is None:
                break

    async def add(self, record: Record, vector: Vectors, supersedes: Record | None = None) -> None:
        """Store `record`; when it supersedes another, mark that one in the same request."""
        operations: list[Any] = [
            models.UpsertOperation(
                upsert=models.PointsList(
                    points=[models.PointStruct(id=record.id, vector=vector.tolist(), payload=record.payload())]
                )
            )
        ]
        old: Record | None = None
        if supersedes is not None:
            old = supersedes.model_copy(update={"superseded_by": record.id, "superseded_at": record.created_at})
            operations.append(self._set_payload(old))
        try:
            await self._call(self._client.batch_update_points, self._collection, operations, wait=True)
        except Exception:
            # Nothing half-way: if the batch failed after the upsert, take the new point back out.
            await self._call(self._delete_points, [record.id])
            raise
        if self.index is not None:
            self.index.put(record, vector)
            if old is not None:
                self.index.put(old)

    async def get(self, namespace: str, memory_id: str) -> Record | None:
        if self.index is not None:
            record = self.index.get(memory_id)
        else:
            points = await self._call(self._client.retrieve, self._collection, [memory_id])
            record = Record.from_payload(points[0].id, points[0].payload or {}) if points else None
        # Another namespace's memory is answered exactly like a missing one.
        return record if record is not None and record.namespace == namespace else None

    async def search(self, vector: Vectors, where: Filter, limit: int) -> list[tuple[Record, float]]:
        if self.index is not None:
            return self.index.search(vector, where, limit)
        response = await self._call(
            self._client.query_points,
            self._collection,
            query=vector.tolist(),
            query_filter=qdrant_filter(where),
            limit=limit,
            with_payload=True,
        )
        return [(Record.from_payload(p.id, p.payload or {}), float(p.score)) for p in response.points]

    async def remove(self, records: list[Record], restore: list[Record]) -> None:
        """Delete `records`, and write back `restore` (predecessors made current again) in one request."""
        operations: list[Any] = [self._set_payload(r) for r in restore]
        ids: list[models.ExtendedPointId] = [r.id for r in records]
        operations.append(models.DeleteOperation(delete=models.PointIdsList(points=ids)))
        await self._call(self._client.batch_update_points, self._collection, operations, wait=True)
        if self.index is not None:
            for record in records:
                self.index.remove(record.id)
            for record in restore:
                self.index.put(record)

    async def has_namespace(self, namespace: str) -> bool:
        if self.index is not None:
            return self.index.has_namespace(namespace)
        return await self.count(Filter(namespace, include_superseded=True)) > 0

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
                vectors.append(point.vector)
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
    store = Store(client, settings.collection, settings.embedding_dimensions, index, server=bool(settings.qdrant_url))
    try:
        await store.ensure_collection()
        await store.load_index()
        logger.info("qdrant ready", extra={"seconds": round(time.perf_counter() - started, 3)})
        yield store
    finally:
        store.close()
