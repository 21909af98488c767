"""What benchmarks share about the processes they measure: a kept-alive MCP caller, resident memory."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import aiohttp

from sophia.kit.testing import mcp_body, mcp_headers


class Caller:
    """2026-07-28 `tools/call`s over one kept-alive aiohttp session; a failed call raises."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(mcp_body("tools/call", {"name": tool, "arguments": arguments})).encode()
        async with self.session.post(self.url, data=body, headers=mcp_headers("tools/call", tool)) as response:
            payload = await response.json(content_type=None)
        result = payload.get("result", {})
        if response.status != 200 or result.get("isError", True):
            raise RuntimeError(f"{tool} failed: {response.status} {str(payload)[:300]}")
        return dict(result["structuredContent"])

    async def timed(self, tool: str, calls: list[dict[str, Any]]) -> list[float]:
        """Latencies in seconds of sequential calls, one per argument set, sorted."""
        latencies = []
        for arguments in calls:
            started = time.perf_counter()
            await self.call(tool, arguments)
            latencies.append(time.perf_counter() - started)
        return sorted(latencies)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): a steadier cost than wall time on a
    shared machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
