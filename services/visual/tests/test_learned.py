"""Learned embedders: loaded only from a local path, with a clear reason when they cannot be, and a
late-interaction (MaxSim multivector) collection in Qdrant when one is active."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from sophia.kit.testing import started
from sophia.visual import VisualSettings, service
from sophia.visual.learned import load
from sophia.visual.store import LEARNED, Store, Where

NO_TORCH = importlib.util.find_spec("torch") is None


def test_default_needs_nothing() -> None:
    loaded = load("default", None, "ViT-B-32", "auto")
    assert loaded.embedder is None and loaded.status == "default embedder configured"


@pytest.mark.parametrize("kind", ["clip", "colpali"])
def test_missing_weights_are_reported_and_nothing_is_fetched(kind: str, tmp_path: Path) -> None:
    assert "weights not found (set SOPHIA_VISUAL_LEARNED_MODEL_PATH)" in load(kind, None, "ViT-B-32", "auto").status
    missing = tmp_path / "nowhere"
    assert f"weights not found at {missing}" in load(kind, missing, "ViT-B-32", "auto").status


@pytest.mark.skipif(not NO_TORCH, reason="torch is installed here")
def test_missing_library_is_reported(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"\x00")
    loaded = load("clip", tmp_path / "weights.bin", "ViT-B-32", "auto")
    assert loaded.embedder is None and loaded.status == "clip: library not installed (torch); using the default"


async def test_service_falls_back_to_default_and_says_why(tmp_path: Path) -> None:
    settings = VisualSettings(data_dir=tmp_path, embedder="colpali", learned_model_path=tmp_path / "colpali-v1.3")
    async with started(service, settings) as tools:
        stats = await tools.ok("stats")
    assert stats["embedder"]["active"].startswith("default")
    missing = tmp_path / "colpali-v1.3"
    assert stats["embedder"]["learned"] == f"colpali: weights not found at {missing}; using the default"
    assert stats["collection"] == "images"


class PatchEmbedder:
    """A learned-embedder shape for the store test: each 'image' is given as its patch matrix already."""

    name = "patches"
    dimensions = 4
    multivector = True


async def test_multivector_collection_ranks_by_max_sim(tmp_path: Path) -> None:
    client = QdrantClient(path=str(tmp_path / "q"))
    store = Store(client, "images-colpali", SimpleNamespace(learned=PatchEmbedder()), server=False)  # type: ignore[arg-type]
    await store.ensure_collection()
    config = client.get_collection("images-colpali").config.params.vectors[LEARNED]  # type: ignore[index]
    assert config.multivector_config.comparator == models.MultiVectorComparator.MAX_SIM
    eye = np.eye(4, dtype=np.float32)
    patches = {  # two images: one with patches along axes 0 and 1, one along axes 2 and 3
        "00000000-0000-0000-0000-000000000001": [eye[0], eye[1]],
        "00000000-0000-0000-0000-000000000002": [eye[2], eye[3]],
    }
    await store.upsert(
        [
            models.PointStruct(
                id=point_id,
                vector={
                    "text": [1.0] + [0.0] * 383,
                    "layout": [1.0] + [0.0] * 319,
                    LEARNED: [p.tolist() for p in rows],
                },
                payload={"namespace": "n"},
            )
            for point_id, rows in patches.items()
        ]
    )
    query_tokens = np.stack([eye[2], eye[3] * 0.5 + eye[0] * 0.5])
    hits = await store.search(query_tokens, LEARNED, Where("n"), 2)
    assert [h.id for h in hits] == ["00000000-0000-0000-0000-000000000002", "00000000-0000-0000-0000-000000000001"]
    # MaxSim: each query token takes its best patch, and those maxima are summed.
    assert hits[0].score == pytest.approx(1.0 + 0.5 / np.sqrt(0.5), rel=1e-3)
    store.close()
