"""`sophia mcp`: a stdio MCP server that forwards to the gateway, for clients that only start local
commands (Claude Desktop).

One MCP client to the gateway is opened at start and kept for the bridge's lifetime: a new session
per call would cost tens of milliseconds each. `tools/list` and `tools/call` are forwarded as they
are; a tool's own failure stays a tool result with `isError`, a protocol error from the gateway stays
a JSON-RPC error. Not built: forwarding `tools/list_changed`, resources and prompts (the gateway
serves tools only).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import anyio
import mcp_types
from mcp.client import Client
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

logger = logging.getLogger("sophia.gateway.cli.bridge")


class GatewayUnreachable(RuntimeError):
    """The gateway did not answer when the bridge started."""


def build_server(gateway: Client, url: str) -> Server[Any]:
    """A low-level MCP server whose tools are the gateway's."""

    async def list_tools(
        ctx: ServerRequestContext[Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        return await gateway.list_tools(cursor=params.cursor if params else None)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        try:
            return await gateway.call_tool(params.name, params.arguments)
        except MCPError:
            raise  # the gateway's JSON-RPC error (unknown tool, bad arguments) reaches the client unchanged
        except Exception as exc:
            # Transport failures become a result the model can read, not a dead connection.
            logger.warning("forwarding %s to %s failed: %s", params.name, url, exc)
            return mcp_types.CallToolResult(
                content=[
                    mcp_types.TextContent(
                        type="text", text=f"the Sophia gateway at {url} did not answer: {exc}"
                    )
                ],
                is_error=True,
            )

    return Server(
        "sophia",
        version="0.1.0",
        instructions=gateway.instructions,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve(url: str) -> None:
    """Bridge stdin/stdout to the gateway's MCP endpoint at `url` until stdin closes."""
    async with contextlib.AsyncExitStack() as stack:
        try:
            # No response cache: the gateway's tool list changes as servers come and go, and the client
            # on the other side of the bridge keeps its own.
            gateway = await stack.enter_async_context(Client(url, cache=None))
        except Exception as exc:
            raise GatewayUnreachable(
                f"the gateway at {url} did not answer ({type(exc).__name__}: {exc}); is `sophia up` running?"
            ) from exc
        server = build_server(gateway, url)
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())


def run(url: str) -> None:
    # stdout carries the protocol: logs go to stderr, where MCP clients collect them.
    logging.basicConfig(level=logging.WARNING, format="sophia mcp: %(levelname)s %(message)s")
    anyio.run(serve, url)
