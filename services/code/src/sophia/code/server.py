"""The code service's tools, assembled in the order clients list them: browsing (`tools_browse`), changing
(`tools_change`) and publishing (`tools_publish`).

Checks happen in the tools, at the edge; git, files, edits and the outside services live in the
domain modules.
"""

from sophia.code import tools_browse, tools_change, tools_publish
from sophia.code.service import service

TOOL_MODULES = (tools_browse, tools_change, tools_publish)

__all__ = ["service"]
