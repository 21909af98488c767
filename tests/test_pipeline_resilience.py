"""The call pipeline under failure, with real processes on loopback: a server killed under load, Redis
restarted with approvals pending, and two gateway replicas behind one address serving one client.

The servers are the sample kit server and the infra test stand-in (tests/support/standins: a real kit
server that echoes its arguments); Redis is a real `redis-server` with an append-only file.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.kit.testing import free_port, mcp_body, mcp_headers, wait_until
from tests.support.fleet import GatewayProcess, sample_server
from tests.support.standins import standin_server

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


@contextlib.contextmanager
def durable_redis(data_dir: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server that keeps its data in an append-only file, as compose and Kubernetes run it."""
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir), "--save", ""]
    argv += ["--appendonly", "yes", "--appendfsync", "always"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _pong(port), 10, "redis-server")
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def _pong(port: int) -> bool:
    try:
        import redis

        return bool(redis.Redis(port=port, socket_timeout=0.5).ping())
    except Exception:
        return False


def call(url: str, tool: str, arguments: dict[str, Any], version: str | None = None) -> httpx.Response:
    headers = mcp_headers("tools/call", tool) | ({"mcp-protocol-version": version} if version else {})
    body = mcp_body("tools/call", {"name": tool, "arguments": arguments})
    return httpx.post(f"{url}/mcp", json=body, headers=headers, timeout=10)


def test_a_server_killed_under_load_fails_its_calls_typed_while_the_others_succeed(tmp_path: Path) -> None:
    sample = sample_server(tmp_path / "sample").start()
    infra = standin_server("infra", tmp_path / "infra").start()
    gateway = GatewayProcess([sample.grpc_address, infra.grpc_address], tmp_path / "gateway").start()
    try:
        gateway.wait_for_tools({"sample_echo", "infra_list_stacks"})
        statuses: dict[str, list[tuple[int, str]]] = {"sample": [], "infra": []}

        async def load(stop_at: float) -> None:
            async with httpx.AsyncClient(timeout=10) as http:

                async def one(tool: str, arguments: dict[str, Any], key: str) -> None:
                    while time.monotonic() < stop_at:
                        body = mcp_body("tools/call", {"name": tool, "arguments": arguments})
                        response = await http.post(gateway.mcp_url, json=body, headers=mcp_headers("tools/call", tool))
                        reply = response.json()
                        kind = "ok" if "result" in reply and not reply["result"].get("isError") else str(reply)[:200]
                        statuses[key].append((response.status_code, kind))

                await asyncio.gather(
                    *(one("sample_echo", {"text": "x"}, "sample") for _ in range(4)),
                    *(one("infra_list_stacks", {}, "infra") for _ in range(4)),
                )

        async def scenario() -> None:
            stop_at = time.monotonic() + 4
            running = asyncio.create_task(load(stop_at))
            await asyncio.sleep(1)
            sample.kill()
            await running

        asyncio.run(scenario())
        assert statuses["infra"] and all(s == (200, "ok") for s in statuses["infra"]), "the other server is unaffected"
        failures = [s for s in statuses["sample"] if s != (200, "ok")]
        assert failures, "calls after the kill fail"
        for status, kind in failures:
            assert status in (200, 503), kind  # never a 500, never "unknown tool" (404/400)
            assert "Unknown tool" not in kind and "internal" not in kind
        assert httpx.get(f"{gateway.url}/healthz").status_code == 200

        sample.start()
        gateway.wait_for_tools({"sample_echo"}, timeout=20)
        assert call(gateway.url, "sample_echo", {"text": "back"}).json()["result"]["structuredContent"] == {
            "result": "back"
        }
    finally:
        gateway.stop()
        sample.stop()
        infra.stop()


def test_redis_restarted_with_approvals_pending_loses_none_and_never_answers_500(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "redis-data"
    data.mkdir()
    infra = standin_server("infra", tmp_path / "infra").start()
    env = {"SOPHIA_GATEWAY_REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    try:
        with durable_redis(data, port):
            gateway = GatewayProcess([infra.grpc_address], tmp_path / "gateway", extra_env=env).start()
            gateway.wait_for_tools({"infra_up"})
            held = [
                httpx.post(f"{gateway.url}/v1/tools/infra_up", json={"stack": f"s{i}"}, timeout=5) for i in range(5)
            ]
            assert [r.status_code for r in held] == [202] * 5
            ids = {r.json()["structuredContent"]["approval"]["id"] for r in held}
        # Redis is down: every route that needs it answers a typed 503, nothing answers 500.
        down = [
            httpx.get(f"{gateway.url}/v1/approvals", timeout=10),
            httpx.post(f"{gateway.url}/v1/tools/infra_up", json={"stack": "x"}, timeout=10),
            httpx.post(f"{gateway.url}/v1/approvals/{next(iter(ids))}/approve", timeout=10),
            call(gateway.url, "infra_up", {"stack": "x"}),
        ]
        assert [r.status_code for r in down] == [503] * 4, [r.text for r in down]
        assert {r.json()["error"].get("type", r.json()["error"].get("code")) for r in down[:3]} == {"StateUnavailable"}
        assert httpx.get(f"{gateway.url}/healthz").status_code == 200
        with durable_redis(data, port):
            # The first request after the restart must not fail on a stale pooled connection.
            listed = httpx.get(f"{gateway.url}/v1/approvals", timeout=10)
            assert listed.status_code == 200, listed.text
            assert {a["id"] for a in listed.json()} == ids
            approved = httpx.post(f"{gateway.url}/v1/approvals/{min(ids)}/approve", timeout=10)
            assert approved.status_code == 200 and approved.json()["status"] == "executed"
            gateway.stop()
    finally:
        infra.stop()


class RoundRobin:
    """One address in front of several gateway replicas: each new connection goes to the next replica."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.port = free_port()
        self.next = 0
        self.served: list[int] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        target = self.ports[self.next % len(self.ports)]
        self.next += 1
        self.served.append(target)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.mark.parametrize("version", ["2026-07-28", "2025-11-25"])
def test_two_replicas_behind_one_address_serve_one_clients_interleaved_calls(tmp_path: Path, version: str) -> None:
    sample = sample_server(tmp_path / "sample").start()
    replicas = [GatewayProcess([sample.grpc_address], tmp_path / f"gateway-{i}").start() for i in range(2)]
    try:
        for replica in replicas:
            replica.wait_for_tools({"sample_echo"})
        proxy = RoundRobin([r.port for r in replicas])

        async def scenario() -> list[dict[str, Any]]:
            server = await asyncio.start_server(proxy.handle, "127.0.0.1", proxy.port)
            url = f"http://127.0.0.1:{proxy.port}/mcp"
            replies = []
            async with server:
                for i in range(10):
                    # A new connection per call, so consecutive calls of this one client land on alternate replicas.
                    async with httpx.AsyncClient(timeout=10) as http:
                        if version != "2026-07-28":
                            init = mcp_body("initialize", {"protocolVersion": version, "capabilities": {},
                                                           "clientInfo": {"name": "t", "version": "1"}})  # fmt: skip
                            headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": version}
                            assert (await http.post(url, json=init, headers=headers)).status_code == 200
                        body = mcp_body("tools/call", {"name": "sample_echo", "arguments": {"text": f"c{i}"}}, i + 1)
                        headers = mcp_headers("tools/call", "sample_echo") | {"mcp-protocol-version": version}
                        response = await http.post(url, json=body, headers=headers)
                        replies.append(response.json())
            return replies

        replies = asyncio.run(scenario())
        assert [r["result"]["structuredContent"]["result"] for r in replies] == [f"c{i}" for i in range(10)]
        assert set(proxy.served) == {r.port for r in replicas}, "both replicas answered"
    finally:
        for replica in replicas:
            replica.stop()
        sample.stop()
