"""`sophia mcp` carries more than tools: an MCP SDK client over stdio reaches the gateway's resources, templates,
prompts and completion through the bridge (a real gateway federating the sample kit service)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from tests.support.fleet import GatewayProcess, sample_server

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gateway_mcp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = sample_server(tmp_path_factory.mktemp("sample")).start()
    gateway = GatewayProcess([server.grpc_address], tmp_path_factory.mktemp("gateway")).start()
    try:
        gateway.wait_for_tools({"sample_write_note"})
        yield gateway.mcp_url
    finally:
        gateway.stop()
        server.stop()


@pytest.mark.parametrize("mode", ["legacy"])  # Claude Desktop's era; 2026-07-28 over stdio is in test_cli_mcp
async def test_bridge_forwards_resources_prompts_and_logging_level(gateway_mcp: str, mode: str) -> None:
    argv = ["-m", "sophia.gateway.cli", "mcp", "--url", gateway_mcp]
    params = StdioServerParameters(command=sys.executable, args=argv, cwd=REPO)
    async with Client(params, mode=mode, cache=None) as client:
        await client.call_tool("sample_write_note", {"key": "bridged", "text": "over stdio"}, meta={"x/trace": "1"})
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        assert "sample+notes://{key}" in templates
        read = await client.read_resource("sample+notes://bridged")
        assert read.contents[0].text == "over stdio"  # type: ignore[union-attr]
        got = await client.get_prompt("sample_summarize", {"topic": "bridges"})
        assert got.messages[0].content.text == "Summarize bridges in three sentences."  # type: ignore[union-attr]
        if mode == "legacy":
            await client.set_logging_level("warning")  # kept by the bridge, sent as the opt-in of each call
        result = await client.call_tool("sample_echo", {"text": "still fine"})
        assert not result.is_error
