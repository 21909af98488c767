"""A kit server with the internal credential, as a real process: /mcp and Describe need it, probes do not."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sophia.kit.testing import KitServer, wait_until
from sophia.v1 import capabilities_pb2 as pb
from sophia.v1 import capabilities_pb2_grpc as pb_grpc

from .conftest import SAMPLE_SCRIPT
from .test_http import call_tool, jsonrpc_result

CURRENT = "current-internal-token-0123456789"
NEXT = "next-internal-token-9876543210ab"
FILED = "filed-internal-token-abcdefghijkl"
ROTATED = "rotated-internal-token-mnopqrstuv"
WRONG = "wrong-internal-token-0000000000000"
EVERY_TOKEN = (CURRENT, NEXT, FILED, ROTATED, WRONG)


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def token_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "internal-token"
    path.write_text(f"# mounted from a Secret\n{FILED}\n")
    return path


@pytest.fixture(scope="module")
def guarded(launch_server: Callable[..., KitServer], token_file: Path) -> KitServer:
    """The sample server with two tokens in the environment and one in a file, logging at DEBUG."""
    env = {"SOPHIA_INTERNAL_TOKEN": f"{CURRENT},{NEXT}", "SOPHIA_INTERNAL_TOKEN_FILE": str(token_file)}
    return launch_server(SAMPLE_SCRIPT, "sample", env=env, log_level="DEBUG", log_format="json")


@pytest.fixture(scope="module")
def channel(guarded: KitServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(guarded.grpc_address) as channel:
        yield channel


def describe(channel: grpc.Channel, token: str | None) -> pb.DescribeResponse:
    metadata = tuple(auth(token).items()) if token else None
    return pb_grpc.CapabilitiesStub(channel).Describe(pb.DescribeRequest(), timeout=5, metadata=metadata)


# -- HTTP ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, auth(WRONG), {"authorization": CURRENT}, {"x-api-key": CURRENT}])
def test_mcp_without_the_credential_is_401(guarded: KitServer, headers: dict[str, str]) -> None:
    response = call_tool(guarded.url, "echo", {"text": "hi"}, **headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"error": "missing or invalid internal credential"}
    assert "hi" not in response.text


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
def test_every_method_on_mcp_needs_the_credential(guarded: KitServer, method: str) -> None:
    assert httpx.request(method, guarded.mcp_url).status_code == 401


def test_unknown_paths_are_refused_like_mcp(guarded: KitServer) -> None:
    """A refusal does not tell which paths exist."""
    assert httpx.get(f"{guarded.url}/nope").status_code == 401


@pytest.mark.parametrize("token", [CURRENT, NEXT, FILED])
def test_mcp_call_with_any_configured_token_works(guarded: KitServer, token: str) -> None:
    """Several tokens at once is how rotation works: old and new are both accepted for a while."""
    response = call_tool(guarded.url, "add", {"a": 2, "b": 3}, **auth(token))
    assert jsonrpc_result(response)["structuredContent"] == {"total": 5.0}


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_and_metrics_stay_open(guarded: KitServer, path: str) -> None:
    assert httpx.get(f"{guarded.url}{path}").status_code == 200


def test_a_rewritten_token_file_is_read_again_without_a_restart(guarded: KitServer, token_file: Path) -> None:
    fresh = token_file.with_suffix(".new")
    fresh.write_text(f"{ROTATED}\n")
    os.replace(fresh, token_file)  # how a Kubernetes Secret volume updates

    def rotated() -> bool:
        return call_tool(guarded.url, "echo", {"text": "x"}, **auth(ROTATED)).status_code == 200

    wait_until(rotated, 10, "the server to accept the rotated token")
    assert call_tool(guarded.url, "echo", {"text": "x"}, **auth(FILED)).status_code == 401
    assert call_tool(guarded.url, "echo", {"text": "x"}, **auth(CURRENT)).status_code == 200


# -- gRPC ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, WRONG])
def test_describe_without_the_credential_is_unauthenticated(channel: grpc.Channel, token: str | None) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        describe(channel, token)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert all(secret not in str(caught.value) for secret in EVERY_TOKEN)


def test_describe_with_the_credential_answers(channel: grpc.Channel) -> None:
    assert describe(channel, NEXT).name == "sample"


def test_health_stays_open(channel: grpc.Channel) -> None:
    """Kubernetes probes gRPC health natively, with no way to send a credential."""
    stub = health_pb2_grpc.HealthStub(channel)
    answer = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    watch = stub.Watch(health_pb2.HealthCheckRequest(service="sample"), timeout=5)
    assert next(iter(watch)).status == health_pb2.HealthCheckResponse.SERVING
    watch.cancel()


# -- never shown -----------------------------------------------------------------------------------


def test_no_token_ever_reaches_the_log_even_at_debug(guarded: KitServer, channel: grpc.Channel) -> None:
    for token in (WRONG, CURRENT):
        call_tool(guarded.url, "echo", {"text": "x"}, **auth(token))
    with pytest.raises(grpc.RpcError):
        describe(channel, WRONG)
    describe(channel, CURRENT)
    assert guarded.process is not None
    log = guarded.process.log()
    assert '"level": "debug"' in log and "refused a call without the internal credential" in log
    assert all(token not in log for token in EVERY_TOKEN)


# -- start -----------------------------------------------------------------------------------------


def test_a_short_token_stops_the_server_at_start_without_showing_it(tmp_path: Path) -> None:
    server = KitServer(SAMPLE_SCRIPT, "sample", tmp_path, env={"SOPHIA_INTERNAL_TOKEN": "fifteen-chars-x"})
    with pytest.raises(RuntimeError, match="exited with 2") as caught:
        server.start(timeout=20)
    assert "shorter than 16 characters" in str(caught.value)
    assert "fifteen-chars-x" not in str(caught.value)


def test_without_a_token_the_server_is_open_and_says_so_once(sample_process: KitServer) -> None:
    assert call_tool(sample_process.url, "echo", {"text": "x"}).status_code == 200
    assert sample_process.process is not None
    assert sample_process.process.log().count("internal auth is off") == 1
