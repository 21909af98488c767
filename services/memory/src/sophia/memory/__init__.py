"""sophia.memory: short-term memory in Redis, long-term semantic memory in Qdrant, pruning.

`python -m sophia.memory` serves the tools of `sophia.memory.server` with the kit.
"""

from sophia.memory.server import service
from sophia.memory.settings import MemorySettings

__all__ = ["MemorySettings", "service"]
