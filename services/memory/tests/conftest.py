"""Fixtures: the memory service started in this process against real Redis and Qdrant local mode in a
temporary directory, and an MCP client talking to it in memory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client

from sophia.memory import MemorySettings, service


@pytest.fixture
def namespace() -> str:
    """A namespace no other test uses: the session's Redis is shared."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(tmp_path: Path, redis_url: str) -> MemorySettings:
    return MemorySettings(redis_url=redis_url, data_dir=tmp_path, log_format="text")


class Tools:
    """Calls the service's tools through the MCP SDK client, in memory (a client per call, as the
    gateway's stateless requests are)."""

    def __init__(self, mcp: Any) -> None:
        self.mcp = mcp

    async def call(self, tool: str, **arguments: Any) -> Any:
        async with Client(self.mcp) as mcp_client:
            return await mcp_client.call_tool(tool, arguments)

    async def ok(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """Call a tool and return its structured result; fail the test if it reports an error."""
        result = await self.call(tool, **arguments)
        if result.is_error:
            raise AssertionError(f"{tool} failed: {result.content[0].text}")
        assert result.structured_content is not None
        return dict(result.structured_content)

    async def error(self, tool: str, **arguments: Any) -> str:
        """Call a tool that must fail and return its error message."""
        result = await self.call(tool, **arguments)
        assert result.is_error, f"{tool} succeeded: {result.structured_content}"
        return str(result.content[0].text)


@pytest.fixture
async def tools(settings: MemorySettings) -> AsyncIterator[Tools]:
    await service.start(settings)
    try:
        yield Tools(service.mcp)
    finally:
        await service.stop()
