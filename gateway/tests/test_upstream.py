"""An upstream that answers something other than MCP is a typed error, never a crash.

The "servers" here are local stand-ins (Starlette on loopback) that answer broken HTTP on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sophia.gateway.errors import (
    UpstreamProtocolError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from sophia.gateway.upstream import HttpUpstream
from sophia.kit.testing import free_port, serve_asgi

Handler = Callable[[Request], Awaitable[Response]]


@pytest.fixture
async def stand_in() -> AsyncIterator[Callable[[Handler | Callable[[], Response]], Awaitable[HttpUpstream]]]:
    """`await stand_in(handler)`: an upstream whose /mcp answers with `handler` (or a fixed response)."""
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession())

        async def start(handler: Handler | Callable[[], Response]) -> HttpUpstream:
            if not asyncio.iscoroutinefunction(handler):
                answer = handler

                async def handler(request: Request) -> Response:
                    return answer()  # type: ignore[call-arg]

            app = Starlette(routes=[Route("/mcp", handler, methods=["POST"])])
            url = await stack.enter_async_context(serve_asgi(app, lifespan=False))
            return HttpUpstream("odd", f"{url}/mcp", session)

        yield start


async def test_html_answer_is_a_protocol_error(stand_in) -> None:
    upstream = await stand_in(lambda: HTMLResponse("<html>oops</html>", status_code=500))
    with pytest.raises(UpstreamProtocolError, match="invalid MCP response"):
        await upstream.call_tool("x", {}, timeout=5)


async def test_json_without_result_is_a_protocol_error(stand_in) -> None:
    upstream = await stand_in(lambda: JSONResponse({"jsonrpc": "2.0", "id": 1}))
    with pytest.raises(UpstreamProtocolError, match="without a result"):
        await upstream.call_tool("x", {}, timeout=5)


async def test_json_rpc_error_is_passed_on_unchanged(stand_in) -> None:
    error = {"code": -32602, "message": "bad arguments", "data": {"field": "a"}}
    upstream = await stand_in(lambda: JSONResponse({"jsonrpc": "2.0", "id": 1, "error": error}))
    with pytest.raises(UpstreamRejected) as caught:
        await upstream.call_tool("x", {}, timeout=5)
    assert caught.value.error == error


async def test_sse_answer_yields_the_reply_after_progress_events(stand_in) -> None:
    body = (
        'event: message\r\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{}}\r\n\r\n'
        'event: message\r\ndata: {"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":false}}\r\n\r\n'
    )
    upstream = await stand_in(lambda: Response(body, media_type="text/event-stream"))
    assert await upstream.call_tool("x", {}, timeout=5) == {"content": [], "isError": False}


async def test_slow_answer_is_a_timeout(stand_in) -> None:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(2)
        return JSONResponse({})

    upstream = await stand_in(slow)
    with pytest.raises(UpstreamTimeout):
        await upstream.call_tool("x", {}, timeout=0.2)


async def test_closed_port_is_unavailable() -> None:
    async with aiohttp.ClientSession() as session:
        upstream = HttpUpstream("gone", f"http://127.0.0.1:{free_port()}/mcp", session)
        with pytest.raises(UpstreamUnavailable):
            await upstream.call_tool("x", {}, timeout=2)


async def test_a_401_is_a_refused_internal_credential_and_says_nothing_of_it(stand_in) -> None:
    upstream = await stand_in(lambda: JSONResponse({"error": "missing or invalid internal credential"}, 401))
    with pytest.raises(UpstreamUnavailable, match="refused the gateway's internal credential") as caught:
        await upstream.call_tool("x", {}, timeout=5)
    assert "Bearer" not in str(caught.value)
