"""The Qdrant store in local mode, searched both through the in-process index and through Qdrant's
own filters (local_index off), so the filter Qdrant servers run is exercised too."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from sophia.memory.index import Filter
from sophia.memory.records import Record, new_id
from sophia.memory.settings import MemorySettings
from sophia.memory.store import Store, open_store


def vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=384).astype(np.float32)
    return v / np.linalg.norm(v)


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
    hits = await store.search(vector(2), Filter("a"), 10)  # the query is exactly b's vector
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
    assert [r.id for r, _ in await store.search(vector(1), Filter("a"), 10)] == [new.id]
    assert await store.count(Filter("a", include_superseded=True)) == 2


async def test_memories_survive_a_restart(tmp_path: Path) -> None:
    """Local mode keeps everything on disk; the index is rebuilt from it at start."""
    record = Record(id=new_id(), namespace="a", text="durable", tags=["t"])
    async with opened(tmp_path, True) as store:
        await store.add(record, vector(7))
    async with opened(tmp_path, True) as store:
        assert await store.get("a", record.id) == record
        hits = await store.search(vector(7), Filter("a", tags=frozenset({"t"})), 1)
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
