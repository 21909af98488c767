"""Retrieval quality on the rendered set (tests/rendered.py) through the tools: nDCG@5 of the literal text
queries and R@1 of crops, on the UI screens and scans (17 images, near neighbours included) so that the
test stays well inside its time limit. `make bench` reports the full set (slides and diagrams,
paraphrases, rescales, recompressions, baselines); run with -s to see these numbers."""

from __future__ import annotations

import statistics

from . import rendered
from .conftest import Tools, b64


async def test_text_and_crop_queries_find_the_right_images(tools: Tools, namespace: str) -> None:
    scenes = [s for s in rendered.scenes() if s.kind in ("ui", "scan")]
    queries = [q for q in rendered.TEXT_QUERIES if {k.split("-")[0] for k in q.relevant} <= {"ui", "scan"}]
    assert len(scenes) == 17 and len(queries) >= 10
    keys: dict[str, str] = {}
    for start in range(0, len(scenes), 8):
        batch = scenes[start : start + 8]
        stored = await tools.ok(
            "index", images=[{"data": b64(rendered.png(s.image))} for s in batch], namespace=namespace
        )
        keys.update({item["id"]: s.key for item, s in zip(stored["indexed"], batch, strict=True)})
    gains = []
    for query in queries:
        found = await tools.ok("search", query=query.query, namespace=namespace, k=5)
        gains.append(rendered.ndcg([keys[i["id"]] for i in found["items"]], query.relevant, 5))
    hits = 0
    sample = scenes[::4]
    for scene in sample:
        crop = rendered.variants(scene.image)["crop"]
        found = await tools.ok("search_image", image={"data": b64(crop)}, namespace=namespace, k=1)
        hits += keys[found["items"][0]["id"]] == scene.key
    ndcg, recall = statistics.mean(gains), hits / len(sample)
    print(f"\nliteral text nDCG@5 {ndcg:.3f}  crop R@1 {recall:.3f} ({len(sample)} crops)")
    assert ndcg >= 0.85
    assert recall >= 0.9
