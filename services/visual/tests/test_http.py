"""The service as `sophia up` runs it: its own process, MCP over real HTTP, the index on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.client import Client

import sophia.visual.__main__ as entry_point
from sophia.kit.testing import KitServer

from . import rendered
from .conftest import b64


@pytest.fixture
def server(tmp_path: Path) -> Iterator[KitServer]:
    process = KitServer(
        Path(entry_point.__file__),
        "visual",
        tmp_path / "logs",
        env={"SOPHIA_DATA_DIR": str(tmp_path / "data")},
        settings={"log_level": "WARNING"},
    )
    yield process.start(timeout=60)
    process.stop()


async def test_images_persist_across_a_process_restart_over_http(server: KitServer, namespace: str) -> None:
    scene = next(s for s in rendered.scenes() if s.key == "scan-shipping")
    async with Client(server.mcp_url) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert tools["delete"].annotations is not None and tools["delete"].annotations.destructive_hint
        assert (tools["delete"].meta or {}).get("sophia/risk") == "high"
        stored = await client.call_tool(
            "index",
            {"images": [{"data": b64(rendered.jpeg(scene.image, 80)), "title": "manifest"}], "namespace": namespace},
        )
        assert not stored.is_error and stored.structured_content is not None
    server.stop()
    server.start(timeout=60)  # the local index is rebuilt from Qdrant's files at start
    async with Client(server.mcp_url) as client:
        found = await client.call_tool("search", {"query": "Rotterdam shipping manifest", "namespace": namespace})
    assert found.structured_content is not None
    items = found.structured_content["items"]
    assert [item["id"] for item in items] == [stored.structured_content["indexed"][0]["id"]]
    assert {"rotterdam", "manifest"} <= set(items[0]["why"]["matched_words"])
