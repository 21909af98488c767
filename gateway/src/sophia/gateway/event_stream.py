"""A 2025-11-25 client's tools/call answered as an event stream, on which the gateway can talk back.

While an external server answers the call, it may log, report progress, or ask the client for sampling or
elicitation. All of it goes out as events on the response to the client's POST: notifications as they come, a
request with an id minted by `ClientRequests` (whose answer the client POSTs separately, to any replica), and
the call's own response last.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import mcp_types
import orjson
from mcp.server.connection import Connection
from mcp.shared.exceptions import MCPError
from starlette.types import Send

from sophia.gateway.client_requests import ClientRequestError, ClientRequests, NotAnswered

_Answer = TypeVar("_Answer", mcp_types.CreateMessageResult, mcp_types.ElicitResult)
_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache, no-transform")]
#: The longest error message of a client passed on to the upstream.
_MAX_MESSAGE = 500


class EventStream:
    """The response to one POST, as server-sent events (one JSON-RPC message each)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._lock = asyncio.Lock()  # log lines, progress and requests come from different tasks
        self._started = False
        self._closed = False

    @property
    def started(self) -> bool:
        return self._started

    async def event(self, message: dict[str, Any]) -> None:
        body = b"event: message\ndata: " + orjson.dumps(message) + b"\n\n"
        async with self._lock:
            if self._closed:
                return
            if not self._started:
                await self._send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
                self._started = True
            await self._send({"type": "http.response.body", "body": body, "more_body": True})

    async def close(self) -> None:
        async with self._lock:
            if self._closed or not self._started:
                return
            self._closed = True
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})


class StreamPeer:
    """The client of one streamed call, as the relay sees it (`relay.Peer`)."""

    def __init__(
        self,
        stream: EventStream,
        version: str,
        capabilities: dict[str, Any] | None,
        principal: str,
        requests: ClientRequests,
    ) -> None:
        self._stream = stream
        # The SDK's own reading of declared capabilities decides what may be asked.
        self._connection = Connection.from_envelope(version, None, capabilities)
        self._principal = principal
        self._requests = requests

    def can_ask(self, capability: mcp_types.ClientCapabilities) -> bool:
        return self._connection.check_capability(capability)

    async def log(self, params: mcp_types.LoggingMessageNotificationParams) -> None:
        await self._notify("notifications/message", params.model_dump(mode="json", by_alias=True, exclude_none=True))

    async def progress(self, token: str | int, done: float, total: float | None, message: str) -> None:
        params: dict[str, Any] = {"progressToken": token, "progress": done}
        if total is not None:
            params["total"] = total
        if message:
            params["message"] = message
        await self._notify("notifications/progress", params)

    async def ask(self, request: Any, answer: type[_Answer]) -> _Answer:
        data = request.model_dump(mode="json", by_alias=True, exclude_none=True)

        async def send(request_id: str) -> None:
            await self._stream.event({"jsonrpc": "2.0", "id": request_id, **data})

        try:
            response = await self._requests.ask(self._principal, send)
        except ClientRequestError as exc:
            code = mcp_types.REQUEST_TIMEOUT if isinstance(exc, NotAnswered) else mcp_types.INVALID_REQUEST
            raise MCPError(code, f"{data['method']}: {exc}") from None
        if "error" in response:
            raise MCPError(*_client_error(response["error"]))
        return answer.model_validate(response.get("result"), by_name=False)

    async def _notify(self, method: str, params: dict[str, Any]) -> None:
        await self._stream.event({"jsonrpc": "2.0", "method": method, "params": params})


def _client_error(error: Any) -> tuple[int, str, Any]:
    """A client's JSON-RPC error, as it goes on to the upstream (untrusted: shape checked, message bounded)."""
    if not isinstance(error, dict):
        return mcp_types.INTERNAL_ERROR, "the client answered with a malformed error", None
    code = error.get("code")
    message = error.get("message")
    return (
        code if isinstance(code, int) and not isinstance(code, bool) else mcp_types.INTERNAL_ERROR,
        message[:_MAX_MESSAGE] if isinstance(message, str) else "the client refused",
        error.get("data"),
    )
