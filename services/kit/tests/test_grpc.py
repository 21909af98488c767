"""The gRPC control plane over a real process: `Capabilities.Describe` and `grpc.health.v1.Health`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from mcp.client import Client

from sophia.kit.testing import wait_until
from sophia.v1 import capabilities_pb2 as pb
from sophia.v1 import capabilities_pb2_grpc as pb_grpc

GATED_SCRIPT = Path(__file__).with_name("gated_service.py")
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture(scope="module")
def channel(sample_process: Any) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(sample_process.grpc_address) as channel:
        yield channel


@pytest.fixture(scope="module")
def described(channel: grpc.Channel) -> pb.DescribeResponse:
    return pb_grpc.CapabilitiesStub(channel).Describe(pb.DescribeRequest(), timeout=5)


def health(channel: grpc.Channel, service: str) -> int:
    request = health_pb2.HealthCheckRequest(service=service)
    return health_pb2_grpc.HealthStub(channel).Check(request, timeout=5).status


def test_describe_names_the_service_and_its_version(described: pb.DescribeResponse) -> None:
    assert (described.name, described.version) == ("sample", "1.2.3")


def test_describe_advertises_the_mcp_endpoint_on_the_real_port(
    described: pb.DescribeResponse, sample_process: Any
) -> None:
    assert described.mcp_endpoint == f"http://127.0.0.1:{sample_process.http_port}/mcp"


async def test_described_mcp_endpoint_serves_the_described_tools(described: pb.DescribeResponse) -> None:
    async with Client(described.mcp_endpoint) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
    assert listed == {tool.name for tool in described.tools}


def test_describe_lists_each_tool_with_risk_flags_and_data_kinds(described: pb.DescribeResponse) -> None:
    tools = {tool.name: tool for tool in described.tools}
    assert tools["erase_note"] == pb.Tool(
        name="erase_note",
        description="Erase the note stored under `key`.",
        tags=["notes"],
        risk=pb.RISK_HIGH,
        destructive=True,
        consumes=["note"],
    )
    assert tools["echo"].read_only and tools["echo"].idempotent
    assert (list(tools["echo"].consumes), list(tools["echo"].produces)) == (["text"], ["text"])
    assert (tools["write_note"].idempotent, list(tools["write_note"].produces)) == (True, ["note"])
    assert tools["write_note"].risk == pb.RISK_LOW


@pytest.mark.parametrize("service", ["", "sample"])
def test_health_is_serving_for_the_server_and_the_service(channel: grpc.Channel, service: str) -> None:
    assert health(channel, service) == SERVING


def test_health_of_an_unknown_service_is_not_found(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        health(channel, "memory")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


# -- readiness over gRPC -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gated(launch_server: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """A server whose readiness check passes while `ready_file` exists; it starts not ready."""
    ready_file = tmp_path_factory.mktemp("gated") / "ready"
    return launch_server(GATED_SCRIPT, "gated", env={"GATED_READY_FILE": str(ready_file)}), ready_file


def test_health_is_not_serving_while_readiness_fails(gated: tuple[Any, Path]) -> None:
    server, _ = gated
    assert httpx.get(f"{server.url}/readyz").status_code == 503
    with grpc.insecure_channel(server.grpc_address) as channel:
        wait_until(lambda: health(channel, "gated") == NOT_SERVING, 3, "gated NOT_SERVING")
        assert health(channel, "") == NOT_SERVING


def test_health_follows_readiness_after_start(gated: tuple[Any, Path]) -> None:
    server, ready_file = gated
    with grpc.insecure_channel(server.grpc_address) as channel:
        ready_file.touch()
        try:
            assert httpx.get(f"{server.url}/readyz").status_code == 200
            wait_until(lambda: health(channel, "gated") == SERVING, 3, "gated SERVING after it became ready")
        finally:
            ready_file.unlink()
        wait_until(lambda: health(channel, "gated") == NOT_SERVING, 3, "gated NOT_SERVING after it became unready")
