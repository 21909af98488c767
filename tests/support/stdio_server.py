"""A plain MCP server over stdio (not built with the kit), standing in for a third-party server
that the gateway federates as an external `command`."""

from __future__ import annotations

import os

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

server = MCPServer("notes")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def shout(text: str) -> str:
    """Return `text` in upper case."""
    return text.upper()


@server.tool(annotations=ToolAnnotations(destructive_hint=True))
def wipe(scope: str) -> str:
    """Pretend to wipe `scope`; destructive by annotation."""
    return f"wiped {scope}"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def pid() -> int:
    """Return this server's process id, so tests can see a restart."""
    return os.getpid()


if __name__ == "__main__":
    server.run("stdio")
