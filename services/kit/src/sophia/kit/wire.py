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


def reply_in_event_stream(body: bytes | str, request_id: int) -> dict[str, Any]:
    """The JSON-RPC reply to `request_id` inside an SSE body (progress notifications come before it);
    ValueError when there is none."""
    text = body.decode() if isinstance(body, bytes) else body
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data = "".join(line[5:].strip() for line in block.splitlines() if line.startswith("data:"))
        if data:
            message = json.loads(data)
            if isinstance(message, dict) and message.get("id") == request_id:
                return message
    raise ValueError("no reply in the event stream")
