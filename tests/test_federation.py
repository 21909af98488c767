"""The fleet end to end: a kit server federated by the gateway, over real processes and loopback."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from mcp.client import Client
from mcp.shared.exceptions import MCPError

from sophia.gateway.client_capabilities import declared
from tests.support.fleet import GatewayProcess, sample_server


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_client_lists_and_calls_federated_tools(gateway: GatewayProcess, mode: str) -> None:
    """An MCP client (2026-07-28 or 2025-11-25) sees `<service>_<tool>` names and calls them."""
    async with Client(gateway.mcp_url, mode=mode) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"sample_echo", "sample_add", "sample_erase_note"} <= names
        result = await client.call_tool("sample_add", {"a": 2, "b": 3})
    assert not result.is_error
    assert result.structured_content == {"total": 5.0}


async def test_tool_error_comes_back_as_mcp_tool_error(gateway: GatewayProcess) -> None:
    async with Client(gateway.mcp_url) as client:
        result = await client.call_tool("sample_fail", {"message": "the disk is full"})
    assert result.is_error
    assert "the disk is full" in result.content[0].text  # type: ignore[union-attr]


async def test_unknown_tool_is_an_mcp_error_naming_it(gateway: GatewayProcess) -> None:
    async with Client(gateway.mcp_url) as client:
        with pytest.raises(MCPError, match="Unknown tool: sample_nope"):
            await client.call_tool("sample_nope", {})


async def test_invalid_arguments_are_a_tool_error_naming_the_argument(gateway: GatewayProcess, sample) -> None:
    """Checked against the tool's schema at the gateway (before anything is held or sent): a tool error the
    model can correct, without the validator's internals (no pydantic text, no docs links)."""
    async with Client(gateway.mcp_url) as via_gateway:
        proxied = await via_gateway.call_tool("sample_add", {"a": "two", "b": 3})
    assert proxied.is_error
    assert proxied.content[0].text == 'invalid arguments for sample_add: a: "two" is not of type "number"'  # type: ignore[union-attr]


async def test_trace_context_flows_client_to_gateway_to_server(gateway: GatewayProcess) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
    response = httpx.post(f"{gateway.url}/v1/tools/sample_trace_id", json={}, headers=headers, timeout=10)
    assert response.status_code == 200
    assert response.json()["structuredContent"] == {"result": trace_id}


def test_server_killed_then_restarted_drops_and_restores_its_tools(tmp_path: Path) -> None:
    """Kill a server: its tools leave tools/list and the gateway stays healthy. Restart: they return."""
    server = sample_server(tmp_path / "sample").start()
    gateway = GatewayProcess([server.grpc_address], tmp_path / "gateway").start()
    try:
        gateway.wait_for_tools({"sample_echo"})
        server.kill()
        gateway.wait_for_tools(absent={"sample_echo"})
        assert httpx.get(f"{gateway.url}/healthz").status_code == 200
        assert httpx.get(f"{gateway.url}/readyz").status_code == 200
        down = httpx.post(f"{gateway.url}/v1/tools/sample_echo", json={"text": "x"})
        assert down.status_code == 503  # a known tool whose server is down: said so, not "unknown tool"
        assert down.json()["error"]["type"] == "ServerDown" and "server is down" in down.json()["error"]["message"]
        status = {s["name"]: s["status"] for s in gateway.capabilities()["servers"]}
        assert status == {"sample": "down"}

        server.start()
        gateway.wait_for_tools({"sample_echo"})
        again = httpx.post(f"{gateway.url}/v1/tools/sample_echo", json={"text": "back"})
        assert again.json()["structuredContent"] == {"result": "back"}
    finally:
        gateway.stop()
        server.stop()


async def test_listening_client_hears_tools_list_changed_when_a_server_goes(tmp_path: Path) -> None:
    """A 2026-07-28 client holding `subscriptions/listen` is told when the tool list changes."""
    import anyio

    server = sample_server(tmp_path / "sample").start()
    gateway = GatewayProcess([server.grpc_address], tmp_path / "gateway").start()
    try:
        gateway.wait_for_tools({"sample_echo"})
        async with Client(gateway.mcp_url) as client, client.listen(tools_list_changed=True) as subscription:
            server.kill()
            with anyio.fail_after(15):
                event = await subscription.__anext__()
            assert type(event).__name__ == "ToolsListChanged"
            names = {tool.name for tool in (await client.list_tools()).tools}
        assert "sample_echo" not in names
    finally:
        gateway.stop()
        server.stop()


def test_a_client_is_not_pinned_to_one_gateway_replica(sample, tmp_path: Path) -> None:
    """Two replicas, no shared session: a 2025-11-25 client initializes on one and calls the other (with the
    session id the first gave it, as a client does)."""
    replicas = [GatewayProcess([sample.grpc_address], tmp_path / name).start() for name in ("a", "b")]
    try:
        for replica in replicas:
            replica.wait_for_tools({"sample_echo"})
        a, b = replicas
        legacy = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        initialize = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
        hello = httpx.post(a.mcp_url, json=initialize, headers=legacy, timeout=10)
        assert hello.status_code == 200
        # The session id pins nothing: it carries what the client declared, which any replica reads.
        session = hello.headers["mcp-session-id"]
        assert declared(session) == {}
        legacy["mcp-session-id"] = session
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "sample_echo", "arguments": {"text": "b"}},
        }
        answer = httpx.post(b.mcp_url, json=call, headers={**legacy, "mcp-protocol-version": "2025-11-25"}, timeout=10)
        assert answer.json()["result"]["structuredContent"] == {"result": "b"}
    finally:
        for replica in replicas:
            replica.stop()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_kit_resources_and_prompts_are_federated_namespaced(gateway: GatewayProcess, mode: str) -> None:
    """A kit service's resource template and prompt (`Service.resource`, `Service.prompt`) reach clients as
    `sample+notes://{key}` and `sample_summarize`; reads and gets go back to the service under its own names."""
    async with Client(gateway.mcp_url, mode=mode, cache=None) as client:
        await client.call_tool("sample_write_note", {"key": "fed", "text": "resources travel too"})
        templates = (await client.list_resource_templates()).resource_templates
        assert "sample+notes://{key}" in [t.uri_template for t in templates]
        read = await client.read_resource("sample+notes://fed")
        assert read.contents[0].text == "resources travel too"  # type: ignore[union-attr]
        assert read.contents[0].uri == "sample+notes://fed"
        with pytest.raises(MCPError):
            await client.read_resource("sample+notes://missing")
        with pytest.raises(MCPError):
            await client.read_resource("nobody+notes://fed")

        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert [a.name for a in prompts["sample_summarize"].arguments or []] == ["topic"]
        got = await client.get_prompt("sample_summarize", {"topic": "the fleet"})
        assert got.messages[0].content.text == "Summarize the fleet in three sentences."  # type: ignore[union-attr]
