"""Connections to capability servers: one long-lived client per server, never a session per call.

`HttpUpstream` speaks stateless MCP 2026-07-28 as raw JSON-RPC over a shared, pooled aiohttp client:
no handshake and no session, so a call costs one POST on a kept-alive connection. (aiohttp rather
than httpx here: measured on this hot path, httpx costs about 0.8 ms more per request, which is
the whole latency budget of the gateway.) External servers
that may only speak older revisions, or stdio, go through `SessionUpstream`, which keeps one SDK
client session open for the server's lifetime.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import aiohttp
import mcp_types
import orjson
import yarl
from mcp.client import Client
from mcp.shared.exceptions import MCPError

from sophia.gateway.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from sophia.kit import inject_headers, wire
from sophia.kit.security import InternalCredential

CLIENT_INFO = {"name": "sophia-gateway", "version": "0.1.0"}
_ENVELOPE = wire.envelope(CLIENT_INFO)


#: A call's timeout when the caller gave none (the pipeline always gives one for servers).
DEFAULT_TIMEOUT_S = 60.0
Progress = Callable[[float, float | None, str], Awaitable[None]]


class Upstream(Protocol):
    """What the gateway needs from a server: its tools, and calls to them."""

    service: str

    async def list_tools(self) -> list[dict[str, Any]]: ...

    async def call_tool(
        self,
        tool: str,
        arguments: Mapping[str, Any] | None,
        timeout: float | None,
        *,
        meta: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """The server's `CallToolResult` as a dict. `meta` goes to the server in `params._meta`."""
        ...


class HttpUpstream:
    """A kit server (or any 2026-07-28 server) reached over a pooled HTTP client.

    Each request carries exactly the headers built here: the internal credential when one is given,
    never anything of the caller's (their own Authorization header stays at the gateway).
    """

    def __init__(
        self,
        service: str,
        endpoint: str,
        client: aiohttp.ClientSession,
        credential: InternalCredential | None = None,
    ) -> None:
        self.service = service
        self.endpoint = endpoint
        self._url = yarl.URL(endpoint)  # parsed once, not on every call
        self._client = client
        self._credential = credential
        self._ids = itertools.count(1)

    async def _rpc(self, method: str, params: dict[str, Any], name: str | None, timeout: float) -> dict[str, Any]:
        request_id = next(self._ids)
        headers = wire.request_headers(method, name)
        if self._credential is not None and (authorization := self._credential.authorization()):
            headers["authorization"] = authorization
        inject_headers(headers)
        body = orjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        try:
            async with self._client.post(
                self._url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as response:
                status, content = response.status, await response.read()
                is_sse = response.content_type == "text/event-stream"
        except TimeoutError as exc:
            raise UpstreamTimeout(self.service, f"no answer within {timeout:g}s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(self.service, "server unavailable") from exc
        if status == 401:
            raise UpstreamUnavailable(self.service, "refused the gateway's internal credential (HTTP 401)")
        try:
            message = wire.reply_in_event_stream(content, request_id) if is_sse else orjson.loads(content)
        except ValueError as exc:
            raise UpstreamProtocolError(self.service, f"invalid MCP response (HTTP {status})") from exc
        if not isinstance(message, dict):
            raise UpstreamProtocolError(self.service, "invalid MCP response")
        if "error" in message and isinstance(message["error"], dict):
            raise UpstreamRejected(self.service, message["error"])
        result = message.get("result")
        if not isinstance(result, dict):
            raise UpstreamProtocolError(self.service, f"MCP response without a result (HTTP {status})")
        return result

    async def list_tools(self) -> list[dict[str, Any]]:
        tools: list[dict[str, Any]] = []
        params: dict[str, Any] = {"_meta": _ENVELOPE}
        for _ in range(100):  # a server whose cursor never ends must not hang discovery
            result = await self._rpc("tools/list", params, None, timeout=10)
            tools.extend(t for t in result.get("tools", []) if isinstance(t, dict))
            cursor = result.get("nextCursor")
            if not isinstance(cursor, str):
                break
            params = {"_meta": _ENVELOPE, "cursor": cursor}
        return tools

    async def call_tool(
        self,
        tool: str,
        arguments: Mapping[str, Any] | None,
        timeout: float | None,
        *,
        meta: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        envelope = {**meta, **_ENVELOPE} if meta else _ENVELOPE  # the protocol's own keys always win
        params = {"name": tool, "arguments": arguments or {}, "_meta": envelope}
        return await self._rpc("tools/call", params, tool, timeout or DEFAULT_TIMEOUT_S)


class SessionUpstream:
    """An external server behind one SDK client session that stays open (URL or stdio)."""

    def __init__(self, service: str, client: Client) -> None:
        self.service = service
        self._client = client

    async def list_tools(self) -> list[dict[str, Any]]:
        result = await self._client.list_tools()
        return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in result.tools]

    async def call_tool(
        self,
        tool: str,
        arguments: Mapping[str, Any] | None,
        timeout: float | None,
        *,
        meta: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        timeout = timeout or DEFAULT_TIMEOUT_S
        try:
            result = await self._client.call_tool(
                tool,
                dict(arguments or {}),
                read_timeout_seconds=timeout,
                meta=dict(meta) if meta else None,  # type: ignore[arg-type]
            )
        except MCPError as exc:
            if exc.error.code == mcp_types.CONNECTION_CLOSED:
                raise UpstreamUnavailable(self.service, "server unavailable") from exc
            if exc.error.code == mcp_types.REQUEST_TIMEOUT:
                raise UpstreamTimeout(self.service, f"no answer within {timeout:g}s") from exc
            raise UpstreamRejected(self.service, exc.error.model_dump(mode="json", exclude_none=True)) from exc
        except TimeoutError as exc:
            raise UpstreamTimeout(self.service, f"no answer within {timeout:g}s") from exc
        except UpstreamError:
            raise
        except Exception as exc:  # the session broke: the supervisor will reconnect
            raise UpstreamUnavailable(self.service, "server unavailable") from exc
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)

    async def ping(self) -> None:
        await self._client.send_ping()
