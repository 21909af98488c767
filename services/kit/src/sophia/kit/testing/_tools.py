"""Call a kit service's tools in this process through the MCP SDK client: the service started for real
(dependencies built, closed after), no sockets."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from mcp.client import Client

from sophia.kit._service import Service
from sophia.kit._settings import ServiceSettings


class ToolClient:
    """A client per call, as the gateway's stateless requests are."""

    def __init__(self, service: Service) -> None:
        self.mcp = service.mcp

    async def call(self, tool: str, **arguments: Any) -> Any:
        return await self.call_with_meta(tool, None, **arguments)

    async def call_with_meta(self, tool: str, meta: dict[str, Any] | None, **arguments: Any) -> Any:
        """A call whose request carries `_meta` (an approval grant or probe, say)."""
        async with Client(self.mcp) as mcp_client:
            return await mcp_client.call_tool(tool, arguments, meta=meta)  # type: ignore[arg-type]

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


@contextlib.asynccontextmanager
async def started(service: Service, settings: ServiceSettings) -> AsyncIterator[ToolClient]:
    """`service` started with `settings` (its dependencies built), stopped (and closed) on exit."""
    await service.start(settings)
    try:
        yield ToolClient(service)
    finally:
        await service.stop()
