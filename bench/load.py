"""The gateway under many clients at once: 1000 concurrent clients, each on its own connection, for 60 s.

Every client calls `sample_echo` through the gateway in a loop (the full call pipeline, auth off as under
`sophia up`). Counted: calls, calls/s, p50/p99 latency, and errors of any kind (HTTP status other than
200, a JSON-RPC error, an `isError` result, a dropped connection). Target: 0 errors. `BENCH_LOAD_S` and
`BENCH_LOAD_CLIENTS` shorten or shrink the run.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench._report import percentile, table, targets, write
from sophia.kit.testing import mcp_body, mcp_headers
from tests.support.fleet import GatewayProcess, sample_server

CLIENTS = int(os.environ.get("BENCH_LOAD_CLIENTS", "1000"))
DURATION_S = float(os.environ.get("BENCH_LOAD_S", "60"))
TARGETS = {"errors": 0}


async def client(url: str, stop_at: float, latencies: list[float], errors: Counter[str]) -> None:
    body = json.dumps(mcp_body("tools/call", {"name": "sample_echo", "arguments": {"text": "load"}})).encode()
    headers = mcp_headers("tools/call", "sample_echo")
    connector = aiohttp.TCPConnector(limit=1)  # one connection per client, as 1000 separate clients have
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    payload = await response.read()
                    if response.status != 200:
                        errors[f"HTTP {response.status}"] += 1
                    elif b'"isError":false' not in payload:
                        errors["error result"] += 1
                    else:
                        latencies.append(time.perf_counter() - started)
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors[type(exc).__name__] += 1


async def measure(url: str) -> dict[str, Any]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    stop_at = time.monotonic() + DURATION_S
    started = time.perf_counter()
    await asyncio.gather(*(client(url, stop_at, latencies, errors) for _ in range(CLIENTS)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "clients": CLIENTS,
        "seconds": round(elapsed, 1),
        "calls": len(latencies) + sum(errors.values()),
        "calls_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
        "errors": sum(errors.values()),
        "error_kinds": dict(errors) or "-",
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sophia-load-") as tmp:
        server = sample_server(Path(tmp) / "sample", log_level="WARNING").start()
        gateway = GatewayProcess(
            [server.grpc_address], Path(tmp) / "gateway", extra_env={"SOPHIA_GATEWAY_LOG_LEVEL": "WARNING"}
        ).start()
        try:
            gateway.wait_for_tools({"sample_echo"})
            row = asyncio.run(measure(gateway.mcp_url))
            healthy = gateway.process is not None and gateway.process.proc is not None
            row["gateway_alive"] = healthy and gateway.process.proc.poll() is None  # type: ignore[union-attr]
        finally:
            gateway.stop()
            server.stop()
    print(f"\nload: {CLIENTS} concurrent clients for {DURATION_S:g} s through the gateway")
    print(table([row]), end="\n\n")
    checks = targets("load", {"errors": row["errors"]}, TARGETS)
    print(f"wrote {write('load', [row, *checks], TARGETS)}")
