"""Infra service: preview and up round trips through the gateway with the pulumi stand-in, and memory at start.

The infra server runs as `sophia up` runs it (its own process, MCP over HTTP, the file backend under a data
directory, Redis for stack locks) with the stand-in `pulumi` executable on PATH
(services/infra/tests/pulumi_standin.py: it speaks the CLI surface the Automation API uses; no real cloud).
A real gateway process (Redis approvals, auth off) fronts it. Over HTTP to the gateway (`/v1/tools/...`),
sequentially: 20 previews of a 12-resource Pulumi YAML program's stack (each: stack select, state export, program
hash, `pulumi preview --save-plan` with its event log, cost estimate); then 15 deploys, each a config change,
a preview, `infra_up` (held by the gateway: 202) and the approval that runs it (`pulumi up --plan`). Reported:
preview p50/p95, the held `up` call, the approve-and-apply call, the whole preview→up→approve round trip, and
the server's resident memory right after start. Every pulumi call is a stand-in process start (~0.1-0.2 s of
Python here), so the numbers are dominated by CLI invocations, as they are with the real CLI.
Targets (2-core development machine): preview p95 <= 1 s, round trip p95 <= 3 s, memory at start <= 150 MiB.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

import sophia.infra.__main__ as entry_point
from bench._fleet import rss_mib
from bench._report import percentile, table, targets, write
from sophia.kit.testing import KitServer, redis_server
from tests.support.fleet import ROOT, GatewayProcess

STANDIN = ROOT / "services" / "infra" / "tests" / "pulumi_standin.py"
PREVIEWS = 20
DEPLOYS = 15
TARGETS = {"preview_p95_ms": 1000.0, "round_trip_p95_ms": 3000.0, "rss_at_start_mib": 150.0}
TOKEN = "bench-infra-internal-token-0123456789"


def program() -> str:
    resources = []
    for i in range(4):
        resources.append(f"  web{i}:\n    type: kubernetes:apps/v1:Deployment\n    properties:\n      spec:\n"
                         f"        replicas: ${{replicas}}\n")  # fmt: skip
        resources.append(f"  svc{i}:\n    type: kubernetes:core/v1:Service\n    properties:\n      spec:\n"
                         f"        type: ClusterIP\n")  # fmt: skip
        resources.append(
            f"  vm{i}:\n    type: aws:ec2/instance:Instance\n    properties:\n      instanceType: t3.small\n"
        )
    return (
        "name: benchapp\nruntime: yaml\nconfig:\n  replicas:\n    type: integer\nresources:\n"
        + "".join(resources)
        + "outputs:\n  endpoint: ${web0.id}\n"
    )


def row(name: str, latencies: list[float], note: str = "") -> dict[str, Any]:
    return {"operation": name, "calls": len(latencies), "p50_ms": percentile(latencies, 50) * 1e3,
            "p95_ms": percentile(latencies, 95) * 1e3, "note": note}  # fmt: skip


async def measure(gateway: GatewayProcess) -> tuple[list[dict[str, Any]], dict[str, float]]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as http:

        async def tool(name: str, expect: int = 200, **arguments: Any) -> dict[str, Any]:
            response = await http.post(f"/v1/tools/{name}", json=arguments)
            if response.status_code != expect:
                raise RuntimeError(f"{name}: {response.status_code} {response.text[:300]}")
            return dict(response.json()["structuredContent"])

        await tool("infra_new_stack", stack="bench")
        await tool("infra_config_set", stack="bench", key="replicas", value="1")
        previews = []
        for _ in range(PREVIEWS):
            started = time.perf_counter()
            await tool("infra_preview", stack="bench")
            previews.append(time.perf_counter() - started)
        held, applied, trips = [], [], []
        for i in range(DEPLOYS):
            await tool("infra_config_set", stack="bench", key="replicas", value=str(i + 2))
            started = time.perf_counter()
            plan = await tool("infra_preview", stack="bench")
            t_up = time.perf_counter()
            approval = (await tool("infra_up", expect=202, stack="bench", plan_id=plan["plan_id"]))["approval"]
            t_held = time.perf_counter()
            done = await http.post(f"/v1/approvals/{approval['id']}/approve", json={"approver": "bench"})
            if done.status_code != 200 or done.json()["status"] != "executed":
                raise RuntimeError(f"approve: {done.status_code} {done.text[:300]}")
            finished = time.perf_counter()
            held.append(t_held - t_up)
            applied.append(finished - t_held)
            trips.append(finished - started)
    rows = [
        row("infra_preview (12 resources)", sorted(previews), "pulumi preview --save-plan"),
        row("infra_up held by the gateway", sorted(held), "202, approval queued"),
        row("approve → pulumi up --plan", sorted(applied), "the apply itself"),
        row("preview → up → approve", sorted(trips), "one deploy"),
    ]
    measured = {"preview_p95_ms": percentile(sorted(previews), 95) * 1e3,
                "round_trip_p95_ms": percentile(sorted(trips), 95) * 1e3}  # fmt: skip
    return rows, measured


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sophia-bench-infra-") as tmp, redis_server() as redis_url:
        root = Path(tmp)
        project = root / "benchapp"
        project.mkdir()
        (project / "Pulumi.yaml").write_text(program())
        bin_dir = root / "bin"
        bin_dir.mkdir()
        exe = bin_dir / "pulumi"
        exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" "$@"\n')
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
        server = KitServer(
            Path(entry_point.__file__),
            "infra",
            root / "logs",
            env={
                "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                "REDIS_URL": redis_url,
                "SOPHIA_INTERNAL_TOKEN": TOKEN,
            },
            settings={
                "projects": str(project),
                "data_dir": str(root / "data"),
                "passphrase": "bench-passphrase",
                "log_level": "WARNING",
            },
        ).start(timeout=60)
        assert server.process is not None and server.process.proc is not None
        rss = rss_mib(server.process.proc.pid)
        gateway = GatewayProcess(
            [server.grpc_address],
            root / "logs",
            extra_env={"SOPHIA_GATEWAY_REDIS_URL": redis_url, "SOPHIA_INTERNAL_TOKEN": TOKEN},
        )
        try:
            gateway.start()
            gateway.wait_for_tools({"infra_preview", "infra_up"}, timeout=60)
            rows, measured = asyncio.run(measure(gateway))
        finally:
            gateway.stop()
            server.stop()
    measured["rss_at_start_mib"] = rss
    rows.append({"operation": "server memory at start", "calls": 1, "p50_ms": float("nan"), "p95_ms": float("nan"),
                 "note": f"{rss:.1f} MiB RSS"})  # fmt: skip
    print("\ninfra: through the gateway over HTTP, the pulumi stand-in, sequential calls")
    print(table(rows), end="\n\n")
    checks = targets("infra", measured, TARGETS)
    print(f"wrote {write('infra', rows + checks, TARGETS)}")


if __name__ == "__main__":
    main()
