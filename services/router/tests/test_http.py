"""The service as `sophia up` runs it: its own process, MCP over real HTTP, state in Redis, the provider
stand-in reached over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.client import Client

import sophia.router.__main__ as entry_point
from sophia.kit.testing import KitServer, mcp_body, mcp_headers

from .conftest import CATALOG
from .llm_standin import ANTHROPIC_KEY, OPENAI_KEY, StandIn


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, redis_url: str, shared_standin: StandIn) -> Iterator[KitServer]:
    providers = [
        {
            "name": "openai",
            "kind": "openai",
            "base_url": f"{shared_standin.url}/v1",
            "api_key_env": "ROUTER_TEST_OPENAI",
        },
        {"name": "anthropic", "base_url": shared_standin.url, "api_key": ANTHROPIC_KEY},
    ]
    process = KitServer(
        Path(entry_point.__file__),
        "router",
        tmp_path_factory.mktemp("router") / "logs",
        env={"REDIS_URL": redis_url, "ROUTER_TEST_OPENAI": OPENAI_KEY},
        settings={"providers": json.dumps(providers), "catalog_path": str(CATALOG), "log_level": "WARNING"},
    )
    process.start(timeout=60)
    yield process
    process.stop()


async def test_route_complete_with_a_fallback_and_stats_over_http(
    server: KitServer, standin: StandIn, clean_redis: str
) -> None:
    standin.fail("small-1", "429", retry_after="30")
    async with Client(server.mcp_url) as client:
        routed = await client.call_tool("route", {"prompt": "What is the capital of Chile?", "namespace": "team-a"})
        assert routed.structured_content is not None and routed.structured_content["model"] == "openai/small"
        done = await client.call_tool("complete", {"prompt": "What is the capital of Chile?", "namespace": "team-a"})
        assert not done.is_error and done.structured_content is not None
        assert done.structured_content["text"].startswith("Answer from ")
        assert done.structured_content["attempts"][0]["kind"] == "rate_limited"
        stats = await client.call_tool("stats", {"namespace": "team-a"})
        assert stats.structured_content is not None
        assert (stats.structured_content["completions"], stats.structured_content["fallbacks"]) == (1, 1)
        # The 429's Retry-After rests openai/small for everyone, so the next decision avoids it.
        again = await client.call_tool("route", {"prompt": "What is the capital of Chile?"})
        assert again.structured_content is not None and again.structured_content["model"] != "openai/small"
    log = (server.log_dir / "router.log").read_text()
    assert OPENAI_KEY not in log and ANTHROPIC_KEY not in log


async def test_streamed_text_arrives_as_progress_notifications_over_sse(server: KitServer, standin: StandIn) -> None:
    arguments = {"prompt": "What is the capital of Chile?", "stream": True}
    body = mcp_body("tools/call", {"name": "complete", "arguments": arguments}, progressToken="p1")
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(server.mcp_url, json=body, headers=mcp_headers("tools/call", "complete"))
    assert response.headers["content-type"].startswith("text/event-stream")
    messages = [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]
    progress = [m["params"] for m in messages if m.get("method") == "notifications/progress"]
    result: dict[str, Any] = next(m for m in messages if m.get("id") == 1)["result"]
    assert {p["progressToken"] for p in progress} == {"p1"}
    assert "".join(p["message"] for p in progress) == result["structuredContent"]["text"]


async def test_a_bad_call_is_a_tool_error_not_a_crash(server: KitServer, standin: StandIn) -> None:
    async with Client(server.mcp_url) as client:
        result = await client.call_tool("set_budget", {"daily_usd": -3})
    assert result.is_error and "daily_usd must be a finite amount of 0 or more" in result.content[0].text
