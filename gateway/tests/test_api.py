"""The gateway's HTTP API over real processes: capabilities, direct tool calls and operations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sophia.kit.testing import KitServer
from tests.support.fleet import GatewayProcess


def test_capabilities_describe_servers_and_tools(gateway: GatewayProcess, sample: KitServer) -> None:
    capabilities = gateway.capabilities()
    [server] = capabilities["servers"]
    assert server["name"] == "sample"
    assert server["status"] == "serving"
    assert server["version"] == "1.2.3"
    assert server["mcp_endpoint"] == sample.mcp_url
    tools = {tool["name"]: tool for tool in capabilities["tools"]}
    erase = tools["sample_erase_note"]
    assert (erase["risk"], erase["destructive"], erase["consumes"]) == ("high", True, ["note"])
    assert tools["sample_echo"]["read_only"] is True
    assert tools["sample_echo"]["input_schema"]["required"] == ["text"]


def test_direct_tool_call_returns_the_call_tool_result(gateway: GatewayProcess) -> None:
    response = httpx.post(f"{gateway.url}/v1/tools/sample_add", json={"a": 1.5, "b": 2})
    assert response.status_code == 200
    assert response.json()["structuredContent"] == {"total": 3.5}
    assert response.json()["isError"] is False


def test_direct_call_of_unknown_tool_is_404(gateway: GatewayProcess) -> None:
    response = httpx.post(f"{gateway.url}/v1/tools/nothing_here", json={})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Unknown tool: nothing_here"


def test_direct_call_with_a_non_object_body_is_422(gateway: GatewayProcess) -> None:
    response = httpx.post(f"{gateway.url}/v1/tools/sample_echo", json=["text"])
    assert response.status_code == 422


def test_unexpected_server_exception_is_masked_not_500(gateway: GatewayProcess) -> None:
    response = httpx.post(f"{gateway.url}/v1/tools/sample_crash", json={})
    assert response.status_code == 200
    assert response.json()["isError"] is True
    assert "hunter2" not in response.text


def test_body_over_the_limit_is_413(gateway: GatewayProcess) -> None:
    response = httpx.post(f"{gateway.url}/v1/tools/sample_echo", json={"text": "x" * (4 * 1024 * 1024 + 1)})
    assert response.status_code == 413


def test_openapi_document_lists_the_api(gateway: GatewayProcess) -> None:
    paths = httpx.get(f"{gateway.url}/openapi.json").json()["paths"]
    assert {"/v1/capabilities", "/v1/tools/{name}", "/healthz", "/readyz", "/metrics"} <= set(paths)


def test_metrics_count_forwarded_calls(gateway: GatewayProcess) -> None:
    httpx.post(f"{gateway.url}/v1/tools/sample_echo", json={"text": "count me"})
    metrics = httpx.get(f"{gateway.url}/metrics").text
    assert 'sophia_gateway_tool_calls_total{outcome="ok",tool="sample_echo"}' in metrics
    assert 'sophia_gateway_servers{status="serving"} 1.0' in metrics


@pytest.fixture
def impatient_gateway(sample: KitServer, tmp_path: Path) -> Iterator[GatewayProcess]:
    gateway = GatewayProcess(
        [sample.grpc_address], tmp_path, extra_env={"SOPHIA_GATEWAY_CALL_TIMEOUT_S": "0.5"}
    ).start()
    gateway.wait_for_tools({"sample_sleep"})
    yield gateway
    gateway.stop()


def test_slow_server_is_a_timeout_error_not_a_hang(impatient_gateway: GatewayProcess) -> None:
    response = httpx.post(f"{impatient_gateway.url}/v1/tools/sample_sleep", json={"seconds": 3}, timeout=10)
    assert response.status_code == 504
    assert response.json()["error"]["type"] == "UpstreamTimeout"


async def test_slow_server_over_mcp_is_a_tool_error(impatient_gateway: GatewayProcess) -> None:
    from mcp.client import Client

    async with Client(impatient_gateway.mcp_url) as client:
        result = await client.call_tool("sample_sleep", {"seconds": 3})
    assert result.is_error
    assert "no answer within" in result.content[0].text  # type: ignore[union-attr]


def test_unreachable_server_leaves_the_gateway_healthy(tmp_path: Path) -> None:
    gateway = GatewayProcess(["127.0.0.1:1"], tmp_path).start()
    try:
        assert httpx.get(f"{gateway.url}/readyz").status_code == 200
        [server] = gateway.capabilities()["servers"]
        assert server["status"] in ("starting", "down")
        assert gateway.tool_names() == set()
    finally:
        gateway.stop()
