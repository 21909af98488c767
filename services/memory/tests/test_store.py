"""The Qdrant store in local mode, searched both through the in-process index and through Qdrant's
own filters (local_index off), so the filter Qdrant servers run is exercised too."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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


async def test_the_namespace_shards_rank_exactly_as_qdrant_does(tmp_path: Path) -> None:
    """The local index (one shard per namespace, IDF over the whole collection) against Qdrant's own
    dense and sparse (IDF modifier) queries with its filters, on the same memories in three namespaces
    after some were removed: the same memories in the same order, with the same similarity and BM25 share."""
    rng = np.random.default_rng(3)
    words = [
        "maria",
        "tomasz",
        "billing",
        "deploy",
        "invoice",
        "kafka",
        "staging",
        "pricing",
        "portal",
        "vpn",
        "rota",
        "warehouse",
    ]
    records = [
        Record(id=new_id(), namespace=f"n{i % 3}", text=" ".join(rng.choice(words, size=int(rng.integers(2, 7)))))
        for i in range(120)
    ]
    vectors = np.stack([vector(1000 + i) for i in range(120)])
    questions = [" ".join(rng.choice(words, size=2)) for _ in range(8)]
    weights = Weights(1.0, 0.5, 0.0)
    ranked: list[list[list[tuple[str, float, float]]]] = []
    for local_index in (True, False):
        async with opened(tmp_path / str(local_index), local_index) as store:
            await store.add_many(records, vectors)
            await store.remove(records[::7], [])
            found = []
            for i, text in enumerate(questions):
                query = Query(vectors[i * 5] * 0.5 + vector(i) * 0.5, lexical.query(text))
                query = Query(query.vector / np.linalg.norm(query.vector), query.terms)
                hits = await store.search(query, Filter(f"n{i % 3}"), 10, weights)
                found.append([(h.record.id, round(h.similarity, 5), round(h.lexical, 5)) for h in hits])
            ranked.append(found)
    assert ranked[0] == ranked[1]
    assert all(len(hits) == 10 for hits in ranked[0])
    removed = {r.id for r in records[::7]}
    assert not removed & {memory_id for hits in ranked[0] for memory_id, _, _ in hits}


QDRANT_URL = os.environ.get("SOPHIA_TEST_QDRANT_URL")


@pytest.mark.skipif(not QDRANT_URL, reason="no Qdrant server here: set SOPHIA_TEST_QDRANT_URL to run against one")
async def test_hybrid_search_against_a_qdrant_server(tmp_path: Path) -> None:
    """Server mode: payload indexes, the sparse vector with the IDF modifier and the batch of queries,
    scored like the local index (same memories, same question); namespaces listed by a facet."""
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
            assert await store.namespaces(10) == ["a"]  # the facet of the indexed namespace field
        async with opened(tmp_path / "local", True) as store:
            await store.add_many(records, vectors)
            local = await store.search(query, Filter("a"), 3, Weights(1.0, 0.5, 0.0))
        scored = [[(h.record.id, round(h.lexical, 3)) for h in hits] for hits in (remote, local)]
        assert scored[0] == scored[1]
    finally:
        QdrantClient(url=QDRANT_URL).delete_collection(collection)


class FlakyDisk:
    """Local mode's SQLite connection on a disk that dies at the `fail_at`-th row written (None: never): every
    statement from then on fails, the compensating delete too. Counts the transactions it commits."""

    def __init__(self, connection: Any, fail_at: int | None = None) -> None:
        self.connection = connection
        self.fail_at = fail_at
        self.rows = 0
        self.commits = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection, name)

    def execute(self, sql: str, *args: Any) -> Any:
        self.rows += sql.startswith("INSERT")
        if self.fail_at is not None and self.rows >= self.fail_at:
            raise sqlite3.OperationalError("disk I/O error")
        return self.connection.execute(sql, *args)

    def __enter__(self) -> Any:
        return self.connection.__enter__()

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> Any:
        self.commits += kind is None
        return self.connection.__exit__(kind, exc, tb)


def flaky(store: Store, fail_at: int | None = None) -> FlakyDisk:
    storage = store.local_file()
    assert storage is not None, "qdrant-client's local storage moved: writes commit per point again"
    storage.storage = disk = FlakyDisk(storage.storage, fail_at)
    return disk


async def test_a_bulk_write_is_one_transaction_on_disk(tmp_path: Path) -> None:
    """Local mode's file gets one commit per write request (not one fsync per point, which made bulk writes
    crawl on a busy disk), and the write is still durable once add_many returns."""
    records = [Record(id=new_id(), namespace="bulk", text=f"memory number {i}") for i in range(300)]
    async with opened(tmp_path, True) as store:
        disk = flaky(store)
        await store.add_many(records, np.stack([vector(i) for i in range(300)]))
        superseding = Record(id=new_id(), namespace="bulk", text="memory number 0, updated", supersedes=records[0].id)
        await store.add(superseding, vector(0), supersedes=records[0])
        assert (disk.rows, disk.commits) == (302, 2)
    async with opened(tmp_path, True) as store:
        assert await store.count(Filter("bulk", include_superseded=True)) == 301
        old = await store.get("bulk", records[0].id)
        assert old is not None and old.superseded_by == superseding.id


async def test_a_disk_error_midway_leaves_none_of_the_write(tmp_path: Path) -> None:
    """The disk dies at the 30th of 50 points and even the clean-up fails: the 29 before it were never
    committed, so neither the index nor Qdrant's file (after a restart) holds any of them."""
    kept = Record(id=new_id(), namespace="bulk", text="written before")
    records = [Record(id=new_id(), namespace="bulk", text=f"memory number {i}") for i in range(50)]
    async with opened(tmp_path, True) as store:
        await store.add(kept, vector(99))
        flaky(store, fail_at=30)
        with pytest.raises(sqlite3.OperationalError):
            await store.add_many(records, np.stack([vector(i) for i in range(50)]))
        assert await store.count(Filter("bulk")) == 1
        assert [r.id for r, _ in await search(store, vector(3), Filter("bulk"), 5)] == [kept.id]
    async with opened(tmp_path, False) as store:
        assert await store.count(Filter("bulk")) == 1
        assert await store.get("bulk", kept.id) == kept


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
