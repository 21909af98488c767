"""Fixtures: the visual service started in this process against Qdrant local mode in a temporary
directory (real OCR, real text model), and an MCP client talking to it in memory."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sophia.kit.testing import ToolClient, started
from sophia.visual import VisualSettings, service

Tools = ToolClient


@pytest.fixture
def namespace() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def image_root(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    root.mkdir()
    return root


@pytest.fixture
def settings(tmp_path: Path, image_root: Path) -> VisualSettings:
    return VisualSettings(data_dir=tmp_path / "data", allowed_root=image_root, log_format="text")


@pytest.fixture
async def tools(settings: VisualSettings) -> AsyncIterator[Tools]:
    async with started(service, settings) as client:
        yield client


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
