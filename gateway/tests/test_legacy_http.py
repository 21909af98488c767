"""The pooled raw path to a 2025-11-25 URL server (`LegacyHttpUpstream`), against the MCP Python SDK's own
server over Streamable HTTP on loopback: one session opened at the start and reused, opened again when the
server has forgotten it, and a server that asks a question of a session that declared no capability is
refused at once instead of leaving the call waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import mcp_types
import pytest
from mcp.server.mcpserver import Context, MCPServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from sophia.gateway.errors import UpstreamProtocolError, UpstreamRejected
from sophia.gateway.legacy_http import LegacyHttpUpstream
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
