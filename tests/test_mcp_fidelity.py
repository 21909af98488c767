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
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel

from sophia.gateway.input_required import MAX_REQUEST_STATE
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


class AskingUpstream:
    """A 2026-07-28 SDK server (low-level `Server`) whose tool asks the user before it answers: the first call
    gets an `input_required` result (an elicitation and an opaque `requestState`), the retry carries the
    answer and the state back. It notes every `requestState` it was sent."""

    STATE = "opaque:round-1:7f3a"

    def __init__(self) -> None:
        self.states: list[str | None] = []
        tool = mcp_types.Tool(name="confirm", description="Ask for a name, then greet it.", input_schema=_OBJECT)
        self.server: Server[Any] = Server("asking", on_list_tools=self._list, on_call_tool=self._call)
        self.tools = [tool]

    async def _list(
        self, ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        return mcp_types.ListToolsResult(tools=self.tools)

    async def _call(
        self, ctx: ServerRequestContext[Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult | mcp_types.InputRequiredResult:
        self.states.append(params.request_state)
        answer = (params.input_responses or {}).get("name")
        if answer is None or params.request_state != self.STATE:
            form = mcp_types.ElicitRequestFormParams(message="Your name?", requested_schema=_NAME_FORM)
            ask = mcp_types.ElicitRequest(params=form)
            return mcp_types.InputRequiredResult(input_requests={"name": ask}, request_state=self.STATE)
        name = answer.content["name"] if isinstance(answer, mcp_types.ElicitResult) and answer.content else "?"
        return mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text=f"hello {name}")])


_OBJECT: dict[str, Any] = {"type": "object", "properties": {}}
_NAME_FORM: dict[str, Any] = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


class _Name(BaseModel):
    name: str


async def test_2025_upstream_asking_a_2026_client_is_refused_saying_why(tmp_path: Path) -> None:
    """A 2025-11-25 upstream asks while it holds the call open, which a 2026-07-28 client of the gateway cannot
    answer: the question is refused, and the client hears why instead of waiting."""
    server = MCPServer("holding")

    @server.tool()
    async def greet(ctx: Context) -> str:
        """Ask for a name on the call's stream, then greet it."""
        answer = await ctx.elicit("Your name?", _Name)
        return f"hello {answer.data.name}" if answer.action == "accept" else "no name"

    async def elicit(context: Any, params: mcp_types.ElicitRequestParams) -> mcp_types.ElicitResult:
        return mcp_types.ElicitResult(action="accept", content={"name": "ada"})

    async with serve_asgi(server.streamable_http_app()) as url:
        external: list[dict[str, Any]] = [{"name": "up", "url": f"{url}/mcp", "protocol": "2025-11-25"}]
        gateway = GatewayProcess([], tmp_path, external=external)
        await asyncio.to_thread(gateway.start)
        try:
            await asyncio.to_thread(gateway.wait_for_tools, {"up_greet"})
            async with Client(gateway.mcp_url, mode="2026-07-28", elicitation_callback=elicit) as client:
                # The upstream's SDK passes the gateway's refusal of its question on as the call's error.
                with pytest.raises(MCPError, match="elicitation/create refused"):
                    await client.call_tool("up_greet", {})
        finally:
            await asyncio.to_thread(gateway.stop)


async def test_2026_client_is_asked_with_input_required_through_the_gateway(tmp_path: Path) -> None:
    """A 2026-07-28 client calls, through the gateway, a tool of a 2026-07-28 server that asks for elicitation:
    it gets the server's `input_required` round (the tool namespaced, the `requestState` untouched), retries with
    its answer and the state (once on the raw path, once listening for progress on the SDK path), and gets the
    tool's result; the SDK client's own input_required loop works the same way. An oversized `requestState` is
    refused before it reaches the server."""
    up = AskingUpstream()
    async with serve_asgi(up.server.streamable_http_app()) as url:
        external: list[dict[str, Any]] = [{"name": "up", "url": f"{url}/mcp", "protocol": "2026-07-28"}]
        gateway = GatewayProcess([], tmp_path, external=external)
        await asyncio.to_thread(gateway.start)
        try:
            await asyncio.to_thread(gateway.wait_for_tools, {"up_confirm"})

            async def elicit(context: Any, params: mcp_types.ElicitRequestParams) -> mcp_types.ElicitResult:
                assert params.message == "Your name?"
                return mcp_types.ElicitResult(action="accept", content={"name": "ada"})

            async with Client(gateway.mcp_url, mode="2026-07-28", elicitation_callback=elicit) as client:
                first = await client.session.call_tool("up_confirm", {}, allow_input_required=True)
                assert isinstance(first, mcp_types.InputRequiredResult)
                assert first.request_state == AskingUpstream.STATE
                assert isinstance((first.input_requests or {})["name"], mcp_types.ElicitRequest)

                answer = {"name": mcp_types.ElicitResult(action="accept", content={"name": "grace"})}
                done = await client.session.call_tool(
                    "up_confirm", {}, input_responses=answer, request_state=first.request_state
                )
                assert done.content[0].text == "hello grace"  # type: ignore[union-attr]

                async def progress(done: float, total: float | None, message: str | None) -> None:
                    """Listening for progress takes the gateway's SDK path (and the upstream's SDK session)."""

                listened = await client.session.call_tool(
                    "up_confirm", {}, progress_callback=progress, input_responses=answer, request_state=up.STATE
                )
                assert listened.content[0].text == "hello grace"  # type: ignore[union-attr]

                looped = await client.call_tool("up_confirm", {})  # the SDK client drives the round itself
                assert looped.content[0].text == "hello ada"  # type: ignore[union-attr]

                sent = len(up.states)
                with pytest.raises(MCPError, match="requestState"):
                    await client.session.call_tool(
                        "up_confirm", {}, input_responses=answer, request_state="x" * (MAX_REQUEST_STATE + 1)
                    )
                assert len(up.states) == sent  # refused at the gateway
            assert up.states[:2] == [None, AskingUpstream.STATE]
        finally:
            await asyncio.to_thread(gateway.stop)
