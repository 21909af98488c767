"""The Qdrant store in local mode, searched both through the in-process index and through Qdrant's
own filters (local_index off), so the filter Qdrant servers run is exercised too."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient

from sophia.memory import lexical
from sophia.memory.fusion import Weights
from sophia.memory.index import Filter, Query
from sophia.memory.records import Record, new_id
from sophia.memory.settings import MemorySettings
from sophia.memory.store import Store, open_store


def vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=384).astype(np.float32)
    return v / np.linalg.norm(v)


async def search(store: Store, v: np.ndarray, where: Filter, limit: int, text: str = "") -> list[tuple[Record, float]]:
    hits = await store.search(Query(v, lexical.query(text)), where, limit, Weights(1.0, 0.0, 0.0))
    return [(hit.record, hit.similarity) for hit in hits]


@contextlib.asynccontextmanager
async def opened(path: Path, local_index: bool) -> AsyncIterator[Store]:
    settings = MemorySettings(data_dir=path, local_index=local_index)
    async with contextlib.asynccontextmanager(open_store)(settings) as store:
        yield store


@pytest.fixture(params=[True, False], ids=["local-index", "qdrant-filter"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with opened(tmp_path, request.param) as opened_store:
        yield opened_store


async def test_search_never_returns_another_namespace(store: Store) -> None:
    mine = Record(id=new_id(), namespace="a", text="mine")
    theirs = Record(id=new_id(), namespace="b", text="theirs")
    await store.add(mine, vector(1))
    await store.add(theirs, vector(2))
    hits = await search(store, vector(2), Filter("a"), 10)  # the query is exactly b's vector
    assert [r.id for r, _ in hits] == [mine.id]
    assert await store.get("a", theirs.id) is None
    assert await store.has_namespace("b") and not await store.has_namespace("c")


async def test_superseding_marks_the_old_version_in_the_same_write(store: Store) -> None:
    old = Record(id=new_id(), namespace="a", text="old")
    await store.add(old, vector(1))
    new = Record(id=new_id(), namespace="a", text="new", supersedes=old.id)
    await store.add(new, vector(1), supersedes=old)
    stored_old = await store.get("a", old.id)
    assert stored_old is not None and stored_old.superseded_by == new.id
    assert [r.id for r, _ in await search(store, vector(1), Filter("a"), 10)] == [new.id]
    assert await store.count(Filter("a", include_superseded=True)) == 2


async def test_memories_survive_a_restart(tmp_path: Path) -> None:
    """Local mode keeps everything on disk; the index is rebuilt from it at start."""
    record = Record(id=new_id(), namespace="a", text="durable", tags=["t"])
    async with opened(tmp_path, True) as store:
        await store.add(record, vector(7))
    async with opened(tmp_path, True) as store:
        assert await store.get("a", record.id) == record
        hits = await search(store, vector(7), Filter("a", tags=frozenset({"t"})), 1)
        assert hits[0][0].id == record.id and hits[0][1] == pytest.approx(1.0, abs=1e-5)


async def test_remove_restores_neighbours_in_the_same_write(store: Store) -> None:
    old = Record(id=new_id(), namespace="a", text="old", superseded_by="x")
    new = Record(id=new_id(), namespace="a", text="new")
    await store.add(old, vector(1))
    await store.add(new, vector(2))
    await store.remove([new], [old.model_copy(update={"superseded_by": None})])
    assert await store.get("a", new.id) is None
    restored = await store.get("a", old.id)
    assert restored is not None and restored.current
    records, vectors = await store.with_vectors(Filter("a", include_superseded=True))
    assert [r.id for r in records] == [old.id] and vectors.shape == (1, 384)


async def test_hybrid_search_scores_alike_in_the_index_and_in_qdrant(tmp_path: Path) -> None:
    """The same memories and question through the local index and through Qdrant's own sparse (IDF
    modifier) and dense queries, with the namespace's average taken out of similarity: same order, same
    similarity, BM25 share and fused score."""
    texts = ["Maria owns Ledgerline", "Maria drinks green tea", "Tomasz owns the billing service", "Lunch at noon"]
    records = [Record(id=new_id(), namespace="a", text=t) for t in texts]
    vectors = np.stack([vector(i) for i in range(len(texts))])
    query = Query(vector(0) * 0.6 + vector(2) * 0.8, lexical.query("who owns Ledgerline"))
    query = Query(query.vector / np.linalg.norm(query.vector), query.terms)
    results = []
    for local_index in (True, False):
        async with opened(tmp_path / str(local_index), local_index) as store:
            await store.add_many(records, vectors)
            hits = await store.search(query, Filter("a"), 4, Weights(1.0, 0.5, 0.0, generic=1.25))
            results.append(
                [(h.record.id, round(h.similarity, 4), round(h.lexical, 4), round(h.score, 4)) for h in hits]
            )
    assert results[0] == results[1]
    assert results[0][0][0] == records[0].id and results[0][0][2] == 1.0  # the only one naming Ledgerline


async def test_add_many_stores_all_and_survives_a_restart(tmp_path: Path) -> None:
    records = [Record(id=new_id(), namespace="bulk", text=f"memory number {i}") for i in range(300)]
    vectors = np.stack([vector(i) for i in range(300)])
    async with opened(tmp_path, True) as store:
        await store.add_many(records, vectors)
        assert await store.count(Filter("bulk")) == 300
    async with opened(tmp_path, True) as store:
        hits = await search(store, vectors[123], Filter("bulk"), 1, "number 123")
        assert hits[0][0].id == records[123].id


QDRANT_URL = os.environ.get("SOPHIA_TEST_QDRANT_URL")


@pytest.mark.skipif(not QDRANT_URL, reason="no Qdrant server here: set SOPHIA_TEST_QDRANT_URL to run against one")
async def test_hybrid_search_against_a_qdrant_server(tmp_path: Path) -> None:
    """Server mode: payload indexes, the sparse vector with the IDF modifier and the batch of queries,
    scored like the local index (same memories, same question)."""
    texts = ["Maria owns Ledgerline", "Maria drinks green tea", "Tomasz owns the billing service"]
    records = [Record(id=new_id(), namespace="a", text=t) for t in texts]
    vectors = np.stack([vector(i) for i in range(len(texts))])
    query = Query(vector(0), lexical.query("who owns Ledgerline"))
    collection = f"test_{uuid.uuid4().hex[:12]}"
    server = MemorySettings(data_dir=tmp_path, qdrant_url=QDRANT_URL, collection=collection)
    try:
        async with contextlib.asynccontextmanager(open_store)(server) as store:
            await store.add_many(records, vectors)
            remote = await store.search(query, Filter("a"), 3, Weights(1.0, 0.5, 0.0))
        async with opened(tmp_path / "local", True) as store:
            await store.add_many(records, vectors)
            local = await store.search(query, Filter("a"), 3, Weights(1.0, 0.5, 0.0))
        scored = [[(h.record.id, round(h.lexical, 3)) for h in hits] for hits in (remote, local)]
        assert scored[0] == scored[1]
    finally:
        QdrantClient(url=QDRANT_URL).delete_collection(collection)


async def test_a_collection_of_another_vector_size_is_refused_and_kept(tmp_path: Path) -> None:
    """A model change (another vector size) never writes into or replaces the old collection: the store
    refuses to start, says what to do, and the old memories are still there for the old model."""
    async with opened(tmp_path, True) as store:
        await store.add(Record(id=new_id(), namespace="a", text="kept"), vector(1))
    settings = MemorySettings(data_dir=tmp_path, embedding_dimensions=768)
    with pytest.raises(RuntimeError, match=r"holds 384-d vectors; the embedder makes 768-d.*SOPHIA_MEMORY_COLLECTION"):
        async with contextlib.asynccontextmanager(open_store)(settings):
            pass
    async with opened(tmp_path, True) as store:
        assert await store.count(Filter("a")) == 1
    async with contextlib.asynccontextmanager(open_store)(settings.model_copy(update={"collection": "wide"})) as store:
        assert await store.count(Filter("a")) == 0  # a new name starts a collection of the new size
