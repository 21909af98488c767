"""The tools through the MCP SDK client, in memory, against Qdrant local mode with real OCR."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from mcp.client import Client
from PIL import Image

from sophia.kit import Risk
from sophia.visual import service

from . import rendered
from .conftest import Tools, b64


def spec(name: str):  # type: ignore[no-untyped-def]
    return next(t for t in service.tools if t.name == name)


def scene(key: str) -> rendered.Scene:
    return next(s for s in rendered.scenes() if s.key == key)


def test_tools_declare_their_risk() -> None:
    assert spec("delete").destructive and spec("delete").risk is Risk.HIGH
    for name in ("search", "search_image", "get", "stats"):
        assert spec(name).read_only
    for name in ("index", "index_figma"):
        assert spec(name).risk is Risk.MEDIUM and spec(name).idempotent


async def test_index_then_search_by_text_explains_the_match(tools: Tools, namespace: str) -> None:
    checkout, login = scene("ui-checkout"), scene("ui-login")
    indexed = await tools.ok(
        "index",
        images=[
            {"data": b64(rendered.png(checkout.image)), "title": "checkout v2"},
            {"data": b64(rendered.png(login.image)), "title": "login"},
        ],
        project="shop",
        source="figma",
        tags=["mockup"],
        namespace=namespace,
    )
    assert [item["title"] for item in indexed["indexed"]] == ["checkout v2", "login"]
    found = await tools.ok("search", query="checkout page with the place order button", namespace=namespace, k=2)
    top = found["items"][0]
    assert top["id"] == indexed["indexed"][0]["id"]
    assert top["score"] > found["items"][1]["score"]
    assert {"checkout", "place", "order", "button"} & set(top["why"]["matched_words"]) >= {"checkout", "place"}
    region = next(r for r in top["why"]["regions"] if r["text"] == "Place order")
    x0, y0, x1, y1 = region["box"]
    assert 0.6 < x0 < x1 <= 1 and 0.6 < y0 < y1 < 0.85  # where the button is drawn (bottom right)
    assert top["project"] == "shop" and top["tags"] == ["mockup"]


async def test_get_returns_text_lines_and_a_thumbnail(tools: Tools, namespace: str) -> None:
    invoice = scene("scan-invoice")
    stored = await tools.ok("index", images=[{"data": b64(rendered.png(invoice.image))}], namespace=namespace)
    image_id = stored["indexed"][0]["id"]
    shown = await tools.ok("get", id=image_id, namespace=namespace)
    assert "ACME Supplies Ltd" in shown["ocr_text"]
    assert (shown["width"], shown["height"]) == invoice.image.size
    thumb = Image.open(io.BytesIO(base64.b64decode(shown["thumbnail"]["base64"])))
    assert thumb.format == "WEBP" and max(thumb.size) == 256
    # Another namespace sees nothing, exactly as for a missing id.
    assert "no image" in await tools.error("get", id=image_id, namespace=f"{namespace}-other")


async def test_indexing_the_same_image_twice_updates_it(tools: Tools, namespace: str) -> None:
    data = b64(rendered.png(scene("ui-settings").image))
    first = await tools.ok("index", images=[{"data": data, "title": "old"}], namespace=namespace)
    second = await tools.ok("index", images=[{"data": data, "title": "new"}], namespace=namespace)
    assert first["indexed"][0]["id"] == second["indexed"][0]["id"]
    assert (await tools.ok("stats", namespace=namespace))["images"] == 1
    assert (await tools.ok("get", id=first["indexed"][0]["id"], namespace=namespace))["title"] == "new"


async def test_search_image_finds_the_source_of_a_crop(tools: Tools, namespace: str) -> None:
    keys = ["ui-checkout", "ui-cart", "slide-pricing"]
    stored = await tools.ok(
        "index", images=[{"data": b64(rendered.png(scene(k).image)), "title": k} for k in keys], namespace=namespace
    )
    ids = {item["title"]: item["id"] for item in stored["indexed"]}
    crop = rendered.variants(scene("ui-cart").image)["crop"]
    found = await tools.ok("search_image", image={"data": b64(crop)}, namespace=namespace, k=3)
    assert found["items"][0]["id"] == ids["ui-cart"]
    assert found["items"][0]["why"]["phash_similarity"] > 0


async def test_filters_by_project_tags_and_time(tools: Tools, namespace: str) -> None:
    a, b = scene("slide-hiring"), scene("slide-security")
    await tools.ok("index", images=[{"data": b64(rendered.png(a.image))}], project="people", namespace=namespace)
    await tools.ok(
        "index", images=[{"data": b64(rendered.png(b.image))}], project="sec", tags=["q3"], namespace=namespace
    )
    query = "roadmap and hiring plan slides"
    only_people = await tools.ok("search", query=query, project="people", namespace=namespace)
    assert [i["project"] for i in only_people["items"]] == ["people"]
    tagged = await tools.ok("search", query=query, tags=["q3"], namespace=namespace)
    assert [i["project"] for i in tagged["items"]] == ["sec"]
    future = await tools.ok("search", query=query, since="2999-01-01T00:00:00Z", namespace=namespace)
    assert future["items"] == []
    assert "time zone" in await tools.error("search", query=query, since="2024-01-01T00:00:00", namespace=namespace)


async def test_delete_removes_only_that_namespace(tools: Tools, namespace: str) -> None:
    data = b64(rendered.png(scene("diagram-auth").image))
    mine = await tools.ok("index", images=[{"data": data}], namespace=namespace)
    theirs = await tools.ok("index", images=[{"data": data}], namespace=f"{namespace}-b")
    image_id = mine["indexed"][0]["id"]
    gone = await tools.ok("delete", ids=[image_id, theirs["indexed"][0]["id"]], namespace=namespace)
    assert gone == {"namespace": namespace, "deleted": [image_id], "missing": [theirs["indexed"][0]["id"]]}
    assert (await tools.ok("stats", namespace=namespace))["images"] == 0
    assert (await tools.ok("stats", namespace=f"{namespace}-b"))["images"] == 1


async def test_stats_reports_the_embedder_and_counts(tools: Tools, namespace: str) -> None:
    await tools.ok(
        "index",
        images=[{"data": b64(rendered.png(scene("ui-profile").image))}],
        project="web",
        source="upload",
        namespace=namespace,
    )
    stats = await tools.ok("stats", namespace=namespace)
    assert stats["images"] == 1 and stats["by_project"] == {"web": 1} and stats["by_source"] == {"upload": 1}
    assert stats["embedder"]["active"].startswith("default")
    assert stats["embedder"]["learned"] == "default embedder configured"
    assert stats["storage"] == "qdrant local mode"


async def test_index_a_file_under_the_allowed_root(tools: Tools, namespace: str, image_root: Path) -> None:
    (image_root / "shots").mkdir()
    scene("ui-dashboard").image.save(image_root / "shots" / "dash.png")
    stored = await tools.ok("index", images=[{"path": "shots/dash.png"}], namespace=namespace)
    assert stored["indexed"][0]["origin"] == "file:shots/dash.png"
    found = await tools.ok("search", query="monthly revenue dashboard", namespace=namespace, k=1)
    assert found["items"][0]["id"] == stored["indexed"][0]["id"]


async def test_index_reports_progress_image_by_image(namespace: str, tools: Tools) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    images = [{"data": b64(rendered.png(scene(k).image))} for k in ("slide-hiring", "slide-pricing", "ui-login")]
    async with Client(service.mcp) as client:
        result = await client.call_tool("index", {"images": images, "namespace": namespace}, progress_callback=progress)
        index_tool = next(t for t in (await client.list_tools()).tools if t.name == "index")
    assert not result.is_error
    assert [(done, total) for done, total, _ in seen] == [(1, 3), (2, 3), (3, 3)]
    assert seen[-1][2] == "read 3 of 3 images"
    assert "ctx" not in index_tool.input_schema["properties"]  # the context is injected, not an argument
