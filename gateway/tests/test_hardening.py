"""Attacks on the gateway's HTTP face, each found by trying it, each kept out by a regression test.

The middleware tests run in process against a tiny inner app; the last ones use a real gateway process
(the `gateway` fixture: a sample kit server behind it, auth off as under `sophia up`).
"""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from sophia.gateway.bodies import JsonBodyGuard
from sophia.gateway.security.origin import HostOriginGuard
from sophia.kit.testing import wait_until
from tests.support.fleet import GatewayProcess

ALLOWED = ["127.0.0.1:*", "localhost:*", "[::1]:*"]


async def inner(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers 200 and the body it read: what a route behind the guards would see."""
    message = await receive()
    body = message.get("body", b"")
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body or b"ok"})


def client(app: Any, host: str = "127.0.0.1:8080") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{host}")


@pytest.mark.parametrize("path", ["/v1/approvals/abc/approve", "/v1/tools/code_push", "/v1/ask", "/mcp"])
async def test_a_rebound_dns_name_cannot_drive_any_route(path: str) -> None:
    async with client(HostOriginGuard(inner, ALLOWED), host="attacker.example:8080") as http:
        response = await http.post(path, json={})
    assert response.status_code == 421
    assert "SOPHIA_GATEWAY_ALLOWED_HOSTS" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://attacker.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
    ],
)
async def test_a_cross_origin_browser_request_cannot_change_state(headers: dict[str, str]) -> None:
    async with client(HostOriginGuard(inner, ALLOWED)) as http:
        response = await http.post("/v1/approvals/abc/approve", headers=headers)
    assert response.status_code == 403


async def test_the_gateways_own_page_and_plain_clients_pass_and_probes_answer_any_host() -> None:
    guard = HostOriginGuard(inner, ALLOWED)
    async with client(guard) as http:
        assert (await http.post("/v1/ask", headers={"origin": "http://127.0.0.1:8080"})).status_code == 200
        assert (await http.post("/v1/ask")).status_code == 200  # curl, SDKs: no Origin
    async with client(guard, host="10.1.2.3:8080") as http:  # Kubernetes probes address the pod by IP
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/v1/capabilities")).status_code == 421


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id": NaN}',
        b'{"id": Infinity}',
        b'{"text": "\\ud800"}',
        b'{"n": 1180591620717411303424}',
        b'{"a": ' * 300 + b"1" + b"}" * 300,
        b'{"broken": ',
    ],
    ids=["nan", "infinity", "lone-surrogate", "int-beyond-64-bits", "deep-nesting", "malformed"],
)
async def test_json_bodies_that_break_code_further_in_are_a_400(raw: bytes) -> None:
    async with client(JsonBodyGuard(inner)) as http:
        response = await http.post("/v1/tools/x", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "InvalidRequest"


async def test_a_good_json_body_reaches_the_route_unchanged() -> None:
    raw = b'{"text": "h\\u00e9llo", "n": 18446744073709551615, "s": "123456789012345678901234"}'
    async with client(JsonBodyGuard(inner)) as http:
        response = await http.post("/v1/tools/x", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.content == raw


def test_approval_ids_that_are_not_ids_are_not_found(gateway: GatewayProcess) -> None:
    """`<id>:decision` is the Redis key of a decision: an id is never used as a key fragment unchecked."""
    for bad in ("abc:decision", "0" * 24 + ":decision", "*"):
        response = httpx.get(f"{gateway.url}/v1/approvals/{bad}", timeout=5)
        assert response.status_code in (404, 503), response.text  # 503: this fixture's gateway has no Redis


def test_rest_answers_400_with_the_validation_message_for_invalid_arguments(gateway: GatewayProcess) -> None:
    response = httpx.post(f"{gateway.url}/v1/tools/sample_sleep", json={"seconds": "soon"}, timeout=5)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "InvalidArguments" and 'seconds: "soon" is not of type "number"' in error["message"]
    assert "errors.pydantic.dev" not in error["message"]


def test_slow_clients_are_cut_off_and_normal_callers_still_get_in(slow_gateway: GatewayProcess) -> None:
    """Slowloris: connections that trickle their headers (or send nothing) are closed at the deadline."""
    trickling = []
    for _ in range(40):
        sock = socket.create_connection(("127.0.0.1", slow_gateway.port), timeout=5)
        sock.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finish
        trickling.append(sock)
    silent = [socket.create_connection(("127.0.0.1", slow_gateway.port), timeout=5) for _ in range(20)]
    try:
        assert httpx.get(f"{slow_gateway.url}/healthz", timeout=5).status_code == 200
        started = time.monotonic()

        def all_closed() -> bool:
            return all(_closed(sock) for sock in [*trickling, *silent])

        wait_until(all_closed, 10, "slow connections to be closed")
        assert time.monotonic() - started < 5
        assert httpx.get(f"{slow_gateway.url}/v1/capabilities", timeout=5).status_code == 200
    finally:
        for sock in [*trickling, *silent]:
            sock.close()


def _closed(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


@pytest.fixture(scope="module")
def slow_gateway(sample: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    process = GatewayProcess(
        [sample.grpc_address],
        tmp_path_factory.mktemp("slow-gateway"),
        extra_env={"SOPHIA_GATEWAY_HEADER_TIMEOUT_S": "1", "SOPHIA_GATEWAY_BODY_TIMEOUT_S": "1"},
    ).start()
    yield process
    process.stop()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_body_that_is_not_declared_json_is_refused_without_echoing_it(
    gateway: GatewayProcess, content_type: str
) -> None:
    """FastAPI's default 422 repeats the caller's input; a token pasted into the wrong field must not come back."""
    secret = "sk-should-never-come-back-4242"
    response = httpx.post(
        f"{gateway.url}/v1/tools/sample_echo",
        content=f'{{"text": "{secret}"'.encode(),
        headers={"content-type": content_type},
        timeout=5,
    )
    assert response.status_code == 422
    assert secret not in response.text and response.json()["detail"][0]["loc"] == ["body"]
