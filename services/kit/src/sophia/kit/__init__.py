"""sophia.kit: the one way to build a Sophia capability server.

Declare tools on a `Service` with typed signatures; the kit serves MCP over Streamable HTTP at
`/mcp`, the gRPC control plane (`grpc.health.v1.Health`, `Capabilities.Describe`), `/healthz`,
`/readyz`, `/metrics`, tracing that continues the caller's W3C trace context, and JSON logs. With the
fleet's internal credential configured (`sophia.kit.security`), MCP and Describe calls need it.
Test helpers live in `sophia.kit.testing`.
"""

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from sophia.kit._service import Service
from sophia.kit._settings import ServiceSettings, comma_list
from sophia.kit._tools import Depends, Risk, ToolSpec
from sophia.kit._tracing import context_from_headers, inject_headers
from sophia.kit.approvals import ApprovalCheck

__all__ = [
    "ApprovalCheck",
    "Context",
    "Depends",
    "Risk",
    "Service",
    "ServiceSettings",
    "ToolError",
    "ToolSpec",
    "comma_list",
    "context_from_headers",
    "inject_headers",
]
