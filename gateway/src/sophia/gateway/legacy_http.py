"""A 2025-11-25 URL server reached over the gateway's pooled HTTP client, for calls nobody listens in on.

The SDK client session that `SessionUpstream` keeps costs an external call most of the gateway's latency at
2025-11-25 (typed validation both ways, its dispatcher, and a new connection for each POST). A call with no
client to relay to (no progress, no logs, nobody who could answer sampling or elicitation) needs none of
that: this opens a session of its own on the server (`initialize` once, its session id on every POST, opened
again when the server forgets it) and sends raw JSON-RPC on kept-alive connections, as `HttpUpstream` does at
2026-07-28. The session declares no capabilities, so a server must not ask it anything; one that does anyway
is told at once that nobody can answer, as the relay would tell it, rather than left waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
import mcp_types
import orjson
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION

from sophia.gateway.errors import UpstreamProtocolError, UpstreamUnavailable
from sophia.gateway.upstream import CLIENT_INFO, DEFAULT_TIMEOUT_S, AiohttpUpstream, Progress, RawUpstream
from sophia.kit import inject_headers, wire

logger = logging.getLogger("sophia.gateway.legacy_http")

#: Longest event the stream reader accepts (a result is one event); past it the reply is a protocol error.
MAX_EVENT_BYTES = 16 * 1024 * 1024
#: After the reply: how long the stream's end may take to arrive, and how much may still come before it.
STREAM_END_S = 0.05
MAX_TAIL_BYTES = 64 * 1024
#: Late stream ends in a row before the gateway stops waiting for them, and while stopped, how many calls
#: go by before one looks again.
GIVE_UP_AFTER = 3
LOOK_AGAIN_EVERY = 64


class _SessionGone(Exception):
    """The server no longer knows the session (HTTP 404): open a new one and send again."""


class StreamEnds:
    """Whether a call waits for its reply stream's end (see `LegacyHttpUpstream._read_to_the_end`).

    One late end is a busy moment, not a server that keeps its streams open: under load on a shared machine
    a single 50 ms miss used to stop the waiting for good, and every later call paid a new connection (a
    quarter of the gateway's CPU per call, and throughput fell from ~600 to ~460 calls/s: measured). So it
    takes `GIVE_UP_AFTER` late ends in a row to stop, and even then one call in `LOOK_AGAIN_EVERY` looks
    again: a server that was only slow for a while gets its connection reuse back.
    """

    def __init__(self, service: str) -> None:
        self._service = service
        self.late = 0  # late ends in a row
        self._since_look = 0

    def worth_waiting(self) -> bool:
        if self.late < GIVE_UP_AFTER:
            return True
        self._since_look += 1
        if self._since_look < LOOK_AGAIN_EVERY:
            return False
        self._since_look = 0
        return True

    def ended(self) -> None:
        if self.late >= GIVE_UP_AFTER:
            logger.info("%s ends its event streams again: its connections are reused", self._service)
        self.late = 0

    def was_late(self) -> None:
        self.late += 1
        if self.late == GIVE_UP_AFTER:
            logger.info("%s keeps its event streams open after replying: its connections are not reused", self._service)


class LegacyHttpUpstream(AiohttpUpstream):
    """On aiohttp's client: a 2025-11-25 answer may be a stream to read as it comes (a server's request in
    it is refused at once), and the session id comes back in a header."""

    def __init__(self, service: str, endpoint: str, client: aiohttp.ClientSession) -> None:
        super().__init__(service, endpoint, client)
        self._session: str | None = None
        self._version = LATEST_HANDSHAKE_VERSION
        self._opening = asyncio.Lock()
        self._stream_ends = StreamEnds(service)
        #: Cancellations on their way to the server (held so they are not collected before they are sent).
        self._cancelling: set[asyncio.Future[None]] = set()

    async def open(self) -> None:
        """The handshake: `initialize` (no capabilities declared), then `notifications/initialized`."""
        self._session = None
        params = {"protocolVersion": LATEST_HANDSHAKE_VERSION, "capabilities": {}, "clientInfo": CLIENT_INFO}
        result = await RawUpstream._rpc(self, "initialize", params, None, 10)
        version = result.get("protocolVersion")
        if version not in HANDSHAKE_PROTOCOL_VERSIONS:
            raise UpstreamProtocolError(self.service, f"initialize answered an unknown protocol version {version!r}")
        self._version = str(version)
        await self._notify("notifications/initialized")

    async def close(self) -> None:
        """End the session on the server (it would otherwise keep it)."""
        if self._session is None:
            return
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with self._client.delete(
                self._url, headers=self._headers("", None), timeout=aiohttp.ClientTimeout(total=5)
            ):
                pass
        self._session = None

    async def call_tool(
        self,
        tool: str,
        arguments: Mapping[str, Any] | None,
        timeout: float | None,
        *,
        meta: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
        answers: dict[str, Any] | None = None,  # 2025-11-25 has no input_required round: ignored
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"name": tool, "arguments": arguments or {}}
        if meta:
            params["_meta"] = dict(meta)  # no 2026-07-28 envelope: this session negotiated it at initialize
        return await self._rpc("tools/call", params, tool, timeout or DEFAULT_TIMEOUT_S)

    async def _rpc(self, method: str, params: dict[str, Any], name: str | None, timeout: float) -> dict[str, Any]:
        session = self._session
        try:
            return await super()._rpc(method, params, name, timeout)
        except _SessionGone:
            async with self._opening:
                if self._session == session:  # not opened again by a call that failed alongside this one
                    await self.open()
            return await super()._rpc(method, params, name, timeout)

    def _abandoned(self, request_id: int) -> None:
        """A 2025-11-25 server stops a request on `notifications/cancelled`, not when its connection closes: say
        so, without holding up the cancellation (the notification goes out on its own)."""
        params = {"requestId": request_id, "reason": "cancelled by the gateway's caller"}
        task = asyncio.ensure_future(
            self._send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params})
        )
        self._cancelling.add(task)
        task.add_done_callback(self._cancel_sent)

    def _cancel_sent(self, task: asyncio.Future[None]) -> None:
        self._cancelling.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.info("%s: a cancellation could not be sent: %s", self.service, task.exception())

    def _headers(self, method: str, name: str | None) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": self._version,
        }
        if self._session is not None:
            headers["mcp-session-id"] = self._session
        inject_headers(headers)
        return headers

    def _received(self, response: aiohttp.ClientResponse) -> None:
        if response.status == 404 and self._session is not None:
            raise _SessionGone
        issued = response.headers.get("mcp-session-id")
        if issued and self._session is None:
            self._session = issued

    async def _reply_in_stream(self, response: aiohttp.ClientResponse, request_id: int) -> dict[str, Any]:
        """Read events until the reply to `request_id`; a request of the server's is refused at once."""
        reader = wire.EventReader(MAX_EVENT_BYTES)
        async for line in response.content:
            try:
                message = reader.feed(line)
            except wire.EventStreamError as exc:
                raise UpstreamProtocolError(self.service, f"invalid event in its MCP stream: {exc}") from exc
            if not isinstance(message, dict):
                continue
            if "method" in message and "id" in message:
                await self._refuse(message)
            elif message.get("id") == request_id:
                await self._read_to_the_end(response)
                return message
        raise UpstreamProtocolError(self.service, f"no reply in its event stream (HTTP {response.status})")

    async def _read_to_the_end(self, response: aiohttp.ClientResponse) -> None:
        """A server ends a request's stream once it has replied. Reading that end (normally already received)
        lets the connection go back to the pool: left unread, aiohttp closes it, and every call paid a new
        TCP connection (~12 % of the gateway's time per call). A server that keeps its streams open past a
        moment is not waited for (`StreamEnds`): its connections are closed after each reply."""
        if not self._stream_ends.worth_waiting():
            return
        left = MAX_TAIL_BYTES
        try:
            async with asyncio.timeout(STREAM_END_S):
                while left > 0 and (chunk := await response.content.readany()):
                    left -= len(chunk)
        except TimeoutError:
            self._stream_ends.was_late()
        except aiohttp.ClientError:
            pass  # the connection is closed either way; the reply is already in hand
        else:
            self._stream_ends.ended()

    async def _refuse(self, request: dict[str, Any]) -> None:
        what = str(request.get("method"))[:100]
        logger.info("%s asked %s of a call no client can answer: refused", self.service, what)
        error = {
            "code": mcp_types.INVALID_REQUEST,
            "message": f"{what} refused: no client of the gateway can answer it",
        }
        await self._send({"jsonrpc": "2.0", "id": request["id"], "error": error})

    async def _notify(self, method: str) -> None:
        await self._send({"jsonrpc": "2.0", "method": method})

    async def _send(self, message: dict[str, Any]) -> None:
        """A message that expects no reply (a notification, or our answer to the server's request)."""
        try:
            async with self._client.post(
                self._url,
                data=orjson.dumps(message),
                headers=self._headers("", None),
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamUnavailable(self.service, "server unavailable") from exc
