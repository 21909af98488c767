"""The MCP Inspector's CLI (npm `@modelcontextprotocol/inspector`, the tool people reach for first) against
the gateway: over Streamable HTTP, and over stdio through `sophia mcp`, the bridge Claude Desktop starts.

The gateway federates the conformance suite's reference server (`tests/support/conformance_server.py`, built
with the MCP Python SDK), so every feature the bridge carries has something real behind it: tools, resources,
templates, prompts and the logging level. Node and the Inspector install as `tests/support/npm.py` says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.conformance_server import reference_server
from tests.support.fleet import GatewayProcess
from tests.support.npm import installed

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
BRIDGE = [str(Path(sys.executable).with_name("sophia")), "mcp", "--url"]


@pytest.fixture(scope="module")
def inspector() -> list[str]:
    return [*installed(INSPECTOR, "inspector", "@modelcontextprotocol/inspector/clients/launcher/build/index.js")]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    logs = tmp_path_factory.mktemp("inspector")
    with reference_server(logs) as url:
        external = [{"name": "reference", "url": url, "prefix": "never"}]
        gateway = GatewayProcess([], logs, external=external).start()
        try:
            gateway.wait_for_tools({"test_simple_text"})
            yield gateway
        finally:
            gateway.stop()


def inspect(inspector: list[str], target: list[str], method: str, *options: str) -> dict[str, Any]:
    """One Inspector CLI call (`--cli … --method`); its JSON answer."""
    done = subprocess.run(
        [*inspector, "--cli", *target, "--method", method, *options],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, f"{method}: {done.stdout[-1500:]}{done.stderr[-1500:]}"
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.fixture(params=["http", "stdio bridge"])
def target(request: pytest.FixtureRequest, gateway: GatewayProcess) -> list[str]:
    return [gateway.mcp_url] if request.param == "http" else [*BRIDGE, gateway.mcp_url]


def test_tools_are_listed_and_called(inspector: list[str], target: list[str]) -> None:
    names = {tool["name"] for tool in inspect(inspector, target, "tools/list")["tools"]}
    assert {"test_simple_text", "test_tool_with_progress", "ask"} <= names  # federated and the gateway's own
    result = inspect(inspector, target, "tools/call", "--tool-name", "test_simple_text")
    assert result["content"] == [{"type": "text", "text": "This is a simple text response for testing."}]
    assert result["isError"] is False
    # The answer speaks for the gateway: the upstream's protocol envelope (its serverInfo) stays on its own hop.
    assert result.get("_meta", {}).get("io.modelcontextprotocol/serverInfo", {"name": "sophia"})["name"] == "sophia"


def test_resources_and_templates_are_listed_and_read(inspector: list[str], target: list[str]) -> None:
    uris = {r["uri"] for r in inspect(inspector, target, "resources/list")["resources"]}
    assert {"test://static-text", "test://static-binary"} <= uris
    templates = inspect(inspector, target, "resources/templates/list")["resourceTemplates"]
    assert [t["uriTemplate"] for t in templates] == ["test://template/{id}/data"]
    read = inspect(inspector, target, "resources/read", "--uri", "test://static-text")
    assert read["contents"][0]["text"] == "This is the content of the static text resource."


def test_prompts_are_listed_and_filled(inspector: list[str], target: list[str]) -> None:
    names = {p["name"] for p in inspect(inspector, target, "prompts/list")["prompts"]}
    assert {"test_simple_prompt", "test_prompt_with_arguments"} <= names
    got = inspect(
        inspector, target, "prompts/get", "--prompt-name", "test_prompt_with_arguments", "--prompt-args", "arg1=alpha"
    )
    assert "arg1='alpha'" in got["messages"][0]["content"]["text"]


def test_an_unknown_prompt_is_a_clear_error(inspector: list[str], target: list[str]) -> None:
    done = subprocess.run(
        [*inspector, "--cli", *target, "--method", "prompts/get", "--prompt-name", "no_such_prompt"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "no_such_prompt" in done.stdout + done.stderr


def test_the_logging_level_is_accepted(inspector: list[str], target: list[str]) -> None:
    assert inspect(inspector, target, "logging/setLevel", "--log-level", "warning") == {}
