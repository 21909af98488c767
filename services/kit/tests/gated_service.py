"""A kit server whose readiness follows a file, for tests of health over a real process.

Run as ``python gated_service.py`` with ``GATED_READY_FILE`` naming the file; settings come from
``SOPHIA_GATED_*``. The server is ready while the file exists.
"""

from __future__ import annotations

import os
from pathlib import Path

from sophia.kit import Service

READY_FILE = Path(os.environ["GATED_READY_FILE"])

service = Service("gated")


@service.readiness
async def ready_file_exists() -> bool:
    return READY_FILE.exists()  # noqa: ASYNC240 - one stat of a local file


@service.tool(read_only=True)
async def ping() -> str:
    """Answer pong."""
    return "pong"


if __name__ == "__main__":
    service.run()
