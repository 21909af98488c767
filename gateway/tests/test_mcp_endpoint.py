"""The federated /mcp endpoint answers bad input the way the MCP spec says, over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from mcp_types import HEADER_MISMATCH

from sophia.gateway.client_capabilities import declared
from sophia.kit.testing import mcp_body, mcp_headers
from tests.support.fleet import GatewayProcess


def post(gateway: GatewayProcess, body: object, headers: dict[str, str], **kwargs: object) -> httpx.Response:
    if isinstance(body, bytes):
        return httpx.post(gateway.mcp_url, content=body, headers=headers, timeout=10, **kwargs)  # type: ignore[arg-type]
    return httpx.post(gateway.mcp_url, json=body, headers=headers, timeout=10, **kwargs)  # type: ignore[arg-type]


def test_tools_call_answers_with_the_servers_result(gateway: GatewayProcess) -> None:
    body = mcp_body("tools/call", {"name": "sample_echo", "arguments": {"text": "hi"}}, request_id=41)
    response = post(gateway, body, mcp_headers("tools/call", "sample_echo"))
    assert response.status_code == 200
    reply = response.json()
    assert reply["id"] == 41
    assert reply["result"]["structuredContent"] == {"result": "hi"}
    assert reply["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "sophia"


def test_unknown_tool_is_invalid_params_naming_it(gateway: GatewayProcess) -> None:
    body = mcp_body("tools/call", {"name": "ghost_tool", "arguments": {}})
    response = post(gateway, body, mcp_headers("tools/call", "ghost_tool"))
    assert response.status_code == 400
    assert response.json()["error"] == {"code": -32602, "message": "Unknown tool: ghost_tool"}


def test_malformed_json_is_a_parse_error(gateway: GatewayProcess) -> None:
    response = post(gateway, b'{"jsonrpc": "2.0", "id": 1, "method": ', mcp_headers("tools/call", "sample_echo"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32700


@pytest.mark.parametrize("body", [[1, 2], {"jsonrpc": "2.0", "id": 1}, "just a string"])
def test_a_body_that_is_not_one_request_is_invalid_request(gateway: GatewayProcess, body: object) -> None:
    response = post(gateway, body, mcp_headers("tools/call"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32600


def test_mcp_name_header_contradicting_the_body_is_rejected(gateway: GatewayProcess) -> None:
    body = mcp_body("tools/call", {"name": "sample_erase_note", "arguments": {"key": "k"}})
    response = post(gateway, body, mcp_headers("tools/call", "sample_echo"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == HEADER_MISMATCH
    assert "mcp-name" in error["message"].lower()


def test_mcp_method_header_contradicting_the_body_is_rejected(gateway: GatewayProcess) -> None:
    body = mcp_body("tools/call", {"name": "sample_echo", "arguments": {"text": "x"}})
    response = post(gateway, body, mcp_headers("tools/list"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == HEADER_MISMATCH


def test_missing_envelope_is_invalid_params(gateway: GatewayProcess) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "sample_echo", "arguments": {}}}
    response = post(gateway, body, mcp_headers("tools/call", "sample_echo"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602


def test_arguments_that_are_not_an_object_are_invalid_params(gateway: GatewayProcess) -> None:
    body = mcp_body("tools/call", {"name": "sample_echo", "arguments": ["hi"]})
    response = post(gateway, body, mcp_headers("tools/call", "sample_echo"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602


def test_unknown_method_is_method_not_found(gateway: GatewayProcess) -> None:
    response = post(gateway, mcp_body("tools/teleport"), mcp_headers("tools/teleport"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == -32601


def test_body_over_the_limit_is_413(gateway: GatewayProcess) -> None:
    text = "x" * (4 * 1024 * 1024 + 1)
    body = mcp_body("tools/call", {"name": "sample_echo", "arguments": {"text": text}})
    response = post(gateway, body, mcp_headers("tools/call", "sample_echo"))
    assert response.status_code == 413


def test_foreign_host_header_is_refused(gateway: GatewayProcess) -> None:
    """DNS-rebinding protection: a browser page on another host cannot drive the endpoint."""
    body = mcp_body("tools/call", {"name": "sample_echo", "arguments": {"text": "x"}})
    response = post(gateway, body, {**mcp_headers("tools/call", "sample_echo"), "host": "evil.example:80"})
    assert response.status_code in (400, 403, 421)


def test_unsupported_protocol_version_is_refused(gateway: GatewayProcess) -> None:
    body = mcp_body("tools/call", {"name": "sample_echo", "arguments": {"text": "x"}})
    response = post(gateway, body, mcp_headers("tools/call", "sample_echo", version="1999-01-01"))
    assert response.status_code == 400


def test_legacy_tools_call_without_envelope_is_served(gateway: GatewayProcess) -> None:
    """2025-11-25 clients carry no per-request envelope; stateless, no session id needed."""
    body = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "sample_echo", "arguments": {"text": "old"}},
    }
    response = post(gateway, body, {**mcp_headers("tools/call", version="2025-11-25")})
    assert response.status_code == 200
    assert response.json()["result"]["structuredContent"] == {"result": "old"}
    assert "mcp-session-id" not in response.headers


@pytest.mark.parametrize(
    "envelope",
    [
        {"id": 7},  # no "jsonrpc"
        {"jsonrpc": "1.0", "id": 7},
        {"jsonrpc": "2.0", "id": None},
        {"jsonrpc": "2.0", "id": True},
        {"jsonrpc": "2.0", "id": 1.5},
        {"jsonrpc": "2.0", "id": {"a": 1}},
    ],
)
def test_the_fast_path_checks_the_json_rpc_envelope_before_running_anything(
    gateway: GatewayProcess, envelope: dict[str, object]
) -> None:
    """tools/call is served by the gateway's fast path; it must refuse what the SDK path refuses."""
    body = {**envelope, "method": "tools/call", "params": {"name": "sample_echo", "arguments": {"text": "x"}}}
    body["params"]["_meta"] = mcp_body("tools/call")["params"]["_meta"]  # type: ignore[index]
    response = post(gateway, body, mcp_headers("tools/call", "sample_echo"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32600
    assert "result" not in response.json()


@pytest.mark.parametrize(
    "raw",
    [
        b'{"jsonrpc": "2.0", "id": 1180591620717411303424, "method": "tools/call", "params": {"name": "sample_echo"}}',
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "sample_echo", '
        b'"arguments": {"text": NaN}}}',
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "sample_echo", '
        b'"arguments": {"text": "\\ud800"}}}',
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "sample_echo", "arguments": '
        + b'{"t": ' * 400
        + b"1"
        + b"}" * 400
        + b"}}",
    ],
    ids=["id-beyond-64-bits", "nan", "lone-surrogate", "deep-nesting"],
)
def test_bodies_that_would_break_code_further_in_are_a_clear_400(gateway: GatewayProcess, raw: bytes) -> None:
    response = post(gateway, raw, mcp_headers("tools/call", "sample_echo"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] in (-32700, -32600)


def test_a_known_tool_whose_arguments_are_invalid_is_a_tool_error_naming_the_argument(gateway: GatewayProcess) -> None:
    body = mcp_body("tools/call", {"name": "sample_sleep", "arguments": {"seconds": 99}})
    response = post(gateway, body, mcp_headers("tools/call", "sample_sleep"))
    result = response.json()["result"]
    assert result["isError"] is True
    assert "seconds: 99 is greater than the maximum of 30" in result["content"][0]["text"]
    assert "pydantic" not in result["content"][0]["text"]


def test_initialize_gives_a_session_id_that_carries_the_declared_capabilities(gateway: GatewayProcess) -> None:
    """Stateless, yet any replica must know later whether it may ask this client for sampling or elicitation."""
    params = {
        "protocolVersion": "2025-11-25",
        "capabilities": {"sampling": {}, "elicitation": {"form": {}}},
        "clientInfo": {"name": "t", "version": "1"},
    }
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    response = post(gateway, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}, headers)
    assert response.status_code == 200
    assert declared(response.headers["mcp-session-id"]) == {"sampling": {}, "elicitation": {"form": {}}}


def test_an_answer_no_request_waits_for_is_refused_clearly(gateway: GatewayProcess) -> None:
    headers = mcp_headers("tools/call", version="2025-11-25")
    for request_id in ("sophia-guessed", 3):
        answer = {"jsonrpc": "2.0", "id": request_id, "result": {"action": "accept"}}
        response = post(gateway, answer, headers)
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "no request of the gateway waits for this answer"


def test_an_oversized_answer_is_413(gateway: GatewayProcess) -> None:
    answer = {"jsonrpc": "2.0", "id": "sophia-x", "result": {"content": "x" * (1024 * 1024 + 1)}}
    response = post(gateway, answer, mcp_headers("tools/call", version="2025-11-25"))
    assert response.status_code == 413
    assert "at most" in response.json()["error"]["message"]
