"""sophia.router: the smart LLM router, served as MCP tools.

`python -m sophia.router` serves the tools of `sophia.router.server` with the kit.
"""

from sophia.router.server import service
from sophia.router.settings import RouterSettings

__all__ = ["RouterSettings", "service"]
