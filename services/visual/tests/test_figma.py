"""index_figma against a TEST STAND-IN speaking the Figma REST API (tests/figma_standin.py) on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sophia.kit.testing import serve_asgi, started
from sophia.visual import VisualSettings, service

from . import rendered
from .conftest import Tools
from .figma_standin import TOKEN, FigmaStandin

FILE_KEY = "AbCdEf1234567890"


def scene(key: str) -> rendered.Scene:
    return next(s for s in rendered.scenes() if s.key == key)


@pytest.fixture
async def figma() -> AsyncIterator[FigmaStandin]:
    standin = FigmaStandin(
        FILE_KEY,
        "Shop redesign",
        {
            "Flows": [
                ("1:2", "Checkout", rendered.png(scene("ui-checkout").image)),
                ("1:3", "Login", rendered.png(scene("ui-login").image)),
            ]
        },
    )
    async with serve_asgi(standin.app()) as url:
        standin.base_url = url
        yield standin


def figma_settings(tmp_path: Path, url: str, token: str | None) -> VisualSettings:
    return VisualSettings(data_dir=tmp_path / "data", figma_api_url=url, figma_token=token, log_format="text")


async def test_frames_are_rendered_indexed_and_searchable(tmp_path: Path, figma: FigmaStandin, namespace: str) -> None:
    async with started(service, figma_settings(tmp_path, figma.base_url, TOKEN)) as tools:
        result = await tools.ok("index_figma", file_key=FILE_KEY, project="shop", namespace=namespace)
        assert result["file"] == "Shop redesign" and result["frames"] == 2 and result["failed"] == {}
        titles = [item["title"] for item in result["indexed"]]
        assert titles == ["Shop redesign / Flows / Checkout", "Shop redesign / Flows / Login"]
        assert result["indexed"][0]["origin"] == f"figma:{FILE_KEY}/1:2"
        found = await tools.ok("search", query="place order button", namespace=namespace, source="figma", k=1)
        assert found["items"][0]["title"] == "Shop redesign / Flows / Checkout"
        only_login = await tools.ok("index_figma", file_key=FILE_KEY, frame_ids=["1:3"], namespace=namespace)
        assert [i["title"] for i in only_login["indexed"]] == ["Shop redesign / Flows / Login"]
    assert all(headers.get("x-figma-token") == TOKEN for path, headers in figma.requests if path.startswith("/v1/"))


async def test_without_a_token_figma_is_not_configured(tools: Tools) -> None:
    assert "Figma is not configured" in await tools.error("index_figma", file_key=FILE_KEY)


async def test_refusals_and_rate_limits_are_clear_and_never_show_the_token(
    tmp_path: Path, figma: FigmaStandin, namespace: str
) -> None:
    wrong = "figd_wrong_token_value"
    async with started(service, figma_settings(tmp_path, figma.base_url, wrong)) as tools:
        message = await tools.error("index_figma", file_key=FILE_KEY, namespace=namespace)
        assert "Figma refused the token" in message and wrong not in message
    async with started(service, figma_settings(tmp_path, figma.base_url, TOKEN)) as tools:
        assert "no such Figma file" in await tools.error("index_figma", file_key="Zz9999999999", namespace=namespace)
        assert "file_key must be" in await tools.error("index_figma", file_key="../../x", namespace=namespace)
        figma.rate_limited = True
        message = await tools.error("index_figma", file_key=FILE_KEY, namespace=namespace)
        assert message.endswith("Figma rate limit reached; retry after 30 s") and TOKEN not in message
        assert (await tools.ok("stats", namespace=namespace))["images"] == 0
