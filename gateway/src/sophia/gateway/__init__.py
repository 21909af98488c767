"""sophia.gateway: one MCP endpoint and HTTP API in front of the Sophia capability servers."""

from sophia.gateway.app import Gateway, create_app
from sophia.gateway.settings import ExternalServer, GatewaySettings

__all__ = ["ExternalServer", "Gateway", "GatewaySettings", "create_app"]
