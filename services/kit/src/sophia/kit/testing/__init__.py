"""Test helpers for capability servers and the fleet: free ports, managed processes, kit servers in
their own process, raw MCP requests, throwaway Redis, ASGI apps (and stand-in servers) on loopback.

Fixtures built on these are registered as a pytest plugin (`sophia.kit.testing.plugin`).
"""

from sophia.kit.testing._kit_server import KitServer
from sophia.kit.testing._mcp import mcp_body, mcp_headers
from sophia.kit.testing._ports import free_port
from sophia.kit.testing._process import ManagedProcess, wait_until
from sophia.kit.testing._redis import RedisUnavailable, redis_server
from sophia.kit.testing._serve import serve_asgi
from sophia.kit.testing._tools import ToolClient, started

__all__ = [
    "KitServer",
    "ManagedProcess",
    "RedisUnavailable",
    "ToolClient",
    "free_port",
    "mcp_body",
    "mcp_headers",
    "redis_server",
    "serve_asgi",
    "started",
    "wait_until",
]
