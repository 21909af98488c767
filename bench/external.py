"""Added latency and throughput of the external-server path: an MCP SDK server behind the gateway's SDK session.

The server is the conformance suite's reference server (`tests/support/conformance_server.py`, its own
process); the gateway federates it twice, its session pinned to each protocol era (`legacy_*` at 2025-11-25,
`modern_*` at 2026-07-28). The trivial `test_simple_text` is called directly (in the same era) and through
the gateway, alternating rounds so drift hits both alike. Every row carries the gateway process's CPU time
per call (the steadier figure on a shared machine) and this bench process's own (the load generator's).

An MCP SDK client makes the sequential calls, for the added latency (the gateway's percentile minus the
direct one), then 32 in flight. But the SDK client costs about as much CPU per call as the gateway and the
server together (1.1-1.5 ms on a 2-core machine; see `client_cpu_ms_per_call`) and shares the cores with
them: its 32-in-flight row measures the client as much as the gateway, so it stays in the table as
information only. A load generator must not be the bottleneck, so throughput is measured with a lean one
instead (about a tenth of the SDK client's CPU per call): raw JSON-RPC `tools/call` POSTs over the gateway's
own kept-alive HTTP client (`KeepAlivePool`), 32 in flight, built with the kit's wire helpers (2026-07-28,
stateless; to the 2025-11-25 server directly, plain JSON-RPC in a session opened once).
Targets (issue 12): added ≤ 1 ms p50 and ≤ 5 ms p99 in both eras (SDK client, sequential), ≥ 600 calls/s at
32 in flight (lean client).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from mcp.client import Client

from bench._fleet import cpu_seconds
from bench._report import added_latency, table, targets, write
from sophia.gateway.keepalive import KeepAlivePool
from sophia.kit.testing import ManagedProcess, free_port
from sophia.kit.wire import envelope, reply_in_event_stream, request_body, request_headers
from tests.support.fleet import ROOT, GatewayProcess

CALLS = 300
CONCURRENCY = 32
ROUNDS = 3
TOOL = "test_simple_text"
ERAS = {"legacy": ("legacy", "2025-11-25"), "modern": ("2026-07-28", "2026-07-28")}
LEGACY = "2025-11-25"
LEAN = f"{CONCURRENCY} concurrent, lean client"
TIMEOUT_S = 30.0
#: One call of a load generator; it raises when the call failed.
Call = Callable[[], Awaitable[None]]
TARGETS = {"added_p50_ms": 1.0, "added_p99_ms": 5.0, "proxied_calls_per_s": 600}


async def run(call: Call, concurrency: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    remaining = iter(range(CALLS))

    async def worker() -> None:
        for _ in remaining:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sorted(latencies), time.perf_counter() - started


def sdk_call(client: Client, tool: str) -> Call:
    async def call() -> None:
        result = await client.call_tool(tool, {})
        if result.is_error:
            raise RuntimeError(f"{tool} failed: {result.content}")

    return call


class LeanClient:
    """A load generator that costs next to nothing per call: one raw JSON-RPC `tools/call` POST on a kept-alive
    connection (the gateway's own `KeepAlivePool`), its answer checked and nothing else. Stateless 2026-07-28
    (the kit's wire helpers), or plain JSON-RPC in a 2025-11-25 session opened once (`legacy`)."""

    def __init__(self, url: str, tool: str, session: str | None = None) -> None:
        self.url, self.tool, self.session = url, tool, session
        self.pool = KeepAlivePool(limit=CONCURRENCY)
        self.endpoint = self.pool.endpoint(url)
        self.ids = itertools.count(1)
        if session is None:
            self.headers = request_headers("tools/call", tool)
            self.meta: dict[str, Any] | None = envelope()
        else:
            self.headers = {
                "content-type": "application/json",
                "accept": "application/json, text/event-stream",
                "mcp-protocol-version": LEGACY,
                "mcp-session-id": session,
            }
            self.meta = None

    @classmethod
    async def legacy(cls, url: str, tool: str) -> LeanClient:
        """Open a 2025-11-25 session (initialize, then notifications/initialized) and call in it."""
        headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        params = {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as http:
            answer = await http.post(
                url, headers=headers, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}
            )
            session = answer.headers.get("mcp-session-id")
            if answer.status_code != 200 or not session:
                raise RuntimeError(
                    f"initialize at {url}: HTTP {answer.status_code}, session {session!r}: {answer.text[:500]}"
                )
            headers |= {"mcp-protocol-version": LEGACY, "mcp-session-id": session}
            answer = await http.post(
                url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"}
            )
            if answer.status_code not in (200, 202):
                raise RuntimeError(
                    f"notifications/initialized at {url}: HTTP {answer.status_code}: {answer.text[:500]}"
                )
        return cls(url, tool, session)

    async def call(self) -> None:
        request_id = next(self.ids)
        params = {"name": self.tool, "arguments": {}}
        if self.meta is None:
            message = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}
        else:
            message = request_body("tools/call", params, request_id, self.meta)
        body = json.dumps(message).encode()
        answer = await self.endpoint.send(self.endpoint.head(self.headers, len(body)), body, TIMEOUT_S)
        if answer.status != 200:
            raise RuntimeError(f"{self.tool} at {self.url}: HTTP {answer.status}: {answer.body[:500]!r}")
        if answer.content_type.startswith("text/event-stream"):
            reply = reply_in_event_stream(answer.body, request_id)
        else:
            reply = json.loads(answer.body)
        result = reply.get("result")
        if not isinstance(result, dict) or result.get("isError") is True:
            raise RuntimeError(f"{self.tool} at {self.url} failed: {json.dumps(reply)[:500]}")

    async def aclose(self) -> None:
        await self.pool.aclose()
        if self.session is not None:  # best effort: the server drops the session
            try:
                async with httpx.AsyncClient(timeout=5) as http:
                    await http.delete(
                        self.url, headers={"mcp-protocol-version": LEGACY, "mcp-session-id": self.session}
                    )
            except httpx.HTTPError:
                pass


async def compare(
    era: str, mode: str, direct: Call, gateway: Call, concurrency: int, gateway_pid: int
) -> dict[str, Any]:
    """One row: ROUNDS alternating rounds of CALLS calls, direct then through the gateway."""
    straight: list[float] = []
    proxied: list[float] = []
    direct_time = proxied_time = gateway_cpu = client_cpu = 0.0
    for _ in range(ROUNDS):
        client_before = time.process_time()
        d, dt = await run(direct, concurrency)
        cpu_before = cpu_seconds(gateway_pid)
        p, pt = await run(gateway, concurrency)
        gateway_cpu += cpu_seconds(gateway_pid) - cpu_before
        client_cpu += time.process_time() - client_before
        straight += d
        proxied += p
        direct_time += dt
        proxied_time += pt
    compared = added_latency(straight, proxied, direct_time, proxied_time, CALLS * ROUNDS, (50, 99))
    return {
        "era": era,
        "mode": mode,
        **compared,
        # The gateway's own CPU per call: what it costs, steadier than wall time on a shared machine.
        "gateway_cpu_ms_per_call": gateway_cpu / (CALLS * ROUNDS) * 1e3,
        # This process's (the load generator's) CPU per call, direct and gateway calls together.
        "client_cpu_ms_per_call": client_cpu / (2 * CALLS * ROUNDS) * 1e3,
    }


async def measure(server_url: str, gateway_url: str, gateway_pid: int) -> list[dict[str, Any]]:
    rows = []
    for era, (mode, protocol) in ERAS.items():
        tool = f"{era}_{TOOL}"
        async with Client(server_url, mode=mode, cache=None) as direct, Client(gateway_url, cache=None) as gateway:
            direct_call, gateway_call = sdk_call(direct, TOOL), sdk_call(gateway, tool)
            await run(direct_call, 4)  # warm both paths
            await run(gateway_call, 4)
            for concurrency in (1, CONCURRENCY):
                mode_name = "sequential" if concurrency == 1 else f"{concurrency} concurrent"
                rows.append(await compare(era, mode_name, direct_call, gateway_call, concurrency, gateway_pid))
        lean_direct = await LeanClient.legacy(server_url, TOOL) if protocol == LEGACY else LeanClient(server_url, TOOL)
        lean_gateway = LeanClient(gateway_url, tool)  # the gateway speaks 2026-07-28 to its clients
        try:
            await run(lean_direct.call, CONCURRENCY)  # warm both paths (and open the connections)
            await run(lean_gateway.call, CONCURRENCY)
            rows.append(await compare(era, LEAN, lean_direct.call, lean_gateway.call, CONCURRENCY, gateway_pid))
        finally:
            await lean_direct.aclose()
            await lean_gateway.aclose()
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sophia-bench-external-") as tmp:
        port = free_port()
        server = ManagedProcess(
            [sys.executable, str(ROOT / "tests" / "support" / "conformance_server.py"), str(port)],
            env={"PYTHONPATH": str(ROOT)},
            log_path=Path(tmp) / "server.log",
            health_url=f"http://127.0.0.1:{port}/healthz",
            cwd=ROOT,
        ).start()
        url = f"http://127.0.0.1:{port}/mcp"
        external = [{"name": era, "url": url, "protocol": protocol} for era, (_, protocol) in ERAS.items()]
        gateway = GatewayProcess([], Path(tmp), external=external, extra_env={"SOPHIA_GATEWAY_LOG_LEVEL": "WARNING"})
        try:
            gateway.start()
            gateway.wait_for_tools({f"{era}_{TOOL}" for era in ERAS})
            assert gateway.process is not None and gateway.process.proc is not None
            rows = asyncio.run(measure(url, gateway.mcp_url, gateway.process.proc.pid))
        finally:
            gateway.stop()
            server.stop()
    print(
        f"\nexternal: {CALLS} trivial tools/call x {ROUNDS} rounds, direct vs via the gateway (MCP SDK or lean client)"
    )
    print(table(rows), end="\n\n")
    by = {(r["era"], r["mode"]): r for r in rows}
    worst = {
        "added_p50_ms": max(by[(era, "sequential")]["added_p50_ms"] for era in ERAS),
        "added_p99_ms": max(by[(era, "sequential")]["added_p99_ms"] for era in ERAS),
        "proxied_calls_per_s": min(by[(era, LEAN)]["proxied_calls_per_s"] for era in ERAS),
    }
    checks = targets("external (worse era)", worst, TARGETS, at_least=frozenset({"proxied_calls_per_s"}))
    print(f"wrote {write('external', [*rows, *checks], TARGETS)}")


if __name__ == "__main__":
    main()
