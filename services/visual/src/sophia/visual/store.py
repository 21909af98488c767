"""Indexed images in Qdrant: a server when configured, else local mode on disk.

One point per image and namespace, with named vectors: `text` (OCR text + labels, MiniLM), `layout`
(perceptual signature) and, with a learned embedder, `learned` (CLIP: one vector; ColPali: a
multivector compared by MaxSim). Every read filters on the namespace. Calls into qdrant-client run in
a worker thread (local mode is synchronous Python).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from qdrant_client import QdrantClient, models

from sophia.visual import signature
from sophia.visual.embedding import TEXT_DIMENSIONS, Embedder
from sophia.visual.index import LocalIndex
from sophia.visual.settings import VisualSettings
from sophia.visual.where import Hit, Where

logger = logging.getLogger("sophia.visual")

TEXT, LAYOUT, LEARNED = "text", "layout", "learned"
INDEXES: dict[str, models.PayloadSchemaType] = {
    "namespace": models.PayloadSchemaType.KEYWORD,
    "source": models.PayloadSchemaType.KEYWORD,
    "project": models.PayloadSchemaType.KEYWORD,
    "tags": models.PayloadSchemaType.KEYWORD,
    "indexed_at": models.PayloadSchemaType.FLOAT,
}
FACET_LIMIT = 50
SCROLL_PAGE = 1000


class Store:
    def __init__(
        self, client: QdrantClient, collection: str, embedder: Embedder, server: bool, index: LocalIndex | None = None
    ) -> None:
        self._client = client
        self.collection = collection
        self.server = server
        self._learned = embedder.learned
        self.index = index

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(partial(fn, *args, **kwargs))

    def _vectors_config(self) -> dict[str, models.VectorParams]:
        config = {
            TEXT: models.VectorParams(size=TEXT_DIMENSIONS, distance=models.Distance.COSINE),
            LAYOUT: models.VectorParams(size=signature.DIMENSIONS, distance=models.Distance.COSINE),
        }
        if self._learned is not None:
            multi = (
                models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM)
                if self._learned.multivector
                else None
            )
            config[LEARNED] = models.VectorParams(
                size=self._learned.dimensions, distance=models.Distance.COSINE, multivector_config=multi
            )
        return config

    async def ensure_collection(self) -> None:
        wanted = self._vectors_config()
        if not await self._call(self._client.collection_exists, self.collection):
            await self._call(self._client.create_collection, self.collection, vectors_config=wanted)
        info = await self._call(self._client.get_collection, self.collection)
        have = info.config.params.vectors
        for name, params in wanted.items():
            if not isinstance(have, dict) or name not in have or have[name].size != params.size:
                raise RuntimeError(
                    f"collection {self.collection} was made for another embedder (no {params.size}-d {name!r} "
                    "vector); use another collection name for this embedder"
                )
        if self.server:
            for field_name, schema in INDEXES.items():
                await self._call(self._client.create_payload_index, self.collection, field_name, field_schema=schema)

    async def load_index(self) -> None:
        """Fill the local index from the collection (local mode, at start)."""
        if self.index is None:
            return
        offset = None
        while True:
            points, offset = await self._call(
                self._client.scroll,
                self.collection,
                limit=SCROLL_PAGE,
                offset=offset,
                with_vectors=[TEXT, LAYOUT],
                with_payload=models.PayloadSelectorExclude(exclude=["thumbnail"]),
            )
            for point in points:
                self.index.put(str(point.id), point.vector, point.payload or {})
            if offset is None:
                break

    async def upsert(self, points: list[models.PointStruct]) -> None:
        await self._call(self._client.upsert, self.collection, points, wait=True)
        if self.index is not None:
            for point in points:
                self.index.put(str(point.id), point.vector, point.payload or {})

    async def search(self, vector: Any, using: str, where: Where, limit: int) -> list[Hit]:
        if self.index is not None and using != LEARNED:
            return self.index.search(using, vector, where, limit)
        response = await self._call(
            self._client.query_points,
            self.collection,
            query=vector.tolist(),
            using=using,
            query_filter=where.to_qdrant(),
            limit=limit,
            with_payload=True,
        )
        return [Hit(str(p.id), float(p.score), p.payload or {}) for p in response.points]

    async def get(self, namespace: str, ids: list[str]) -> list[Hit]:
        points = await self._call(self._client.retrieve, self.collection, ids, with_payload=True)
        # Another namespace's image is answered exactly like a missing one.
        return [Hit(str(p.id), 1.0, p.payload or {}) for p in points if (p.payload or {}).get("namespace") == namespace]

    async def delete(self, ids: list[str]) -> None:
        await self._call(
            self._client.delete, self.collection, points_selector=models.PointIdsList(points=list(ids)), wait=True
        )
        if self.index is not None:
            for point_id in ids:
                self.index.remove(point_id)

    async def count(self, where: Where) -> int:
        if self.index is not None:
            return self.index.count(where)
        result = await self._call(self._client.count, self.collection, count_filter=where.to_qdrant(), exact=True)
        return int(result.count)

    async def facet(self, key: str, where: Where) -> dict[str, int]:
        if self.index is not None:
            return self.index.facet(key, where, FACET_LIMIT)
        response = await self._call(
            self._client.facet, self.collection, key, facet_filter=where.to_qdrant(), limit=FACET_LIMIT, exact=True
        )
        return {str(hit.value): int(hit.count) for hit in response.hits}

    def close(self) -> None:
        self._client.close()


def collection_name(settings: VisualSettings, embedder: Embedder) -> str:
    """A learned embedder gets its own collection: its vectors do not fit the default one."""
    if embedder.learned is None:
        return settings.collection
    return f"{settings.collection}-{settings.embedder}"


async def open_store(settings: VisualSettings, embedder: Embedder) -> AsyncIterator[Store]:
    """The process's one Qdrant connection (a kit dependency)."""
    started = time.perf_counter()
    if settings.qdrant_url:
        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        client = QdrantClient(url=settings.qdrant_url, api_key=key)
    else:
        settings.qdrant_path.mkdir(parents=True, exist_ok=True)
        client = await asyncio.to_thread(QdrantClient, path=str(settings.qdrant_path))
    index = None
    if settings.local_index and not settings.qdrant_url:
        index = LocalIndex({TEXT: TEXT_DIMENSIONS, LAYOUT: signature.DIMENSIONS})
    store = Store(client, collection_name(settings, embedder), embedder, server=bool(settings.qdrant_url), index=index)
    try:
        await store.ensure_collection()
        await store.load_index()
        logger.info("qdrant ready", extra={"seconds": round(time.perf_counter() - started, 3)})
        yield store
    finally:
        store.close()
