from __future__ import annotations

from typing import Any

from mcp_types.version import LATEST_MODERN_VERSION

from sophia.kit.wire import envelope, request_body, request_headers


def mcp_headers(method: str, name: str | None = None, version: str = LATEST_MODERN_VERSION) -> dict[str, str]:
    """Headers of a stateless MCP POST: the routing headers must agree with the body."""
    return request_headers(method, name, version)


def mcp_body(method: str, params: dict[str, Any] | None = None, request_id: int = 1, **meta: Any) -> dict[str, Any]:
    """A 2026-07-28 JSON-RPC request with the per-request envelope in `params._meta` (plus `meta`)."""
    return request_body(method, params, request_id, {**envelope(), **meta})
