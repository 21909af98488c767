"""sophia.code: git repositories in a sandboxed workspace — read, search, review, edit, branch, commit, push and
pull requests.

`python -m sophia.code` serves the tools of `sophia.code.server` with the kit.
"""

from sophia.code.server import service
from sophia.code.settings import CodeSettings

__all__ = ["CodeSettings", "service"]
