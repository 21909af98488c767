"""Gateway errors and how each one crosses each boundary.

    GatewayError
    ├── UnknownTool          no such tool, or not visible to the caller (answered alike)
    └── UpstreamError        anything that went wrong past the gateway
        ├── UpstreamUnavailable   the server is down or refused the connection
        ├── UpstreamTimeout       the server did not answer in time
        ├── UpstreamProtocolError the server answered something that is not MCP
        └── UpstreamRejected      the server answered a JSON-RPC error (passed on unchanged)

Only these messages reach callers; an unexpected exception is logged and masked.
"""

from __future__ import annotations

from typing import Any

from mcp_types import INTERNAL_ERROR, INVALID_PARAMS


class ConfigurationError(ValueError):
    """A settings file the gateway cannot use; it stops at start with this one-line message."""


class GatewayError(Exception):
    """Base of every error the gateway reports to callers."""

    #: JSON-RPC error code used when the error answers an MCP request.
    code = INTERNAL_ERROR
    #: HTTP status used by the REST API.
    http_status = 500


class UnknownTool(GatewayError):
    code = INVALID_PARAMS
    http_status = 404

    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown tool: {name}")
        self.name = name


class UpstreamError(GatewayError):
    http_status = 502

    def __init__(self, service: str, message: str) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service


class UpstreamUnavailable(UpstreamError):
    http_status = 503


class UpstreamTimeout(UpstreamError):
    http_status = 504


class UpstreamProtocolError(UpstreamError):
    http_status = 502


class UpstreamRejected(UpstreamError):
    """The server refused the request with a JSON-RPC error, e.g. invalid params."""

    http_status = 400

    def __init__(self, service: str, error: dict[str, Any]) -> None:
        self.error = error
        self.code = int(error.get("code", INTERNAL_ERROR))
        super().__init__(service, str(error.get("message", "error")))
