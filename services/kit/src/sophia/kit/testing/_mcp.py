from __future__ import annotations

from typing import Any

from mcp_types import CLIENT_CAPABILITIES_META_KEY, PROTOCOL_VERSION_META_KEY
from mcp_types.version import LATEST_MODERN_VERSION


def mcp_headers(method: str, name: str | None = None, version: str = LATEST_MODERN_VERSION) -> dict[str, str]:
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


def mcp_body(method: str, params: dict[str, Any] | None = None, request_id: int = 1, **meta: Any) -> dict[str, Any]:
    """A 2026-07-28 JSON-RPC request with the per-request envelope in `params._meta` (plus `meta`)."""
    envelope = {PROTOCOL_VERSION_META_KEY: LATEST_MODERN_VERSION, CLIENT_CAPABILITIES_META_KEY: {}, **meta}
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**(params or {}), "_meta": envelope}}
