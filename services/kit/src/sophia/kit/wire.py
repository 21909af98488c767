"""Stateless MCP (2026-07-28) on the wire, for a process that calls a server with its own HTTP client:
the gateway forwarding calls, a service asking another (code → router), the tests.

A request is one POST: routing headers that agree with the body, and the per-request envelope in
`params._meta`. The reply is JSON, or an event stream whose message with the request's id is it.
"""

from __future__ import annotations

import json
from typing import Any

from mcp_types import CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, PROTOCOL_VERSION_META_KEY
from mcp_types.version import LATEST_MODERN_VERSION


def envelope(client_info: dict[str, str] | None = None, version: str = LATEST_MODERN_VERSION) -> dict[str, Any]:
    """What `params._meta` carries on every 2026-07-28 request."""
    meta: dict[str, Any] = {PROTOCOL_VERSION_META_KEY: version, CLIENT_CAPABILITIES_META_KEY: {}}
    if client_info is not None:
        meta[CLIENT_INFO_META_KEY] = client_info
    return meta


def request_headers(method: str, name: str | None = None, version: str = LATEST_MODERN_VERSION) -> dict[str, str]:
    """Headers of a stateless MCP POST: the routing headers must agree with the body."""
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": version,
        "mcp-method": method,
    }
    if name is not None:
        headers["mcp-name"] = name
    return headers


def request_body(method: str, params: dict[str, Any] | None, request_id: int, meta: dict[str, Any]) -> dict[str, Any]:
    """A JSON-RPC request with `meta` (see `envelope`) as `params._meta`."""
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**(params or {}), "_meta": meta}}


class EventStreamError(ValueError):
    """An event stream that breaks the rules: an event past the size bound, or data that is not JSON."""


class EventReader:
    """The JSON-RPC messages of an MCP event stream (SSE), fed line by line as they arrive: the one parser of
    the streams the fleet reads, whole (`reply_in_event_stream`) or while the server is still writing (a
    2025-11-25 server may ask something mid-call and wait for the answer).

    Per the SSE rules: an event ends at a blank line; its `data:` lines are joined by newlines, one space after
    the colon dropped; `event:`, `id:`, `retry:` and comments carry nothing a reply needs and are skipped.
    """

    def __init__(self, max_event_bytes: int = 16 * 1024 * 1024) -> None:
        self._data: list[bytes] = []
        self._size = 0
        self._max = max_event_bytes

    def feed(self, line: bytes) -> Any:
        """One line (its end-of-line included or not); the message when this line ended an event, else None."""
        line = line.rstrip(b"\r\n")
        if line.startswith(b"data:"):
            value = line[5:]
            self._data.append(value[1:] if value.startswith(b" ") else value)
            self._size += len(value)
            if self._size > self._max:
                raise EventStreamError(f"an event is larger than {self._max} bytes")
            return None
        if line or not self._data:
            return None
        data, self._data, self._size = b"\n".join(self._data), [], 0
        try:
            return json.loads(data)
        except ValueError as exc:
            raise EventStreamError("an event's data is not JSON") from exc


def reply_in_event_stream(body: bytes | str, request_id: int) -> dict[str, Any]:
    """The JSON-RPC reply to `request_id` inside an SSE body (progress notifications come before it);
    ValueError when there is none."""
    raw = body.encode() if isinstance(body, str) else body
    reader = EventReader()
    for line in [*raw.replace(b"\r\n", b"\n").split(b"\n"), b""]:
        message = reader.feed(line)
        if isinstance(message, dict) and message.get("id") == request_id:
            return message
    raise ValueError("no reply in the event stream")
