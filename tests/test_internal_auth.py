"""Gateway → service authentication, end to end: the gateway and its kit servers share the internal
credential, so nothing else can call a server around the gateway (real processes on loopback)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.client import Client

from sophia.kit.testing import KitServer, mcp_body, mcp_headers, wait_until
from sophia.kit.wire import reply_in_event_stream
from tests.support.fleet import ROOT, GatewayProcess, sample_server

HEADERS_SERVICE = ROOT / "tests" / "support" / "headers_service.py"
TOKEN = "fleet-internal-token-0123456789abcdef"
WRONG = "wrong-internal-token-fedcba9876543210"
CLIENT_SECRET = "client-secret"
SECRETS = (TOKEN, WRONG, CLIENT_SECRET)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def with_token(server: KitServer, token: str) -> KitServer:
    server.env["SOPHIA_INTERNAL_TOKEN"] = token
    return server


def headers_server(log_dir: Path, token: str) -> KitServer:
    """tests/support/headers_service.py: its one tool tells which Authorization header reached it."""
    return with_token(KitServer(HEADERS_SERVICE, "headers", log_dir, settings={"log_format": "text"}), token)


def mcp_result(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("text/event-stream"):
        message = reply_in_event_stream(response.text, 1)  # mcp_body's request id
    else:
        message = response.json()
    assert "error" not in message, message
    return message["result"]  # type: ignore[no-any-return]


def call(url: str, tool: str, arguments: dict[str, Any], **headers: str) -> httpx.Response:
    body = mcp_body("tools/call", {"name": tool, "arguments": arguments})
    return httpx.post(url, json=body, headers={**mcp_headers("tools/call", tool), **headers}, timeout=10)


@dataclass
class Fleet:
    gateway: GatewayProcess
    sample: KitServer
    headers: KitServer
    outside: KitServer  # an external MCP server to the gateway (by URL): not ours, internal auth off


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    logs = tmp_path_factory.mktemp("internal-auth")
    sample = with_token(sample_server(logs / "sample"), TOKEN).start()
    headers = headers_server(logs / "headers", TOKEN).start()
    outside = headers_server(logs / "outside", "").start()
    gateway = GatewayProcess(
        [sample.grpc_address, headers.grpc_address],
        logs / "gateway",
        external=[{"name": "outside", "url": outside.mcp_url}],
        extra_env={"SOPHIA_INTERNAL_TOKEN": TOKEN, "SOPHIA_GATEWAY_LOG_LEVEL": "DEBUG"},
    ).start()
    try:
        gateway.wait_for_tools({"sample_add", "headers_authorization", "outside_authorization"})
        yield Fleet(gateway, sample, headers, outside)
    finally:
        gateway.stop()
        for server in (sample, headers, outside):
            server.stop()


async def test_tools_are_federated_and_callable_through_the_gateway(fleet: Fleet) -> None:
    async with Client(fleet.gateway.mcp_url) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("sample_add", {"a": 2, "b": 3})
    assert {"sample_add", "headers_authorization"} <= names
    assert result.structured_content == {"total": 5.0}


@pytest.mark.parametrize("headers", [{}, {"authorization": f"Bearer {CLIENT_SECRET}"}])
def test_a_direct_call_to_a_server_without_the_credential_is_401(fleet: Fleet, headers: dict[str, str]) -> None:
    response = call(fleet.sample.mcp_url, "add", {"a": 2, "b": 3}, **headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_the_server_receives_the_internal_credential_never_the_clients(fleet: Fleet) -> None:
    """A client's own Authorization header stays at the gateway; the upstream call carries the fleet's."""
    client_auth = {"authorization": f"Bearer {CLIENT_SECRET}"}
    via_mcp = mcp_result(call(fleet.gateway.mcp_url, "headers_authorization", {}, **client_auth))
    via_api = httpx.post(f"{fleet.gateway.url}/v1/tools/headers_authorization", json={}, headers=client_auth)
    assert via_api.status_code == 200, via_api.text
    for seen in (via_mcp["structuredContent"], via_api.json()["structuredContent"]):
        assert seen["sha256"] == sha256(f"Bearer {TOKEN}")
        assert seen["sha256"] != sha256(f"Bearer {CLIENT_SECRET}")


def test_external_servers_never_get_the_internal_credential(fleet: Fleet) -> None:
    client_auth = {"authorization": f"Bearer {CLIENT_SECRET}"}
    seen = mcp_result(call(fleet.gateway.mcp_url, "outside_authorization", {}, **client_auth))["structuredContent"]
    assert seen == {"present": False, "sha256": sha256("")}


def test_a_gateway_with_the_wrong_token_never_sees_the_servers_tools(fleet: Fleet, tmp_path: Path) -> None:
    gateway = GatewayProcess(
        [fleet.sample.grpc_address], tmp_path / "gateway", extra_env={"SOPHIA_INTERNAL_TOKEN": WRONG}
    ).start()
    try:

        def refused() -> bool:
            return any(s["status"] == "down" for s in gateway.capabilities()["servers"])

        wait_until(refused, 15, "the gateway to mark the server down")
        caps = gateway.capabilities()
        (server,) = caps["servers"]
        assert server["status"] == "down"
        assert "UNAUTHENTICATED" in server["error"]
        assert all(secret not in json.dumps(caps) for secret in SECRETS)
        assert not any(tool["name"].startswith("sample_") for tool in caps["tools"])
        assert gateway.process is not None
        assert all(secret not in gateway.process.log() for secret in SECRETS)
    finally:
        gateway.stop()


def test_no_credential_appears_in_any_log(fleet: Fleet) -> None:
    """Gateway at DEBUG and servers, after authorized, refused and client-authenticated calls."""
    call(fleet.sample.mcp_url, "add", {"a": 1, "b": 1}, authorization=f"Bearer {WRONG}")
    call(fleet.gateway.mcp_url, "headers_authorization", {}, authorization=f"Bearer {CLIENT_SECRET}")
    processes = [fleet.gateway.process] + [s.process for s in (fleet.sample, fleet.headers, fleet.outside)]
    logs = {str(p.log_path): p.log() for p in processes if p is not None}
    assert "refused a call without the internal credential" in logs[str(fleet.sample.process.log_path)]
    assert "DEBUG" in logs[str(fleet.gateway.process.log_path)]
    leaks = {name: [s for s in SECRETS if s in text] for name, text in logs.items()}
    assert leaks == {name: [] for name in logs}


def test_a_gateway_with_an_unusable_token_refuses_to_start_without_showing_it(tmp_path: Path) -> None:
    short = "fifteen-chars-x"
    gateway = GatewayProcess([], tmp_path, extra_env={"SOPHIA_INTERNAL_TOKEN": short})
    with pytest.raises(RuntimeError, match="exited with 2") as caught:
        gateway.start()
    assert "shorter than 16 characters" in str(caught.value)
    assert short not in str(caught.value)
