"""The HTTP face: MCP at /mcp (2026-07-28 stateless and 2025-11-25), /healthz, /readyz, /metrics, request limits."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from mcp.client import Client

from sophia.kit.testing import mcp_body, mcp_headers

from .conftest import build_ping_service

ServeHttp = Callable[..., AbstractAsyncContextManager[str]]


def jsonrpc_result(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC result of a response sent as JSON or as one SSE event."""
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
        message = json.loads(data[-1])
    else:
        message = response.json()
    assert "error" not in message, message
    return message["result"]


def call_tool(url: str, name: str, arguments: dict[str, Any], **headers: str) -> httpx.Response:
    body = mcp_body("tools/call", {"name": name, "arguments": arguments})
    return httpx.post(f"{url}/mcp", json=body, headers={**mcp_headers("tools/call", name), **headers})


async def acall_tool(url: str, name: str, arguments: dict[str, Any], **headers: str) -> httpx.Response:
    """`call_tool` for servers running in this process's event loop."""
    body = mcp_body("tools/call", {"name": name, "arguments": arguments})
    async with httpx.AsyncClient() as http:
        return await http.post(f"{url}/mcp", json=body, headers={**mcp_headers("tools/call", name), **headers})


# -- the sample service as a real process ----------------------------------------------------------


def test_healthz_answers_200(sample_process: Any) -> None:
    response = httpx.get(f"{sample_process.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "sample"}


def test_readyz_answers_200_once_started(sample_process: Any) -> None:
    response = httpx.get(f"{sample_process.url}/readyz")
    assert response.status_code == 200
    assert response.json()["ready"] is True


def test_metrics_expose_calls_errors_and_latency(sample_process: Any) -> None:
    call_tool(sample_process.url, "fail", {"message": "no"})
    response = httpx.get(f"{sample_process.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    for name in ("sophia_tool_calls_total", "sophia_tool_errors_total", "sophia_tool_latency_seconds_bucket"):
        assert name in response.text
    assert 'sophia_tool_errors_total{kind="tool",service="sample",tool="fail"}' in response.text


def test_stateless_2026_post_calls_a_tool(sample_process: Any) -> None:
    response = call_tool(sample_process.url, "add", {"a": 2, "b": 3})
    assert jsonrpc_result(response)["structuredContent"] == {"total": 5.0}
    assert "mcp-session-id" not in response.headers


def test_stateless_2026_post_lists_tools(sample_process: Any) -> None:
    response = httpx.post(sample_process.mcp_url, json=mcp_body("tools/list"), headers=mcp_headers("tools/list"))
    tools = {tool["name"]: tool for tool in jsonrpc_result(response)["tools"]}
    assert tools["erase_note"]["_meta"]["sophia/risk"] == "high"
    assert tools["erase_note"]["annotations"]["destructiveHint"] is True


def test_unexpected_exception_is_masked_over_http(sample_process: Any) -> None:
    response = call_tool(sample_process.url, "crash", {})
    result = jsonrpc_result(response)
    assert result["isError"] is True
    assert "crash failed with an internal error" in response.text
    assert "hunter2" not in response.text


def test_body_over_max_body_bytes_is_413(sample_process: Any) -> None:
    limit = int(sample_process.settings["max_body_bytes"])
    response = call_tool(sample_process.url, "echo", {"text": "x" * (limit + 1)})
    assert response.status_code == 413


def test_host_header_not_allowed_is_rejected(sample_process: Any) -> None:
    response = call_tool(sample_process.url, "echo", {"text": "hi"}, host="attacker.example")
    assert 400 <= response.status_code < 500
    assert "hi" not in response.text


def test_allowed_host_with_any_port_is_accepted(sample_process: Any) -> None:
    response = call_tool(sample_process.url, "echo", {"text": "hi"}, host=f"localhost:{sample_process.http_port}")
    assert jsonrpc_result(response)["structuredContent"] == {"result": "hi"}


async def test_2026_sdk_client_works(sample_process: Any) -> None:
    async with Client(sample_process.mcp_url) as client:
        assert client.protocol_version == "2026-07-28"
        result = await client.call_tool("echo", {"text": "modern"})
    assert result.structured_content == {"result": "modern"}


async def test_2025_11_25_sdk_client_works(sample_process: Any) -> None:
    async with Client(sample_process.mcp_url, mode="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        result = await client.call_tool("add", {"a": 1, "b": 2})
    assert result.structured_content == {"total": 3.0}


# -- kit apps served in this process ---------------------------------------------------------------


async def test_readyz_is_503_before_start(serve_http: ServeHttp) -> None:
    async with serve_http(build_ping_service()) as url, httpx.AsyncClient() as http:
        response = await http.get(f"{url}/readyz")
    assert response.status_code == 503
    assert response.json() == {"ready": False, "service": "ping"}


async def test_readyz_follows_readiness_checks(serve_http: ServeHttp) -> None:
    service = build_ping_service()
    state = {"ready": False}

    @service.readiness
    async def warmed_up() -> bool:
        return state["ready"]

    await service.start(service.load_settings())
    async with serve_http(service) as url, httpx.AsyncClient() as http:
        assert (await http.get(f"{url}/readyz")).status_code == 503
        state["ready"] = True
        assert (await http.get(f"{url}/readyz")).status_code == 200
    await service.stop()


async def test_healthz_answers_while_not_ready(serve_http: ServeHttp) -> None:
    async with serve_http(build_ping_service()) as url, httpx.AsyncClient() as http:
        assert (await http.get(f"{url}/healthz")).status_code == 200


async def test_wildcard_allowed_hosts_accepts_any_host(serve_http: ServeHttp) -> None:
    service = build_ping_service()
    async with serve_http(service, service.load_settings(allowed_hosts=["*"])) as url:
        response = await acall_tool(url, "ping", {}, host="gateway.sophia.svc.cluster.local")
    assert jsonrpc_result(response)["structuredContent"] == {"result": "pong"}


@pytest.mark.parametrize("host", ["attacker.example", "localhost.attacker.example:80"])
async def test_only_listed_hosts_are_accepted(serve_http: ServeHttp, host: str) -> None:
    service = build_ping_service()
    async with serve_http(service, service.load_settings(allowed_hosts=["ping.svc:*"])) as url:
        allowed = await acall_tool(url, "ping", {}, host="ping.svc:8000")
        refused = await acall_tool(url, "ping", {}, host=host)
    assert allowed.status_code == 200
    assert 400 <= refused.status_code < 500
