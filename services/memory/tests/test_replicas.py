"""Two replicas of the service behind one Qdrant and one Redis: each has its own Store (its own process
lock) and its own Redis connection, sharing one Qdrant collection (an in-memory qdrant-client stands in
for the shared server; the Redis is real)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from qdrant_client import QdrantClient
from redis.asyncio import Redis

from sophia.kit import ToolError
from sophia.memory.index import Filter
from sophia.memory.records import Record, new_id
from sophia.memory.server import add_version
from sophia.memory.store import Store
from sophia.memory.writelock import WriteLocks


class NoLock(WriteLocks):
    """What replicas had before: nothing shared."""

    @contextlib.asynccontextmanager
    async def hold(self, namespace: str) -> AsyncIterator[None]:
        yield


def vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=384).astype(np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture
async def replicas(redis_url: str) -> AsyncIterator[list[tuple[Store, Redis]]]:
    client = QdrantClient(location=":memory:")
    stores = [Store(client, "shared", 384, index=None) for _ in range(2)]
    await stores[0].ensure_collection()
    connections = [Redis.from_url(redis_url) for _ in stores]
    for store in stores:
        slow_add = store.add

        async def add(*args: Any, _add: Any = slow_add, **kwargs: Any) -> None:
            await asyncio.sleep(0.3)  # widen the read-then-write window, as a slow network would
            await _add(*args, **kwargs)

        store.add = add  # type: ignore[method-assign]
    yield list(zip(stores, connections, strict=True))
    for connection in connections:
        await connection.aclose()


async def race(replicas: list[tuple[Store, Redis]], locks: type[WriteLocks], namespace: str) -> list[Any]:
    first, _ = replicas[0]
    old = Record(id=new_id(), namespace=namespace, text="The office is on Baker Street")
    async with first.writes:
        await Store.add(first, old, vector(0))
    versions = [Record(id=new_id(), namespace=namespace, text=f"Moved to {i}", supersedes=old.id) for i in (1, 2)]
    return await asyncio.gather(
        *(
            add_version(store, locks(connection), version, vector(i + 1), old.id)
            for i, ((store, connection), version) in enumerate(zip(replicas, versions, strict=True))
        ),
        return_exceptions=True,
    )


async def test_two_replicas_superseding_one_memory_leave_one_successor(
    replicas: list[tuple[Store, Redis]], namespace: str
) -> None:
    outcomes = await race(replicas, WriteLocks, namespace)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], ToolError) and "already superseded" in str(errors[0])
    store, _ = replicas[1]
    assert await store.count(Filter(namespace)) == 1  # one current version, not two


async def test_without_the_shared_lock_both_replicas_would_win(
    replicas: list[tuple[Store, Redis]], namespace: str
) -> None:
    """The race above is real: with per-process locks only, both supersede and two versions are current."""
    outcomes = await race(replicas, NoLock, namespace)
    assert not any(isinstance(o, BaseException) for o in outcomes)
    store, _ = replicas[1]
    assert await store.count(Filter(namespace)) == 2
