"""Visual service: retrieval quality on the rendered set, indexing time, search latency at 1k and 10k, memory.

The service runs as `sophia up` runs it (its own process, Qdrant local mode on disk, RapidOCR and the
local text model on CPU). Quality: the 28 rendered scenes of `services/visual/tests/rendered.py` are
indexed one call each over MCP/HTTP (that is the indexing time per page), then 44 text queries are
scored by nDCG@5 (22 literal, 22 paraphrased; the target is on their mean) and 84 image queries (a crop,
a half-size rescale and a JPEG q30 copy of every scene) by R@1. Baselines on the same candidates: text
similarity alone, keywords alone, pHash alone.

Latency: OCR'ing 10k real renders would take over an hour here, so the index is filled up to 1k and
then 10k images with synthetic points written straight into the service's collection while it is
stopped: real MiniLM vectors of generated screen texts, layout vectors jittered from the real scenes',
OCR lines and a real thumbnail in every payload. Then 200 sequential searches per scale are timed end to
end over HTTP. RSS is read from /proc at start, with 1k and with 10k images.
"""

from __future__ import annotations

import asyncio
import base64
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from qdrant_client import QdrantClient, models

import sophia.visual.__main__ as entry_point
from bench._fleet import Caller, rss_mib
from bench._report import percentile, table, targets, write
from sophia.kit.embeddings import local_model
from sophia.kit.testing import KitServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "visual" / "tests"))
import rendered  # the shared rendered set lives beside the tests

NAMESPACE = "bench"
SEARCHES = 200
TARGETS = {
    "text_ndcg@5": 0.80,
    "image_r@1": 0.90,
    "index_s_per_page": 1.0,
    "search_p95_ms@1k": 50.0,
    "search_p95_ms@10k": 150.0,
    "rss_start_mib": 600.0,
}
_WORDS = (
    "account billing invoice order cart checkout payment refund shipping address profile settings team "
    "project roadmap revenue churn users report export import dashboard chart login password email signup "
    "notification message inbox calendar meeting agenda budget forecast pipeline deploy cluster service "
    "database backup restore search filter sort price discount coupon plan trial upgrade cancel support"
)
WORDS = _WORDS.split()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


async def quality(caller: Caller) -> tuple[list[dict[str, Any]], dict[str, str], float]:
    ids: dict[str, str] = {}
    index_times = []
    for scene in rendered.scenes():
        data = b64(rendered.png(scene.image))
        started = time.perf_counter()
        result = await caller.call("index", {"images": [{"data": data}], "namespace": NAMESPACE})
        index_times.append(time.perf_counter() - started)
        ids[result["indexed"][0]["id"]] = scene.key
    rows = []
    for label, queries in (("literal", rendered.TEXT_QUERIES), ("paraphrased", rendered.PARAPHRASED_QUERIES)):
        scores: dict[str, list[float]] = {"service": [], "text similarity only": [], "keywords only": []}
        for query in queries:
            found = await caller.call("search", {"query": query.query, "namespace": NAMESPACE, "k": 50})
            items = found["items"]
            orders = {
                "service": items,
                "text similarity only": sorted(items, key=lambda i: -i["why"]["text_similarity"]),
                "keywords only": sorted(items, key=lambda i: -i["why"]["keyword_score"]),
            }
            for name, order in orders.items():
                scores[name].append(rendered.ndcg([ids[i["id"]] for i in order], query.relevant, 5))
        for name, values in scores.items():
            metric = f"text nDCG@5 ({label})"
            rows.append({"metric": metric, "ranker": name, "value": float(np.mean(values)), "n": len(values)})
    hits: dict[str, dict[str, int]] = {"service": {}, "pHash only": {}}
    for scene in rendered.scenes():
        for variant, data in rendered.variants(scene.image).items():
            found = await caller.call("search_image", {"image": {"data": b64(data)}, "namespace": NAMESPACE, "k": 50})
            items = found["items"]
            by_phash = sorted(items, key=lambda i: -i["why"]["phash_similarity"])
            for name, order in (("service", items), ("pHash only", by_phash)):
                hits[name][variant] = hits[name].get(variant, 0) + int(ids[order[0]["id"]] == scene.key)
    n = len(rendered.scenes())
    for name, by_variant in hits.items():
        for variant, count in by_variant.items():
            rows.append({"metric": f"image R@1 ({variant})", "ranker": name, "value": count / n, "n": n})
        total = sum(by_variant.values()) / (n * len(by_variant))
        rows.append({"metric": "image R@1", "ranker": name, "value": total, "n": n * len(by_variant)})
    return rows, ids, float(np.mean(index_times))


def synthetic_points(start: int, count: int, template: dict[str, Any], layouts: np.ndarray) -> list[Any]:
    rng = random.Random(start)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 30))) for _ in range(count)]
    vectors = local_model(2).embed_sync(texts)
    points = []
    for i, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
        jitter = np.random.default_rng(start + i).normal(0, 0.05, layouts.shape[1])
        layout = layouts[rng.randrange(len(layouts))] + jitter
        payload = {
            **template,
            "title": f"synthetic {start + i}",
            "project": f"p{i % 10}",
            "ocr_text": text,
            "ocr_lines": [{"text": text, "box": [0.1, 0.1, 0.9, 0.2]}],
            "sha256": uuid.uuid4().hex,
            "indexed_at": time.time(),
        }
        vector_map = {"text": vector.tolist(), "layout": (layout / np.linalg.norm(layout)).tolist()}
        points.append(models.PointStruct(id=str(uuid.uuid4()), vector=vector_map, payload=payload))
    return points


def fill(data_dir: Path, total: int) -> None:
    """Top the stopped service's collection up to `total` points with synthetic images."""
    client = QdrantClient(path=str(data_dir / "visual"))
    try:
        have = client.count("images", exact=True).count
        sample, _ = client.scroll("images", limit=64, with_vectors=True, with_payload=True)
        layouts = np.array([p.vector["layout"] for p in sample])  # type: ignore[index]
        template = dict(sample[0].payload or {})
        for start in range(have, total, 500):
            client.upsert("images", synthetic_points(start, min(500, total - start), template, layouts))
    finally:
        client.close()


async def latency(caller: Caller, scale: str) -> list[dict[str, Any]]:
    rng = random.Random(3)
    queries = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))) for _ in range(SEARCHES)]
    await caller.timed("search", [{"query": q, "namespace": NAMESPACE} for q in queries[:10]])  # warm-up
    rows = []
    text = await caller.timed("search", [{"query": q, "namespace": NAMESPACE} for q in queries])
    filtered = await caller.timed(
        "search", [{"query": q, "namespace": NAMESPACE, "project": "p3", "tags": ["x"]} for q in queries]
    )
    examples = [b64(rendered.jpeg(s.image, 60)) for s in rendered.scenes()]
    image = await caller.timed(
        "search_image", [{"image": {"data": examples[i % len(examples)]}, "namespace": NAMESPACE} for i in range(44)]
    )
    for name, values in (("search", text), ("search + filters", filtered), ("search_image", image)):
        rows.append(
            {
                "operation": name,
                "images": scale,
                "calls": len(values),
                "p50_ms": percentile(values, 50) * 1e3,
                "p95_ms": percentile(values, 95) * 1e3,
            }
        )
    return rows


def server(tmp: Path) -> KitServer:
    return KitServer(
        Path(entry_point.__file__),
        "visual",
        tmp / "logs",
        env={"SOPHIA_DATA_DIR": str(tmp / "data")},
        settings={"log_level": "WARNING", "max_body_bytes": str(16 * 1024 * 1024)},
    )


async def measure_running(url: str, run: Any) -> Any:
    async with aiohttp.ClientSession() as session:
        return await run(Caller(session, url))


def main() -> None:
    memory: dict[str, float] = {}
    latency_rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="sophia-bench-") as name:
        tmp = Path(name)
        running = server(tmp).start(timeout=120)
        try:
            assert running.process is not None and running.process.proc is not None
            memory["rss_start_mib"] = rss_mib(running.process.proc.pid)
            quality_rows, _, per_page = asyncio.run(measure_running(running.mcp_url, quality))
        finally:
            running.stop()
        for total, scale in ((1_000, "1k"), (10_000, "10k")):
            fill(tmp / "data", total)
            running = server(tmp).start(timeout=120)
            try:
                latency_rows += asyncio.run(measure_running(running.mcp_url, lambda c, s=scale: latency(c, s)))
                assert running.process is not None and running.process.proc is not None
                memory[f"rss_{scale}_mib"] = rss_mib(running.process.proc.pid)
            finally:
                running.stop()
    text_ndcg = float(
        np.mean(
            [r["value"] for r in quality_rows if r["metric"].startswith("text nDCG@5") and r["ranker"] == "service"]
        )
    )
    image_r1 = next(r["value"] for r in quality_rows if r["metric"] == "image R@1" and r["ranker"] == "service")
    p95 = {r["images"]: r["p95_ms"] for r in latency_rows if r["operation"] == "search"}
    measured = {
        "text_ndcg@5": text_ndcg,
        "image_r@1": image_r1,
        "index_s_per_page": per_page,
        "search_p95_ms@1k": p95["1k"],
        "search_p95_ms@10k": p95["10k"],
        "rss_start_mib": memory["rss_start_mib"],
    }
    queries = len(rendered.TEXT_QUERIES) + len(rendered.PARAPHRASED_QUERIES)
    print(f"\nvisual: {len(rendered.scenes())} rendered scenes, {queries} text queries (literal + paraphrased)")
    print(table(quality_rows), end="\n\n")
    print(table(latency_rows), end="\n\n")
    print(table([memory]), end="\n\n")
    summary = targets("visual", measured, TARGETS, at_least=frozenset({"text_ndcg@5", "image_r@1"}))
    rows = [*quality_rows, *latency_rows, {"operation": "resident memory", **memory}, *summary]
    print(f"wrote {write('visual', rows, TARGETS)}")


if __name__ == "__main__":
    main()
