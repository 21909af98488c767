"""Forward one tool call to the server that owns it; every path (MCP, REST) goes through here."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from sophia.gateway.catalog import Catalog
from sophia.gateway.errors import GatewayError, UpstreamError
from sophia.gateway.metrics import GatewayMetrics

logger = logging.getLogger("sophia.gateway.calls")
tracer = trace.get_tracer("sophia.gateway")


class ToolCaller:
    def __init__(self, catalog: Catalog, metrics: GatewayMetrics, timeout: float) -> None:
        self.catalog = catalog
        self.metrics = metrics
        self.timeout = timeout

    async def call(self, name: str, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        """Return the server's `CallToolResult` as a dict; raise `GatewayError` for anything else."""
        route = self.catalog.route(name)
        started = time.perf_counter()
        outcome = "ok"
        with tracer.start_as_current_span(
            f"tools/call {name}", kind=SpanKind.CLIENT, attributes={"mcp.tool": name, "sophia.service": route.service}
        ) as span:
            try:
                result = await route.upstream.call_tool(route.spec.name, arguments, self.timeout)
                if result.get("isError"):
                    outcome = "tool_error"
                return result
            except UpstreamError as exc:
                outcome = type(exc).__name__
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                raise
            except GatewayError:
                outcome = "rejected"
                raise
            finally:
                self.metrics.record(name, outcome, time.perf_counter() - started)


def error_result(message: str) -> dict[str, Any]:
    """A `CallToolResult` that reports a failure to the model instead of failing the request."""
    return {"content": [{"type": "text", "text": message}], "isError": True}
