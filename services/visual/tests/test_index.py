"""The in-process index answers exactly as Qdrant does: same hits, counts and facets for every filter."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from sophia.visual.index import LocalIndex
from sophia.visual.store import LAYOUT, TEXT, Store
from sophia.visual.where import Where

DIMS = {TEXT: 384, LAYOUT: 320}


def points(n: int, seed: int) -> list[models.PointStruct]:
    rng = random.Random(seed)
    vectors = np.random.default_rng(seed)
    made = []
    for i in range(n):
        made.append(
            models.PointStruct(
                id=str(uuid.UUID(int=rng.getrandbits(128))),
                vector={name: vectors.normal(size=size).tolist() for name, size in DIMS.items()},
                payload={
                    "namespace": rng.choice(["a", "b"]),
                    "source": rng.choice(["figma", "upload", None]),
                    "project": rng.choice(["web", "app"]),
                    "tags": rng.sample(["x", "y", "z"], rng.randint(0, 2)),
                    "indexed_at": 1000.0 + i,
                    "thumbnail": "big",
                },
            )
        )
    return made


WHERES = [
    Where("a"),
    Where("b", source="figma"),
    Where("a", project="app", tags=frozenset({"x", "z"})),
    Where("a", since=1050, until=1120),
    Where("a", source="nowhere"),
]


@pytest.fixture
async def pair(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The same points in a store backed by the index and in one asking Qdrant directly."""
    embedder = SimpleNamespace(learned=None)
    plain = Store(QdrantClient(path=str(tmp_path / "q1")), "images", embedder, server=False)  # type: ignore[arg-type]
    fast = Store(QdrantClient(path=str(tmp_path / "q2")), "images", embedder, False, LocalIndex(DIMS, capacity=4))  # type: ignore[arg-type]
    for store in (plain, fast):
        await store.ensure_collection()
        await store.upsert(points(300, seed=1))
    yield plain, fast
    plain.close()
    fast.close()


@pytest.mark.parametrize("where", WHERES)
async def test_index_matches_qdrant(pair, where: Where) -> None:  # type: ignore[no-untyped-def]
    plain, fast = pair
    query = np.random.default_rng(9).normal(size=384).astype(np.float32)
    expected = await plain.search(query, TEXT, where, 10)
    got = await fast.search(query, TEXT, where, 10)
    assert [h.id for h in got] == [h.id for h in expected]
    assert [round(h.score, 4) for h in got] == [round(h.score, 4) for h in expected]
    assert await fast.count(where) == await plain.count(where)
    assert await fast.facet("project", where) == await plain.facet("project", where)


async def test_index_stays_exact_through_deletes_and_reloads(pair, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plain, fast = pair
    doomed = [h.id for h in await plain.search(np.ones(320, np.float32), LAYOUT, Where("a"), 40)]
    for store in (plain, fast):
        await store.delete(doomed)
    query = np.ones(320, dtype=np.float32)
    for where in WHERES:
        assert [h.id for h in await fast.search(query, LAYOUT, where, 20)] == [
            h.id for h in await plain.search(query, LAYOUT, where, 20)
        ]
        assert await fast.count(where) == await plain.count(where)
    assert fast.index is not None and "thumbnail" not in fast.index.payloads[0]
    # A restart fills the index from the collection: the same answers.
    fast.close()
    reopened = Store(
        QdrantClient(path=str(tmp_path / "q2")), "images", SimpleNamespace(learned=None), False, LocalIndex(DIMS)
    )  # type: ignore[arg-type]
    await reopened.load_index()
    assert [h.id for h in await reopened.search(query, LAYOUT, Where("b"), 20)] == [
        h.id for h in await plain.search(query, LAYOUT, Where("b"), 20)
    ]
    reopened.close()
