"""Added latency and throughput of the external-server path: an MCP SDK server behind the gateway's SDK session.

The server is the conformance suite's reference server (`tests/support/conformance_server.py`, its own
process); the gateway federates it twice, its session pinned to each protocol era (`legacy_*` at 2025-11-25,
`modern_*` at 2026-07-28). An MCP SDK client calls the trivial `test_simple_text` directly (in the same era)
and through the gateway, alternating rounds so drift hits both alike: sequential calls for the added
latency (the gateway's percentile minus the direct one), then 32 in flight for throughput; with the gateway
process's CPU time per call, the steadier figure on a shared machine.
Targets (issue 12): added ≤ 1 ms p50 and ≤ 5 ms p99 in both eras, ≥ 600 calls/s at 32 in flight.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp.client import Client

from bench._fleet import cpu_seconds
from bench._report import added_latency, table, targets, write
from sophia.kit.testing import ManagedProcess, free_port
from tests.support.fleet import ROOT, GatewayProcess

CALLS = 300
CONCURRENCY = 32
ROUNDS = 3
TOOL = "test_simple_text"
ERAS = {"legacy": ("legacy", "2025-11-25"), "modern": ("2026-07-28", "2026-07-28")}
TARGETS = {"added_p50_ms": 1.0, "added_p99_ms": 5.0, "proxied_calls_per_s": 600}


async def run(client: Client, tool: str, concurrency: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    remaining = iter(range(CALLS))

    async def worker() -> None:
        for _ in remaining:
            started = time.perf_counter()
            result = await client.call_tool(tool, {})
            latencies.append(time.perf_counter() - started)
            if result.is_error:
                raise RuntimeError(f"{tool} failed: {result.content}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sorted(latencies), time.perf_counter() - started


async def measure(server_url: str, gateway_url: str, gateway_pid: int) -> list[dict[str, Any]]:
    rows = []
    for era, (mode, _) in ERAS.items():
        async with Client(server_url, mode=mode, cache=None) as direct, Client(gateway_url, cache=None) as gateway:
            await run(direct, TOOL, 4)  # warm both paths
            await run(gateway, f"{era}_{TOOL}", 4)
            for concurrency in (1, CONCURRENCY):
                straight: list[float] = []
                proxied: list[float] = []
                direct_time = proxied_time = gateway_cpu = 0.0
                for _ in range(ROUNDS):
                    d, dt = await run(direct, TOOL, concurrency)
                    cpu_before = cpu_seconds(gateway_pid)
                    p, pt = await run(gateway, f"{era}_{TOOL}", concurrency)
                    gateway_cpu += cpu_seconds(gateway_pid) - cpu_before
                    straight += d
                    proxied += p
                    direct_time += dt
                    proxied_time += pt
                mode_name = "sequential" if concurrency == 1 else f"{concurrency} concurrent"
                compared = added_latency(straight, proxied, direct_time, proxied_time, CALLS * ROUNDS, (50, 99))
                # The gateway's own CPU per call: what it costs, steadier than wall time on a shared machine.
                cpu_ms = gateway_cpu / (CALLS * ROUNDS) * 1e3
                rows.append({"era": era, "mode": mode_name, **compared, "gateway_cpu_ms_per_call": cpu_ms})
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
    print(f"\nexternal: {CALLS} trivial tools/call x {ROUNDS} rounds, MCP SDK client, direct vs via the gateway")
    print(table(rows), end="\n\n")
    by = {(r["era"], r["mode"]): r for r in rows}
    worst = {
        "added_p50_ms": max(by[(era, "sequential")]["added_p50_ms"] for era in ERAS),
        "added_p99_ms": max(by[(era, "sequential")]["added_p99_ms"] for era in ERAS),
        "proxied_calls_per_s": min(by[(era, f"{CONCURRENCY} concurrent")]["proxied_calls_per_s"] for era in ERAS),
    }
    checks = targets("external (worse era)", worst, TARGETS, at_least=frozenset({"proxied_calls_per_s"}))
    print(f"wrote {write('external', [*rows, *checks], TARGETS)}")


if __name__ == "__main__":
    main()
