"""An upstream that answers something other than MCP is a typed error, never a crash.

The "servers" here are local aiohttp stand-ins that answer broken HTTP on purpose.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from sophia.gateway.errors import (
    UpstreamProtocolError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from sophia.gateway.upstream import HttpUpstream
from sophia.kit.testing import free_port

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def stand_in() -> AsyncIterator[Callable[[Handler], Awaitable[HttpUpstream]]]:
    runners: list[web.AppRunner] = []
    session = aiohttp.ClientSession()

    async def start(handler: Handler | Callable[[], web.StreamResponse]) -> HttpUpstream:
        if not asyncio.iscoroutinefunction(handler):
            answer = handler

            async def handler(request: web.Request) -> web.StreamResponse:
                return answer()  # type: ignore[call-arg]

        app = web.Application()
        app.router.add_post("/mcp", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        return HttpUpstream("odd", f"http://127.0.0.1:{port}/mcp", session)

    yield start
    await session.close()
    for runner in runners:
        await runner.cleanup()


async def test_html_answer_is_a_protocol_error(stand_in) -> None:
    upstream = await stand_in(lambda: web.Response(text="<html>oops</html>", status=500))
    with pytest.raises(UpstreamProtocolError, match="invalid MCP response"):
        await upstream.call_tool("x", {}, timeout=5)


async def test_json_without_result_is_a_protocol_error(stand_in) -> None:
    upstream = await stand_in(lambda: web.json_response({"jsonrpc": "2.0", "id": 1}))
    with pytest.raises(UpstreamProtocolError, match="without a result"):
        await upstream.call_tool("x", {}, timeout=5)


async def test_json_rpc_error_is_passed_on_unchanged(stand_in) -> None:
    error = {"code": -32602, "message": "bad arguments", "data": {"field": "a"}}
    upstream = await stand_in(lambda: web.json_response({"jsonrpc": "2.0", "id": 1, "error": error}))
    with pytest.raises(UpstreamRejected) as caught:
        await upstream.call_tool("x", {}, timeout=5)
    assert caught.value.error == error


async def test_sse_answer_yields_the_reply_after_progress_events(stand_in) -> None:
    body = (
        'event: message\r\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{}}\r\n\r\n'
        'event: message\r\ndata: {"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":false}}\r\n\r\n'
    )
    upstream = await stand_in(lambda: web.Response(text=body, content_type="text/event-stream"))
    assert await upstream.call_tool("x", {}, timeout=5) == {"content": [], "isError": False}


async def test_slow_answer_is_a_timeout(stand_in) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    upstream = await stand_in(slow)
    with pytest.raises(UpstreamTimeout):
        await upstream.call_tool("x", {}, timeout=0.2)


async def test_closed_port_is_unavailable() -> None:
    async with aiohttp.ClientSession() as session:
        upstream = HttpUpstream("gone", f"http://127.0.0.1:{free_port()}/mcp", session)
        with pytest.raises(UpstreamUnavailable):
            await upstream.call_tool("x", {}, timeout=2)
