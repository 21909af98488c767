"""Memory service: recall latency at 10k memories, remember throughput, resident memory.

The service runs as `sophia up` runs it (its own process, Qdrant local mode on disk, the local
embedding model, a real Redis). 10,000 generated memories in one namespace are stored through
`remember` over MCP/HTTP with 16 calls in flight (that is the throughput row); then 500 sequential
`recall`s per variant, each a different query, are timed end to end over HTTP from a client with one
kept-alive connection. RSS is read from /proc after start, after loading and after the recalls.
Target (issue 5): recall p95 ≤ 20 ms at 10k memories.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

import sophia.memory.__main__ as entry_point
from bench._fleet import Caller, rss_mib
from bench._report import percentile, table, targets, write
from sophia.kit.testing import KitServer, redis_server

MEMORIES = 10_000
CONCURRENCY = 16
RECALLS = 500
NAMESPACE = "bench"
TARGETS = {"recall_p95_ms": 20.0}

PEOPLE = ["Maria", "Tomasz", "Aisha", "Raj", "Lena", "Carla", "Ahmed", "Noor", "Jonas", "Mei", "Diego", "Sven"]
THINGS = [
    "the billing service",
    "the deploy pipeline",
    "the staging cluster",
    "the search index",
    "the mobile app",
    "the data warehouse",
    "the pricing page",
    "the onboarding flow",
    "the on-call rota",
    "the release train",
    "the Kafka topics",
    "the VPN",
    "the design system",
    "the customer portal",
    "the invoice job",
    "the CRM sync",
]
FACTS = [
    "{p} owns {t}",
    "{p} wants {t} reviewed every {d}",
    "{t} was migrated by {p} on {d}",
    "{p} prefers to hear about {t} in writing",
    "{t} breaks when traffic doubles, according to {p}",
    "{p} decided to freeze {t} until {d}",
    "{t} costs more than planned; {p} is looking into it",
    "{p} will present {t} at the {d} all-hands",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "March 3rd", "June 14th", "October 1st"]
KINDS = ["fact", "preference", "decision", "event", "note"]
QUESTIONS = [
    "who is responsible for {t}?",
    "what did {p} decide about {t}?",
    "when was {t} migrated?",
    "how does {p} like to get updates on {t}?",
    "what is the problem with {t}?",
]


def memory_text(rng: random.Random, i: int) -> str:
    fact = rng.choice(FACTS).format(p=rng.choice(PEOPLE), t=rng.choice(THINGS), d=rng.choice(DAYS))
    return f"{fact} (note {i})"


async def remember_all(caller: Caller, rng: random.Random) -> tuple[list[float], float]:
    texts = iter(enumerate(memory_text(rng, i) for i in range(MEMORIES)))
    latencies: list[float] = []

    async def worker() -> None:
        for i, text in texts:
            arguments = {"text": text, "namespace": NAMESPACE, "kind": KINDS[i % 5], "tags": [f"team{i % 8}"]}
            started = time.perf_counter()
            await caller.call("remember", arguments)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return sorted(latencies), time.perf_counter() - started


async def recall_latencies(caller: Caller, rng: random.Random, extra: dict[str, Any]) -> list[float]:
    latencies = []
    for _ in range(RECALLS):
        query = rng.choice(QUESTIONS).format(p=rng.choice(PEOPLE), t=rng.choice(THINGS))
        started = time.perf_counter()
        found = await caller.call("recall", {"query": query, "namespace": NAMESPACE, "k": 5, **extra})
        latencies.append(time.perf_counter() - started)
        if not found["items"] and not extra:
            raise RuntimeError(f"recall found nothing for {query!r}")
    return sorted(latencies)


def row(name: str, latencies: list[float], **more: Any) -> dict[str, Any]:
    return {
        "operation": name,
        "calls": len(latencies),
        "p50_ms": percentile(latencies, 50) * 1e3,
        "p95_ms": percentile(latencies, 95) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
        **more,
    }


async def measure(server: KitServer) -> tuple[list[dict[str, Any]], dict[str, float]]:
    assert server.process is not None and server.process.proc is not None
    pid = server.process.proc.pid
    rng = random.Random(5)
    memory = {"rss_started_mib": rss_mib(pid)}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY * 2)) as session:
        caller = Caller(session, server.mcp_url)
        remembered, elapsed = await remember_all(caller, rng)
        memory["rss_10k_mib"] = rss_mib(pid)
        await recall_latencies(caller, rng, {})  # warm-up: first calls pay for lazy imports and caches
        rows = [row("remember", remembered, per_s=MEMORIES / elapsed, in_flight=CONCURRENCY)]
        variants = {
            "recall": {},
            "recall kind+tag filter": {"kinds": ["decision", "fact"], "tags": ["team1", "team2"]},
            "recall with history": {"include_superseded": True},
        }
        for name, extra in variants.items():
            latencies = await recall_latencies(caller, rng, extra)
            rows.append(row(name, latencies, per_s=len(latencies) / sum(latencies), in_flight=1))
        memory["rss_after_recalls_mib"] = rss_mib(pid)
    return rows, memory


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sophia-bench-") as tmp, redis_server(use_env=False) as redis_url:
        server = KitServer(
            Path(entry_point.__file__),
            "memory",
            Path(tmp) / "logs",
            env={"REDIS_URL": redis_url, "SOPHIA_DATA_DIR": str(Path(tmp) / "data")},
            settings={"log_level": "WARNING"},
        ).start(timeout=60)
        try:
            rows, memory = asyncio.run(measure(server))
        finally:
            server.stop()
    print(f"\nmemory: {MEMORIES} memories remembered over MCP/HTTP, then {RECALLS} sequential recalls per variant")
    print(table(rows), end="\n\n")
    print(table([memory]), end="\n\n")
    rows.append({"operation": "resident memory", **memory})
    recall = next(r["p95_ms"] for r in rows if r["operation"] == "recall")
    checks = targets("memory", {"recall_p95_ms": recall}, TARGETS)
    print(f"wrote {write('memory', rows + checks, TARGETS)}")


if __name__ == "__main__":
    main()
