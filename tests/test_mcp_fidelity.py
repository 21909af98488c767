"""MCP features on forwarded calls, end to end: a client, the gateway process, and an external MCP SDK server
(served in this test's event loop on loopback): cancellation reaches the server, `_meta` travels both ways."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import mcp_types
import pytest
from mcp.client import Client
from mcp.server.mcpserver import Context, MCPServer

from sophia.kit.testing import serve_asgi
from tests.support.fleet import GatewayProcess


class Upstream:
    """An SDK server whose tools report what they saw."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.cancelled = asyncio.Event()
        self.server = MCPServer("upstream")

        @self.server.tool()
        async def slow(seconds: float) -> str:
            """Sleep, noting whether it was cancelled."""
            self.events.append("started")
            try:
                await asyncio.sleep(seconds)
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
            return "done"

        @self.server.tool()
        async def echo_meta(ctx: Context) -> mcp_types.CallToolResult:
            """Answer with the request's `_meta` as text and a `_meta` of its own."""
            seen = dict(ctx.request_context.meta or {})
            return mcp_types.CallToolResult(
                content=[mcp_types.TextContent(type="text", text=str(seen.get("example.com/trace")))],
                _meta={"example.com/answered-by": "upstream"},
            )


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    up = Upstream()
    async with serve_asgi(up.server.streamable_http_app()) as url:
        yield up, f"{url}/mcp"


async def start_gateway(tmp_path: Path, url: str, protocol: str) -> GatewayProcess:
    external: list[dict[str, Any]] = [{"name": "up", "url": url, "protocol": protocol}]
    gateway = GatewayProcess([], tmp_path, external=external)
    await asyncio.to_thread(gateway.start)
    await asyncio.to_thread(gateway.wait_for_tools, {"up_slow", "up_echo_meta"})
    return gateway


@pytest.mark.parametrize(("client_mode", "protocol"), [("legacy", "2026-07-28"), ("auto", "2025-11-25")])
async def test_cancelled_call_is_cancelled_upstream_and_meta_travels_both_ways(
    upstream: tuple[Upstream, str], tmp_path: Path, client_mode: str, protocol: str
) -> None:
    """A 2025-11-25 client cancels with a notification (on a new POST to the stateless endpoint), a 2026-07-28
    client by closing its stream; either way the upstream's handler is cancelled, in either upstream era."""
    up, url = upstream
    gateway = await start_gateway(tmp_path, url, protocol)
    try:
        async with Client(gateway.mcp_url, mode=client_mode) as client:
            result = await client.call_tool("up_echo_meta", {}, meta={"example.com/trace": "t-1"})
            assert result.content[0].text == "t-1"  # type: ignore[union-attr]
            assert (result.meta or {}).get("example.com/answered-by") == "upstream"

            call = asyncio.create_task(client.call_tool("up_slow", {"seconds": 30}))
            async with asyncio.timeout(10):
                while not up.events:
                    await asyncio.sleep(0.05)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            await asyncio.wait_for(up.cancelled.wait(), 10)
    finally:
        await asyncio.to_thread(gateway.stop)
