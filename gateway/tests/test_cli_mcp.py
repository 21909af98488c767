"""`sophia mcp`, end to end: an MCP SDK client talks over stdio to the bridge, which forwards to a real
gateway federating the sample kit service (both child processes on free loopback ports)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import anyio.to_thread
import httpx
import mcp_types
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from sophia.gateway.cli import main
from sophia.kit.testing import ManagedProcess, free_port, wait_until

REPO = Path(__file__).resolve().parents[2]


def start_gateway(port: int, grpc_address: str, log_path: Path) -> ManagedProcess:
    return ManagedProcess(
        [sys.executable, "-m", "sophia.gateway"],
        env={
            "SOPHIA_GATEWAY_PORT": str(port),
            "SOPHIA_GATEWAY_SERVERS": json.dumps([grpc_address]),
            "SOPHIA_GATEWAY_AUTH": "off",
        },
        log_path=log_path,
        health_url=f"http://127.0.0.1:{port}/readyz",
    ).start()


@pytest.fixture(scope="module")
def sample_grpc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The gRPC address of a running sample service."""
    http, grpc = free_port(), free_port()
    with ManagedProcess(
        [sys.executable, str(REPO / "tests/support/sample_service.py")],
        env={"SOPHIA_SAMPLE_HTTP_PORT": str(http), "SOPHIA_SAMPLE_GRPC_PORT": str(grpc)},
        log_path=tmp_path_factory.mktemp("sample") / "sample.log",
        health_url=f"http://127.0.0.1:{http}/healthz",
    ):
        yield f"127.0.0.1:{grpc}"


@pytest.fixture(scope="module")
def gateway_mcp(sample_grpc: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The MCP endpoint of a gateway in front of the sample service."""
    port = free_port()
    with start_gateway(port, sample_grpc, tmp_path_factory.mktemp("gateway") / "gateway.log"):
        yield f"http://127.0.0.1:{port}/mcp"


def bridge(url: str, mode: str = "auto") -> Client:
    argv = ["-m", "sophia.gateway.cli", "mcp", "--url", url]
    return Client(StdioServerParameters(command=sys.executable, args=argv, cwd=REPO), mode=mode)


def peers_of(port: int) -> set[int]:
    """The far-end port of every IPv4 TCP connection to or from `port`, in any state: a connection
    closed a moment ago stays listed (TIME_WAIT), so new connections cannot hide."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote = (int(address.split(":")[1], 16) for address in line.split()[1:3])
        if remote == port:
            found.add(local)
        elif local == port and remote != 0:
            found.add(remote)
    return found


def text_of(result: mcp_types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, mcp_types.TextContent))


@pytest.mark.parametrize(
    ("mode", "version"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")], ids=["stateless", "handshake"]
)
async def test_bridge_lists_and_calls_the_gateways_tools(gateway_mcp: str, mode: str, version: str) -> None:
    """Both eras a stdio client may speak: 2026-07-28, and the 2025-11-25 handshake Claude Desktop uses."""
    async with bridge(gateway_mcp, mode) as client:
        assert client.protocol_version == version
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert {"sample_echo", "sample_add"} <= tools
        result = await client.call_tool("sample_echo", {"text": "hi"})
    assert not result.is_error
    assert text_of(result) == "hi"
    assert result.structured_content == {"result": "hi"}


async def test_bridge_keeps_tool_failures_as_tool_errors_and_unknown_tools_as_protocol_errors(
    gateway_mcp: str,
) -> None:
    async with bridge(gateway_mcp) as client:
        failed = await client.call_tool("sample_fail", {"message": "boom"})
        with pytest.raises(MCPError, match="Unknown tool: sample_nope"):
            await client.call_tool("sample_nope", {})
    assert failed.is_error
    assert "boom" in text_of(failed)


async def test_bridge_keeps_one_gateway_connection_across_calls(gateway_mcp: str) -> None:
    port = int(gateway_mcp.rsplit(":", 1)[1].split("/")[0])
    async with bridge(gateway_mcp) as client:
        await client.call_tool("sample_echo", {"text": "first"})
        before = peers_of(port)
        for n in range(5):
            await client.call_tool("sample_echo", {"text": str(n)})
        opened = peers_of(port) - before
    assert before
    assert opened == set()


def test_bridge_exits_1_with_a_clear_message_when_the_gateway_is_down(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    assert main(["mcp", "--url", url]) == 1
    out, err = capsys.readouterr()
    assert f"the Sophia gateway at {url} did not answer" in err
    assert "is `sophia up` running?" in err
    assert out == ""  # stdout belongs to the protocol


def wait_for_sample(port: int) -> None:
    def listed() -> bool:
        try:
            tools = httpx.get(f"http://127.0.0.1:{port}/v1/capabilities", timeout=5).json()["tools"]
        except (httpx.HTTPError, ValueError, KeyError):
            return False
        return any(tool["name"] == "sample_echo" for tool in tools)

    wait_until(listed, 15, "the gateway to discover the sample service")


async def test_bridge_reports_a_down_gateway_as_a_tool_error_and_reconnects_when_it_is_back(
    sample_grpc: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    gateway = start_gateway(port, sample_grpc, tmp_path / "gateway.log")
    try:
        wait_for_sample(port)
        async with bridge(url) as client:
            assert text_of(await client.call_tool("sample_echo", {"text": "before"})) == "before"
            # Process control blocks: keep it off the loop the bridge's stdio client runs on.
            await anyio.to_thread.run_sync(gateway.stop)
            with anyio.fail_after(20):
                down = await client.call_tool("sample_echo", {"text": "while down"})
            assert down.is_error
            assert f"the Sophia gateway at {url}" in text_of(down)

            gateway = await anyio.to_thread.run_sync(start_gateway, port, sample_grpc, tmp_path / "again.log")
            await anyio.to_thread.run_sync(wait_for_sample, port)
            with anyio.fail_after(20):
                assert text_of(await client.call_tool("sample_echo", {"text": "after"})) == "after"
    finally:
        gateway.stop()
