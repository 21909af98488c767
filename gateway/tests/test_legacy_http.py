"""The pooled raw path to a 2025-11-25 URL server (`LegacyHttpUpstream`), against the MCP Python SDK's own
server over Streamable HTTP on loopback: one session opened at the start and reused, opened again when the
server has forgotten it, and a server that asks a question of a session that declared no capability is
refused at once instead of leaving the call waiting."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import mcp_types
import pytest
from mcp.server.mcpserver import Context, MCPServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from sophia.gateway.errors import UpstreamProtocolError, UpstreamRejected
from sophia.gateway.legacy_http import GIVE_UP_AFTER, LOOK_AGAIN_EVERY, LegacyHttpUpstream, StreamEnds
from sophia.kit.testing import serve_asgi

#: What the slow tool went through (one test uses it at a time).
STARTED, CANCELLED = asyncio.Event(), asyncio.Event()


def build_server() -> tuple[MCPServer, list[str]]:
    server = MCPServer("legacy")
    sessions: list[str] = []

    @server.tool()
    async def slow() -> str:
        STARTED.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            CANCELLED.set()
            raise
        return "done"

    @server.tool()
    async def echo(text: str, ctx: Context) -> str:
        sessions.append(str(ctx.request_context.request.headers.get("mcp-session-id")))  # type: ignore[union-attr]
        return text

    @server.tool()
    async def ask(ctx: Context) -> str:
        answer = await ctx.request_context.session.create_message(
            messages=[mcp_types.SamplingMessage(role="user", content=mcp_types.TextContent(type="text", text="hi"))],
            max_tokens=5,
            related_request_id=ctx.request_id,
        )
        return str(answer)

    return server, sessions


#: TCP connections the gateway's client opened (aiohttp's public tracing hooks).
CONNECTIONS: list[str] = []


async def _connected(session: aiohttp.ClientSession, context: object, params: object) -> None:
    CONNECTIONS.append("new")


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[LegacyHttpUpstream, list[str]]]:
    server, sessions = build_server()
    tracing = aiohttp.TraceConfig()
    tracing.on_connection_create_end.append(_connected)
    CONNECTIONS.clear()
    async with serve_asgi(server.streamable_http_app()) as url, aiohttp.ClientSession(trace_configs=[tracing]) as http:
        direct = LegacyHttpUpstream("legacy", f"{url}/mcp", http)
        await direct.open()
        try:
            yield direct, sessions
        finally:
            await direct.close()


async def test_calls_share_the_one_session_opened_at_the_start(upstream: tuple[LegacyHttpUpstream, list[str]]) -> None:
    direct, sessions = upstream
    for text in ("a", "b", "c"):
        result = await direct.call_tool("echo", {"text": text}, 10)
        assert result["content"][0]["text"] == text and not result.get("isError")
    assert len(set(sessions)) == 1 and sessions[0] != "None"


async def test_sequential_calls_reuse_one_connection(upstream: tuple[LegacyHttpUpstream, list[str]]) -> None:
    """Each reply comes in an event stream the server ends after it: read to that end, the connection goes
    back to the pool instead of being closed, so twenty calls do not open twenty connections."""
    direct, _ = upstream
    before = len(CONNECTIONS)
    for n in range(20):
        result = await direct.call_tool("echo", {"text": str(n)}, 10)
        assert result["content"][0]["text"] == str(n)
    assert len(CONNECTIONS) - before <= 1


async def test_a_cancelled_call_is_cancelled_on_the_server(upstream: tuple[LegacyHttpUpstream, list[str]]) -> None:
    """A 2025-11-25 server does not stop a request whose connection closed: the gateway tells it."""
    direct, _ = upstream
    STARTED.clear()
    CANCELLED.clear()
    call = asyncio.ensure_future(direct.call_tool("slow", {}, 60))
    await asyncio.wait_for(STARTED.wait(), 10)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await asyncio.wait_for(CANCELLED.wait(), 10)


async def test_a_session_the_server_forgot_is_opened_again(upstream: tuple[LegacyHttpUpstream, list[str]]) -> None:
    direct, sessions = upstream
    await direct.call_tool("echo", {"text": "before"}, 10)
    await direct.close()  # the server ends the session; the next call meets a 404 and opens a new one
    direct._session = sessions[0]  # as if the server had forgotten it on its own (a restart, an expiry)
    result = await direct.call_tool("echo", {"text": "after"}, 10)
    assert result["content"][0]["text"] == "after"
    assert sessions[-1] != sessions[0]


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_a_question_nobody_can_answer_is_refused_at_once(upstream: tuple[LegacyHttpUpstream, list[str]]) -> None:
    """The SDK's server passes the refusal on as the call's own error, which reaches our caller unchanged."""
    direct, _ = upstream
    with pytest.raises(UpstreamRejected, match="sampling/createMessage refused: no client of the gateway can answer"):
        await direct.call_tool("ask", {}, 30)


async def test_a_server_that_is_not_mcp_is_a_protocol_error() -> None:
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse("<html>")

    async with (
        serve_asgi(Starlette(routes=[Route("/mcp", page, methods=["POST"])])) as url,
        aiohttp.ClientSession() as http,
    ):
        with pytest.raises(UpstreamProtocolError):
            await LegacyHttpUpstream("web", f"{url}/mcp", http).open()


def open_streams_server(hold_s: float) -> Starlette:
    """A 2025-11-25 server written out by hand whose event streams stay open `hold_s` after each reply (the
    protocol allows it; the SDK's own server ends them at once)."""

    async def mcp(request: Request) -> Response:
        message = await request.json()
        if "id" not in message:
            return Response(status_code=202)
        if message["method"] == "initialize":
            result = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                      "serverInfo": {"name": "open-streams", "version": "1"}}  # fmt: skip
            return JSONResponse(
                {"jsonrpc": "2.0", "id": message["id"], "result": result}, headers={"mcp-session-id": "s1"}
            )
        reply = {"jsonrpc": "2.0", "id": message["id"], "result": {"content": [{"type": "text", "text": "ok"}]}}

        async def events() -> AsyncIterator[bytes]:
            yield f"event: message\ndata: {json.dumps(reply)}\n\n".encode()
            await asyncio.sleep(hold_s)

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/mcp", mcp, methods=["POST"])])


async def test_a_server_that_keeps_its_streams_open_is_not_waited_for_after_a_few_late_ends() -> None:
    async with serve_asgi(open_streams_server(hold_s=5)) as url, aiohttp.ClientSession() as http:
        direct = LegacyHttpUpstream("open", f"{url}/mcp", http)
        await direct.open()
        for _ in range(GIVE_UP_AFTER + 5):
            result = await direct.call_tool("anything", {}, 10)
            assert result["content"][0]["text"] == "ok"
        assert direct._stream_ends.late == GIVE_UP_AFTER  # it stopped waiting: no later call was late


def test_one_late_stream_end_is_load_not_a_server_that_keeps_streams_open() -> None:
    ends = StreamEnds("svc")
    for _ in range(GIVE_UP_AFTER - 1):
        ends.was_late()
    assert ends.worth_waiting()
    ends.ended()  # the next stream ended in time: the late ones are forgotten
    for _ in range(GIVE_UP_AFTER - 1):
        ends.was_late()
    assert ends.worth_waiting()
    ends.was_late()
    looks = [ends.worth_waiting() for _ in range(LOOK_AGAIN_EVERY * 3)]
    assert looks.count(True) == 3  # given up, it still looks again once in LOOK_AGAIN_EVERY calls
    ends.ended()
    assert all(ends.worth_waiting() for _ in range(10))  # a look that saw the end: waiting again
