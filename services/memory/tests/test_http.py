"""The service as `sophia up` runs it: its own process, MCP over real HTTP, state on disk and in Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.client import Client

import sophia.memory.__main__ as entry_point
from sophia.kit.testing import KitServer


@pytest.fixture
def server(tmp_path: Path, redis_url: str) -> Iterator[KitServer]:
    process = KitServer(
        Path(entry_point.__file__),
        "memory",
        tmp_path / "logs",
        env={"REDIS_URL": redis_url, "SOPHIA_DATA_DIR": str(tmp_path / "data")},
        settings={"log_level": "WARNING"},
    )
    yield process.start(timeout=60)
    process.stop()


async def test_memories_persist_across_a_process_restart_over_http(server: KitServer, namespace: str) -> None:
    async with Client(server.mcp_url) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert tools["forget"].annotations is not None and tools["forget"].annotations.destructive_hint
        stored = await client.call_tool("remember", {"text": "Backups are tested every Sunday", "namespace": namespace})
        assert not stored.is_error and stored.structured_content is not None
    server.stop()
    server.start(timeout=60)
    async with Client(server.mcp_url) as client:
        found = await client.call_tool("recall", {"query": "when do we verify backups?", "namespace": namespace})
    assert found.structured_content is not None
    assert [item["id"] for item in found.structured_content["items"]] == [stored.structured_content["id"]]
