"""An upstream that answers something other than MCP is a typed error, never a crash.

The "servers" here are local stand-ins (Starlette on loopback) that answer broken HTTP on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from sophia.gateway import keepalive
from sophia.gateway.errors import (
    InvalidRequest,
    UpstreamProtocolError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from sophia.gateway.keepalive import KeepAlivePool
from sophia.gateway.upstream import AiohttpUpstream, HttpUpstream
from sophia.kit.testing import free_port, serve_asgi

Handler = Callable[[Request], Awaitable[Response]]


@pytest.fixture
async def stand_in() -> AsyncIterator[Callable[[Handler | Callable[[], Response]], Awaitable[HttpUpstream]]]:
    """`await stand_in(handler)`: an upstream whose /mcp answers with `handler` (or a fixed response)."""
    async with contextlib.AsyncExitStack() as stack:
        pool = await stack.enter_async_context(KeepAlivePool())

        async def start(handler: Handler | Callable[[], Response]) -> HttpUpstream:
            if not asyncio.iscoroutinefunction(handler):
                answer = handler

                async def handler(request: Request) -> Response:
                    return answer()  # type: ignore[call-arg]

            app = Starlette(routes=[Route("/mcp", handler, methods=["POST"])])
            url = await stack.enter_async_context(serve_asgi(app, lifespan=False))
            return HttpUpstream("odd", f"{url}/mcp", pool)

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
    async with KeepAlivePool() as pool:
        upstream = HttpUpstream("gone", f"http://127.0.0.1:{free_port()}/mcp", pool)
        with pytest.raises(UpstreamUnavailable):
            await upstream.call_tool("x", {}, timeout=2)


async def test_a_401_is_a_refused_internal_credential_and_says_nothing_of_it(stand_in) -> None:
    upstream = await stand_in(lambda: JSONResponse({"error": "missing or invalid internal credential"}, 401))
    with pytest.raises(UpstreamUnavailable, match="refused the gateway's internal credential") as caught:
        await upstream.call_tool("x", {}, timeout=5)
    assert "Bearer" not in str(caught.value)


# The lean keep-alive pool (sophia.gateway.keepalive) under the upstream: reuse, framing, bounds, refusals.


async def _echo_peer(request: Request) -> Response:
    """A JSON-RPC result that says which client connection (peer port) carried the request."""
    body = await request.json()
    assert request.client is not None
    result = {"content": [], "isError": False, "peer": request.client.port, "id": body["id"]}
    return JSONResponse({"jsonrpc": "2.0", "id": body["id"], "result": result})


async def test_sequential_calls_reuse_one_connection(stand_in) -> None:
    upstream = await stand_in(_echo_peer)
    peers = {(await upstream.call_tool("x", {}, timeout=5))["peer"] for _ in range(5)}
    assert len(peers) == 1


async def test_a_connection_the_server_closes_is_not_reused(stand_in) -> None:
    async def closing(request: Request) -> Response:
        response = await _echo_peer(request)
        response.headers["connection"] = "close"
        return response

    upstream = await stand_in(closing)
    peers = [(await upstream.call_tool("x", {}, timeout=5))["peer"] for _ in range(3)]
    assert len(set(peers)) == 3  # each call on a fresh connection, none failed on a closed one


async def test_chunked_answer_is_read_whole(stand_in) -> None:
    async def chunked(request: Request) -> Response:
        body = await request.json()
        text = "y" * 100_000
        reply = orjson.dumps(
            {"jsonrpc": "2.0", "id": body["id"], "result": {"content": [{"type": "text", "text": text}]}}
        )
        return StreamingResponse(iter([reply[:10], reply[10:5000], reply[5000:]]), media_type="application/json")

    upstream = await stand_in(chunked)
    result = await upstream.call_tool("x", {}, timeout=5)
    assert result["content"][0]["text"] == "y" * 100_000


async def test_an_answer_over_the_size_bound_is_unavailable(stand_in, monkeypatch) -> None:
    monkeypatch.setattr(keepalive, "MAX_BODY_BYTES", 1000)
    upstream = await stand_in(lambda: JSONResponse({"jsonrpc": "2.0", "id": 1, "result": {"text": "z" * 5000}}))
    with pytest.raises(UpstreamUnavailable):
        await upstream.call_tool("x", {}, timeout=5)


async def test_a_name_with_a_line_break_is_refused_before_anything_is_sent(stand_in) -> None:
    asked: list[str] = []

    async def recording(request: Request) -> Response:
        asked.append(request.headers.get("mcp-name", ""))
        return await _echo_peer(request)

    upstream = await stand_in(recording)
    with pytest.raises(InvalidRequest, match="line break"):
        await upstream.call_tool("x\r\nx-injected: 1", {}, timeout=5)
    assert asked == []
    assert (await upstream.call_tool("x", {}, timeout=5))["isError"] is False  # the pool is still usable


async def test_a_timed_out_call_leaves_the_pool_usable(stand_in) -> None:
    async def slow_once(request: Request) -> Response:
        body = await request.json()
        if body["params"]["name"] == "slow":
            await asyncio.sleep(1)
        return await _echo_peer(request)

    upstream = await stand_in(slow_once)
    with pytest.raises(UpstreamTimeout):
        await upstream.call_tool("slow", {}, timeout=0.2)
    assert (await upstream.call_tool("x", {}, timeout=5))["isError"] is False


async def test_a_redirected_endpoint_is_followed_on_the_full_client_for_this_and_every_later_call() -> None:
    """An external server mounted at `/mcp/` answers `/mcp` with a 307 (the request not acted on): the lean pool
    follows no redirect, so the call is sent again on aiohttp's client, which follows it, and so is every later
    call. A kit server's upstream (no full client given) reads the same 307 as an invalid answer."""
    seen: list[str] = []

    async def moved(request: Request) -> Response:
        seen.append(request.url.path)
        return Response(status_code=307, headers={"location": "/mcp/"})

    async def mcp(request: Request) -> Response:
        seen.append(request.url.path)
        message = orjson.loads(await request.body())
        return JSONResponse({"jsonrpc": "2.0", "id": message["id"], "result": {"content": [], "isError": False}})

    app = Starlette(routes=[Route("/mcp", moved, methods=["POST"]), Route("/mcp/", mcp, methods=["POST"])])
    async with serve_asgi(app, lifespan=False) as url, KeepAlivePool() as pool, aiohttp.ClientSession() as http:
        upstream = HttpUpstream("moved", f"{url}/mcp", pool, redirected=AiohttpUpstream("moved", f"{url}/mcp", http))
        for _ in range(2):
            assert (await upstream.call_tool("echo", {}, timeout=5))["isError"] is False
        assert seen == ["/mcp", "/mcp", "/mcp/", "/mcp", "/mcp/"]  # the pool once; aiohttp twice, following
        with pytest.raises(UpstreamProtocolError, match="invalid MCP response"):
            await HttpUpstream("kit", f"{url}/mcp", pool).call_tool("echo", {}, timeout=5)
