"""Fixtures: the memory service started in this process against real Redis and Qdrant local mode in a
temporary directory, and an MCP client talking to it in memory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sophia.kit.testing import ToolClient, started
from sophia.memory import MemorySettings, service


@pytest.fixture
def namespace() -> str:
    """A namespace no other test uses: the session's Redis is shared."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(tmp_path: Path, redis_url: str) -> MemorySettings:
    return MemorySettings(redis_url=redis_url, data_dir=tmp_path, log_format="text")


Tools = ToolClient


@pytest.fixture
async def tools(settings: MemorySettings) -> AsyncIterator[Tools]:
    async with started(service, settings) as client:
        yield client
