"""Gateway errors, and the one place where each becomes a wire answer.

    GatewayError
    ├── UnknownTool           no such tool, or one the caller may not see (answered alike)
    ├── InvalidArguments      the arguments do not match the tool's input schema
    ├── InvalidRequest        a body the gateway will not parse (NaN, lone surrogates, too deep, ...)
    ├── Forbidden             an action the caller may not take (decide an approval, read the audit log)
    ├── RateLimited           over the caller's rate limit (Retry-After)
    ├── StateUnavailable      Redis (approvals, limits, audit) cannot be reached
    └── UpstreamError         anything that went wrong past the gateway
        ├── UpstreamUnavailable   the server is down or refused the connection
        │   ├── ServerDown        a known tool whose server is down right now
        │   └── CircuitOpen       the server failed repeatedly; not called for a while
        ├── UpstreamTimeout       the server did not answer in time
        ├── UpstreamProtocolError the server answered something that is not MCP
        └── UpstreamRejected      the server answered a JSON-RPC error (passed on unchanged)

`jsonrpc_error`, `http_error` and `as_tool_result` are the only translations: every entry point (the MCP
fast path, the SDK path, REST, `ask` steps) answers through them. Only these messages reach callers;
an unexpected exception is logged and masked where it is caught.
"""

from __future__ import annotations

import math
from typing import Any

from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST

# JSON-RPC server-defined codes (-32000 to -32099).
FORBIDDEN_CODE = -32003
RATE_LIMITED_CODE = -32029
UNAVAILABLE_CODE = -32001
TIMEOUT_CODE = -32002


class ConfigurationError(ValueError):
    """A settings file the gateway cannot use; it stops at start with this one-line message."""


class GatewayError(Exception):
    """Base of every error the gateway reports to callers."""

    #: JSON-RPC error code used when the error answers an MCP request.
    code = INTERNAL_ERROR
    #: HTTP status used by the REST API (and the MCP endpoint's HTTP status where it applies).
    http_status = 500
    #: Over MCP, answer an `isError` tool result (the model reads it and can adapt) instead of a
    #: JSON-RPC error. True for failures of the call itself, false for protocol-level refusals.
    as_result = False

    def headers(self) -> dict[str, str]:
        return {}


class UnknownTool(GatewayError):
    code = INVALID_PARAMS
    http_status = 404

    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown tool: {name}")
        self.name = name


class InvalidArguments(GatewayError):
    """Per MCP 2025-11-25, argument validation errors are tool errors the model can correct."""

    code = INVALID_PARAMS
    http_status = 400
    as_result = True


class InvalidRequest(GatewayError):
    code = INVALID_REQUEST
    http_status = 400


class Forbidden(GatewayError):
    code = FORBIDDEN_CODE
    http_status = 403


class RateLimited(GatewayError):
    code = RATE_LIMITED_CODE
    http_status = 429

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"rate limit reached; retry after {retry_after_s:.1f} s")
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"retry-after": str(max(1, math.ceil(self.retry_after_s)))}


class StateUnavailable(GatewayError):
    """The shared state (Redis) is unreachable: fail closed, typed, and say so."""

    code = UNAVAILABLE_CODE
    http_status = 503

    def headers(self) -> dict[str, str]:
        return {"retry-after": "5"}


class UpstreamError(GatewayError):
    http_status = 502
    as_result = True

    def __init__(self, service: str, message: str) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service


class UpstreamUnavailable(UpstreamError):
    http_status = 503


class ServerDown(UpstreamUnavailable):
    """A tool the gateway knows whose server is down: 503 and a JSON-RPC error, never "Unknown tool"."""

    code = UNAVAILABLE_CODE
    as_result = False

    def __init__(self, service: str, tool: str) -> None:
        super().__init__(service, f"server is down; {tool} is unavailable until it is back")
        self.tool = tool

    def headers(self) -> dict[str, str]:
        return {"retry-after": "5"}


class CircuitOpen(UpstreamUnavailable):
    def __init__(self, service: str) -> None:
        super().__init__(service, "failed repeatedly; not called for a while (circuit open)")


class UpstreamTimeout(UpstreamError):
    http_status = 504


class UpstreamProtocolError(UpstreamError):
    http_status = 502


class UpstreamRejected(UpstreamError):
    """The server refused the request with a JSON-RPC error, e.g. invalid params: passed on unchanged."""

    http_status = 400
    as_result = False

    def __init__(self, service: str, error: dict[str, Any]) -> None:
        self.error = error
        self.code = int(error.get("code", INTERNAL_ERROR)) if isinstance(error.get("code"), int) else INTERNAL_ERROR
        super().__init__(service, str(error.get("message", "error"))[:1000])


def jsonrpc_error(exc: GatewayError) -> dict[str, Any]:
    """The JSON-RPC `error` object for `exc`."""
    if isinstance(exc, UpstreamRejected):
        return exc.error
    return {"code": exc.code, "message": str(exc)}


def http_error(exc: GatewayError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """REST: status, `{"error": {type, message}}` body (plus the server's JSON-RPC error) and headers."""
    error: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, UpstreamRejected):
        error["jsonrpc"] = exc.error
    return exc.http_status, {"error": error}, exc.headers()


def as_tool_result(exc: GatewayError) -> dict[str, Any]:
    """An `isError` tool result that reports `exc` to the model."""
    return {"content": [{"type": "text", "text": str(exc)}], "isError": True}
