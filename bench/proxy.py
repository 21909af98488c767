"""Added latency of the gateway on a trivial `tools/call`, and proxied throughput, with security off and on.

The same aiohttp client sends the same 2026-07-28 `tools/call` to the sample kit server directly
and through the gateway, alternating runs so drift hits both alike: 2000 sequential calls and
2000 calls at 32 in flight. Added latency is the gateway's percentile minus the direct one. Every
call passes the whole call pipeline; "security on" adds an API key, the role policy, the rate limit
(Redis) and the audit stream (Redis), "off" is `sophia up`'s setting (auth off, no Redis).
Targets (the call-pipeline issue): added ≤ 0.5 ms p50 and ≤ 2 ms p99; ≥ 1,500 proxied calls/s at 32
in flight, with security on.
"""

from __future__ import annotations

import asyncio
import functools
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from bench._fleet import cpu_seconds
from bench._report import added_latency, table, targets, write
from sophia.gateway.security.principals import generate_key, hash_key
from sophia.kit.testing import mcp_body, mcp_headers, redis_server, wait_until
from tests.support.fleet import GatewayProcess, sample_server

CALLS = 2000
CONCURRENCY = 32
ROUNDS = 3
TARGETS = {"added_p50_ms": 0.5, "added_p99_ms": 2.0, "proxied_calls_per_s": 1500}


async def run(
    session: aiohttp.ClientSession, url: str, tool: str, concurrency: int, key: str | None = None
) -> tuple[list[float], float]:
    body = json.dumps(mcp_body("tools/call", {"name": tool, "arguments": {"text": "ping"}})).encode()
    headers = mcp_headers("tools/call", tool) | ({"authorization": f"Bearer {key}"} if key else {})
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


async def measure(direct_url: str, gateway_url: str, gateway_pid: int, key: str | None) -> list[dict[str, Any]]:
    rows = []
    connector = aiohttp.TCPConnector(limit=CONCURRENCY * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        await run(session, direct_url, "echo", 4)  # warm both paths: connections, imports, caches
        await run(session, gateway_url, "sample_echo", 4, key)
        for concurrency in (1, CONCURRENCY):
            direct: list[float] = []
            proxied: list[float] = []
            direct_time = proxied_time = gateway_cpu = 0.0
            for _ in range(ROUNDS):
                d, dt = await run(session, direct_url, "echo", concurrency)
                cpu_before = cpu_seconds(gateway_pid)
                p, pt = await run(session, gateway_url, "sample_echo", concurrency, key)
                gateway_cpu += cpu_seconds(gateway_pid) - cpu_before
                direct += d
                proxied += p
                direct_time += dt
                proxied_time += pt
            mode = "sequential" if concurrency == 1 else f"{concurrency} concurrent"
            compared = added_latency(direct, proxied, direct_time, proxied_time, CALLS * ROUNDS, (50, 95, 99))
            row: dict[str, Any] = {"mode": mode, **compared}
            row["gateway_cpu_ms_per_call"] = gateway_cpu / (CALLS * ROUNDS) * 1e3
            rows.append(row)
    return rows


def serves_echo(url: str, key: str | None) -> bool:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    response = httpx.get(f"{url}/v1/capabilities", headers=headers, timeout=5)
    return response.status_code == 200 and any(t["name"] == "sample_echo" for t in response.json()["tools"])


def gateway_env(security: bool, tmp: Path, redis_url: str) -> tuple[dict[str, str], str | None]:
    """The gateway's settings for one run, and the API key its calls carry (None with auth off)."""
    env = {"SOPHIA_GATEWAY_LOG_LEVEL": "WARNING"}
    if not security:
        return env, None
    key = generate_key()
    principals = tmp / "principals.yaml"
    entry = {"name": "bench", "roles": ["admin"], "key_sha256": hash_key(key)}
    principals.write_text(json.dumps({"principals": [entry]}))
    env |= {
        "SOPHIA_GATEWAY_AUTH": "on",
        "SOPHIA_GATEWAY_PRINCIPALS_FILE": str(principals),
        "SOPHIA_GATEWAY_REDIS_URL": redis_url,
        # High enough that the benchmark measures the limiter's cost, not its refusals.
        "SOPHIA_GATEWAY_RATE_LIMIT_PER_MINUTE": "100000000",
        "SOPHIA_GATEWAY_RATE_LIMIT_BURST": "100000",
    }
    return env, key


def main() -> None:
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="sophia-bench-") as tmp, redis_server(use_env=False) as redis_url:
        server = sample_server(Path(tmp) / "sample", log_level="WARNING").start()
        try:
            for security in (False, True):
                label = "security on" if security else "security off"
                env, key = gateway_env(security, Path(tmp), redis_url)
                gateway = GatewayProcess([server.grpc_address], Path(tmp) / label.replace(" ", "-"), extra_env=env)
                gateway.start()
                try:
                    wait_until(functools.partial(serves_echo, gateway.url, key), 15, "the gateway to list sample_echo")
                    assert gateway.process is not None and gateway.process.proc is not None
                    rows = asyncio.run(measure(server.mcp_url, gateway.mcp_url, gateway.process.proc.pid, key))
                finally:
                    gateway.stop()
                results[label] = [{"security": label, **row} for row in rows]
        finally:
            server.stop()
    rows = [row for label in results for row in results[label]]
    print(f"\nproxy: {CALLS} trivial tools/call x {ROUNDS} rounds, direct vs through the gateway")
    for key in ("p50", "p95", "p99", "calls", "cpu"):
        cols = [k for k in rows[0] if key in k]
        print(
            table([{"security": r["security"], "mode": r["mode"], **{c: r[c] for c in cols}} for r in rows]), end="\n\n"
        )
    on = {r["mode"]: r for r in results["security on"]}
    measured = {
        "added_p50_ms": on["sequential"]["added_p50_ms"],
        "added_p99_ms": on["sequential"]["added_p99_ms"],
        "proxied_calls_per_s": on[f"{CONCURRENCY} concurrent"]["proxied_calls_per_s"],
    }
    checks = targets("proxy", measured, TARGETS, at_least=frozenset({"proxied_calls_per_s"}))
    print(f"wrote {write('proxy', rows + checks, TARGETS)}")
