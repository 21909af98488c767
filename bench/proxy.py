"""Added latency of the gateway on a trivial `tools/call`, and proxied throughput.

The same aiohttp client sends the same 2026-07-28 `tools/call` to the sample kit server directly
and through the gateway, alternating runs so drift hits both alike: 2000 sequential calls and
2000 calls at 32 in flight. Added latency is the gateway's percentile minus the direct one.
Targets (issue 2): added ≤ 1 ms p50 and ≤ 5 ms p99; ≥ 600 proxied calls/s.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench._report import percentile, table, write
from sophia.kit.testing import mcp_body, mcp_headers
from tests.support.fleet import GatewayProcess, sample_server

CALLS = 2000
CONCURRENCY = 32
ROUNDS = 3
TARGETS = {"added_p50_ms": 1.0, "added_p99_ms": 5.0, "proxied_calls_per_s": 600}


async def run(session: aiohttp.ClientSession, url: str, tool: str, concurrency: int) -> tuple[list[float], float]:
    body = json.dumps(mcp_body("tools/call", {"name": tool, "arguments": {"text": "ping"}})).encode()
    headers = mcp_headers("tools/call", tool)
    latencies: list[float] = []
    remaining = iter(range(CALLS))

    async def worker() -> None:
        for _ in remaining:
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                payload = await response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != 200 or b'"isError":false' not in payload:
                raise RuntimeError(f"call failed: {response.status} {payload[:200]!r}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sorted(latencies), time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): a steadier cost than wall time on a
    shared machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(direct_url: str, gateway_url: str, gateway_pid: int) -> list[dict[str, Any]]:
    rows = []
    connector = aiohttp.TCPConnector(limit=CONCURRENCY * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        await run(session, direct_url, "echo", 4)  # warm both paths: connections, imports, caches
        await run(session, gateway_url, "sample_echo", 4)
        for concurrency in (1, CONCURRENCY):
            direct: list[float] = []
            proxied: list[float] = []
            direct_time = proxied_time = gateway_cpu = 0.0
            for _ in range(ROUNDS):
                d, dt = await run(session, direct_url, "echo", concurrency)
                cpu_before = cpu_seconds(gateway_pid)
                p, pt = await run(session, gateway_url, "sample_echo", concurrency)
                gateway_cpu += cpu_seconds(gateway_pid) - cpu_before
                direct += d
                proxied += p
                direct_time += dt
                proxied_time += pt
            direct.sort()
            proxied.sort()
            row: dict[str, Any] = {"mode": "sequential" if concurrency == 1 else f"{concurrency} concurrent"}
            for q in (50, 95, 99):
                row[f"direct_p{q}_ms"] = percentile(direct, q) * 1e3
                row[f"gateway_p{q}_ms"] = percentile(proxied, q) * 1e3
                row[f"added_p{q}_ms"] = row[f"gateway_p{q}_ms"] - row[f"direct_p{q}_ms"]
            row["direct_calls_per_s"] = CALLS * ROUNDS / direct_time
            row["proxied_calls_per_s"] = CALLS * ROUNDS / proxied_time
            row["gateway_cpu_ms_per_call"] = gateway_cpu / (CALLS * ROUNDS) * 1e3
            rows.append(row)
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sophia-bench-") as tmp:
        server = sample_server(Path(tmp) / "sample", log_level="WARNING").start()
        gateway = GatewayProcess(
            [server.grpc_address], Path(tmp) / "gateway", extra_env={"SOPHIA_GATEWAY_LOG_LEVEL": "WARNING"}
        ).start()
        try:
            gateway.wait_for_tools({"sample_echo"})
            assert gateway.process is not None and gateway.process.proc is not None
            rows = asyncio.run(measure(server.mcp_url, gateway.mcp_url, gateway.process.proc.pid))
        finally:
            gateway.stop()
            server.stop()
    print(f"\nproxy: {CALLS} trivial tools/call x {ROUNDS} rounds, direct vs through the gateway")
    for key in ("p50", "p95", "p99", "calls", "cpu"):
        cols = [k for k in rows[0] if key in k]
        print(table([{"mode": r["mode"], **{c: r[c] for c in cols}} for r in rows]), end="\n\n")
    print(f"wrote {write('proxy', rows, TARGETS)}")


if __name__ == "__main__":
    main()
