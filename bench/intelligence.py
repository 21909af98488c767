"""The gateway's intelligence: intent classification, planning, parallel fan-out, concurrent `/v1/ask`.

The fleet is the five test stand-ins (tests/support/standins: real kit servers whose tools echo),
visual, business and code answering every call after 100 ms, behind a real gateway process (LLM
off: the offline classifier) with a real Redis. The queries are the 262 labelled requests of
tests/data/intents.jsonl. Every HTTP measurement follows a warm-up pass over all of them.

1. Intent classification. In process: a `Gateway` built here as the gateway process builds it (its
   discovery runs, nothing is served), `IntentEngine.classify` timed over every query, three passes,
   and its two pieces timed apart (embedding the request and its clauses with the local model; the
   neighbour vote and the rules). Over HTTP: `POST /v1/intent`, sequential, two passes.
2. Plan creation: `plan.planning_ms` as the planner reports it in `/v1/ask` dry runs (two sequential
   passes), and `Planner.plan` timed in process, split into embedding the request's clauses (timed
   again on their own right after) and the rest.
3. Fan-out: requests that plan three independent read steps, one on each 100 ms server. First with
   unseen requests (the target's figure): 30 rounds, each asks a request the gateway has not seen
   (generated from topic and screen lists; its plan's shape asserted from its own answer) end to end,
   and dry-runs another unseen one. Then one repeated request (its clause vectors cached by the
   gateway after the first round, so optimistic): its shape asserted first, 30 rounds, each: the ask
   end to end (JSON), its dry run (intent + plan alone), the same ask streamed (when the intent, plan
   and answer events arrive splits the time), and one direct MCP call to a 100 ms stand-in (the floor
   any fan-out sits on).
4. 1000 `/v1/ask` dry runs launched at once (aiohttp, at most 200 connections): errors (not 200, or
   no plan), plans that differ from the sequential answer to the same query, wall time, throughput,
   gateway CPU per dry run, latency from launch (waiting for a connection included). The gateway's
   RSS is read from /proc afterwards.

Targets (issue 3), on this machine: intent classification p95 ≤ 15 ms; plan creation ≤ 5 ms (p95);
fan-out over three 100 ms servers ≤ 115 ms end to end (p95); 1000 concurrent dry runs, 0 errors.
The 1-minute load average is reported: on a shared 2-core machine other work inflates the tails.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench._fleet import cpu_seconds, rss_mib
from bench._report import percentile, table, targets, write
from sophia.gateway.app import Gateway
from sophia.gateway.intent.classifier import build_classifier
from sophia.gateway.intent.model import request_texts, sentence_model
from sophia.gateway.settings import GatewaySettings
from sophia.kit.testing import free_port, mcp_body, mcp_headers, redis_server
from tests.support.fleet import ROOT, GatewayProcess
from tests.support.standins import running_standins

QUERIES = [json.loads(line)["query"] for line in (ROOT / "tests/data/intents.jsonl").read_text().splitlines() if line]
IN_PROCESS_PASSES = 3
HTTP_PASSES = 2
DELAY_MS = 100
SLOW = ("visual", "business", "code")
FANOUT_QUERY = "search the sales calls about pricing, find the pricing page screenshot and list the code repositories"
# Distinct requests of the same shape (one read on each 100 ms server), so no round is answered from the
# gateway's clause-vector cache: a new user's request is unseen.
FANOUT_TEMPLATE = "search the sales calls about {topic}, find the {screen} screenshot and list the code repositories"
FANOUT_TOPICS = ["pricing", "renewals", "onboarding delays", "discounts", "the security review", "procurement",
                 "contract terms", "churn risk", "the rollout plan", "seat counts", "single sign-on", "invoicing",
                 "data residency", "the pilot"]  # fmt: skip
FANOUT_SCREENS = ["pricing page", "checkout", "login", "settings", "billing", "dashboard", "signup", "invoice",
                  "admin panel", "profile"]  # fmt: skip
FANOUT_RUNS = 30
CONCURRENT = 1000
CONNECTIONS = 200
TARGETS = {
    "intent_p95_ms": 15.0,
    "planning_p95_ms": 5.0,
    "fanout_end_to_end_p95_ms": 115.0,
    "concurrent_dry_runs": CONCURRENT,
    "concurrent_errors": 0,
}


def ms(values: list[float]) -> list[float]:
    return sorted(v * 1e3 for v in values)


def row(measure: str, values_ms: list[float], target_ms: float | None = None, **more: Any) -> dict[str, Any]:
    values = sorted(values_ms)
    p95 = percentile(values, 95)
    return {
        "measure": measure,
        "n": len(values),
        "p50_ms": percentile(values, 50),
        "p95_ms": p95,
        "p99_ms": percentile(values, 99),
        "max_ms": values[-1] if values else float("nan"),
        "target": "" if target_ms is None else f"p95 <= {target_ms:g} ms",
        "met": "" if target_ms is None else ("yes" if p95 <= target_ms else "NO"),
        **more,
    }


# -- 1a and 2, in process ------------------------------------------------------------------------


LABELLED = [json.loads(line) for line in (ROOT / "tests/data/intents.jsonl").read_text().splitlines() if line]
FIELDS = ("domain", "action", "capabilities", "requires_approval", "risk_level", "urgency")


async def accuracy(gateway: Gateway) -> list[dict[str, Any]]:
    """Per-field accuracy of the offline intent on the labelled set, approval recall, and tool search
    recall@5 (the labelled tools of the services this fleet runs)."""
    right = dict.fromkeys(FIELDS, 0)
    approvals = missed = target_hits = target_total = 0
    for labelled in LABELLED:
        intent = (await gateway.intents.classify(labelled["query"])).model_dump()
        for field in FIELDS:
            right[field] += intent[field] == labelled[field]
        if labelled["requires_approval"]:
            approvals += 1
            missed += not intent["requires_approval"]
        target_total += len(labelled["targets"])
        predicted = " ".join(intent["targets"]).lower()
        target_hits += sum(t.lower() in predicted for t in labelled["targets"])
    routes = gateway.catalog.routes()
    present = {route.name for route in routes}
    expected = found = 0
    for labelled in LABELLED:
        wanted = [tool for tool in labelled["tools"] if tool in present]
        if wanted:
            top = {route.name for route, _ in await gateway.tools.find(labelled["query"], routes, 5)}
            expected += len(wanted)
            found += sum(tool in top for tool in wanted)
    n = len(LABELLED)
    rows = [{"measure": f"accuracy: {field}", "value": round(right[field] / n, 3)} for field in FIELDS]
    rows.append({"measure": "approval recall (must be 1.0)", "value": round(1 - missed / max(approvals, 1), 3)})
    rows.append({"measure": "targets found (substring)", "value": round(target_hits / max(target_total, 1), 3)})
    rows.append({"measure": "find_tools recall@5", "value": round(found / max(expected, 1), 3)})
    return rows


async def in_process(servers: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Classify and plan with a gateway's own objects in this process (its discovery runs, nothing is served)."""
    gateway = Gateway(GatewaySettings(servers=servers, port=free_port(), auth="off", llm="off"))
    async with gateway.lifespan(None):  # type: ignore[arg-type]
        deadline = time.monotonic() + 30
        while not all(gateway.catalog.has(t) for t in ("visual_search", "business_gong_calls", "code_list_repos")):
            if time.monotonic() > deadline:
                raise RuntimeError("the in-process gateway did not discover the stand-ins")
            await asyncio.sleep(0.05)
        quality = await accuracy(gateway)
        engine, planner = gateway.intents, gateway.planner
        for query in QUERIES:  # warm: the model and library load, every tool's vector is computed once
            reading = await engine.read(query)
            await planner.plan(query, reading.intent, clause_vectors=reading.clause_vectors)

        classify, plan, parts = [], [], []
        for _ in range(IN_PROCESS_PASSES):
            for query in QUERIES:
                started = time.perf_counter()
                reading = await engine.read(query)
                classify.append(time.perf_counter() - started)
                # The planner reuses the clause vectors the intent engine embedded, as `ask` does.
                started = time.perf_counter()
                await planner.plan(query, reading.intent, clause_vectors=reading.clause_vectors)
                plan.append(time.perf_counter() - started)
                parts.append(len(reading.clauses))

    # The two pieces of `IntentEngine.read`, synchronously (no thread hop, no batcher): embedding the
    # clauses (the planner ranks tools with them, and the classifier reads them) and the trained classifier.
    model = sentence_model(GatewaySettings().embedding_threads)  # as the gateway runs it
    classifier = build_classifier()
    embed, vote, texts = [], [], []
    for _ in range(IN_PROCESS_PASSES):
        for query in QUERIES:
            started = time.perf_counter()
            to_embed = request_texts(query)
            vectors = model.embed_sync(to_embed)
            embedded_at = time.perf_counter()
            classifier.classify(query, vectors)
            vote.append(time.perf_counter() - embedded_at)
            embed.append(embedded_at - started)
            texts.append(len(to_embed))
    mean_texts = sum(texts) / len(texts)
    return quality, [
        row("intent + clause vectors, in process (IntentEngine.read)", ms(classify)),
        row(f"  of which: embed the clauses ({mean_texts:.2f} texts)", ms(embed)),
        row("    embed, single-clause requests (1 text)", ms([e for e, n in zip(embed, texts, strict=True) if n == 1])),
        row("    embed, multi-clause requests (2+ texts)", ms([e for e, n in zip(embed, texts, strict=True) if n > 1])),
        row("  of which: the trained classifier + rules (given the vectors)", ms(vote), TARGETS["intent_p95_ms"]),
        row("plan, in process (Planner.plan)", ms(plan), TARGETS["planning_p95_ms"]),
        row("    plan, single-clause requests", ms([p for p, n in zip(plan, parts, strict=True) if n == 1])),
        row("    plan, multi-clause requests", ms([p for p, n in zip(plan, parts, strict=True) if n > 1])),
    ]


# -- 1b, 2, 3 and 4, over HTTP -------------------------------------------------------------------


async def post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> tuple[float, int, Any]:
    started = time.perf_counter()
    async with session.post(url, json=body) as response:
        payload = await response.json(content_type=None)
    return time.perf_counter() - started, response.status, payload


async def sequential(
    session: aiohttp.ClientSession, url: str, body: Callable[[str], dict[str, Any]], check: Callable[[Any], None]
) -> tuple[list[float], dict[str, Any]]:
    latencies: list[float] = []
    answers: dict[str, Any] = {}
    for _ in range(HTTP_PASSES):
        for query in QUERIES:
            elapsed, status, payload = await post(session, url, body(query))
            if status != 200:
                raise RuntimeError(f"{url} answered {status} to {query!r}: {str(payload)[:300]}")
            check(payload)
            latencies.append(elapsed)
            answers[query] = payload
    return latencies, answers


def shape(answer: dict[str, Any]) -> tuple[Any, ...]:
    """What must not change between a lone dry run and one among a thousand: the labels and the plan."""
    intent = answer["intent"]
    steps = tuple((s["tool"], tuple(s["depends_on"]), s["requires_approval"]) for s in answer["plan"]["steps"])
    return intent["domain"], intent["action"], tuple(intent["capabilities"]), intent["requires_approval"], steps


async def over_http(url: str, pid: int, direct_url: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows = []
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS), timeout=timeout) as session:
        for query in QUERIES:  # warm the gateway: model, example library, tool vectors
            await post(session, f"{url}/v1/ask", {"query": query, "dry_run": True})

        def is_intent(payload: Any) -> None:
            assert "domain" in payload and "capabilities" in payload, payload

        planning: list[float] = []

        def is_plan(payload: Any) -> None:
            assert "intent" in payload and "steps" in payload["plan"], payload
            planning.append(float(payload["plan"]["planning_ms"]))

        intents, _ = await sequential(session, f"{url}/v1/intent", lambda q: {"query": q}, is_intent)
        rows.append(row("intent + dry plan (structural approval), POST /v1/intent sequential", ms(intents)))
        dry_runs, answers = await sequential(session, f"{url}/v1/ask", lambda q: {"query": q, "dry_run": True}, is_plan)
        rows.append(row("plan, planning_ms reported by /v1/ask dry runs", sorted(planning), TARGETS["planning_p95_ms"]))
        rows.append(row("ask dry run (intent + plan), POST /v1/ask sequential", ms(dry_runs)))

        rows += await fan_out_unseen(session, url)
        fanout_rows, fanout = await fan_out(session, url, direct_url)
        rows += fanout_rows

        concurrent_row, load = await concurrently(session, url, answers, pid)
        rows.append(concurrent_row)
    return rows, {**fanout, **load, "gateway_rss_after_mib": rss_mib(pid)}


async def streamed(session: aiohttp.ClientSession, url: str, query: str) -> dict[str, float]:
    """When each event of a streamed `/v1/ask` arrived, in seconds after the request was sent."""
    arrived: dict[str, float] = {}
    started = time.perf_counter()
    headers = {"accept": "text/event-stream"}
    async with session.post(f"{url}/v1/ask", json={"query": query}, headers=headers) as response:
        assert response.status == 200, await response.text()
        async for line in response.content:
            if line.startswith(b"event: "):
                arrived.setdefault(line[7:].strip().decode(), time.perf_counter() - started)
    assert "answer" in arrived and "error" not in arrived, arrived
    return arrived


def unseen_fanout_queries(count: int) -> list[str]:
    """`count` distinct requests of the fan-out's shape, in a fixed (seeded) order."""
    combos = [(topic, screen) for topic in FANOUT_TOPICS for screen in FANOUT_SCREENS]
    random.Random(3).shuffle(combos)  # a reproducible order
    assert count <= len(combos), f"only {len(combos)} distinct fan-out requests"
    return [FANOUT_TEMPLATE.format(topic=topic, screen=screen) for topic, screen in combos[:count]]


def fans_out(plan: dict[str, Any]) -> bool:
    """One independent, runnable step on each slow server: the shape whose latency the fan-out measures."""
    steps = plan["steps"]
    services = sorted(step["tool"].split("_", 1)[0] for step in steps)
    return services == sorted(SLOW) and all(
        not s["depends_on"] and not s["requires_approval"] and not s["missing"] for s in steps
    )


def assert_fans_out(query: str, plan: dict[str, Any]) -> None:
    assert fans_out(plan), f"{query!r} should plan one step on each of {SLOW}: {plan['steps']}"


async def fan_out_unseen(session: aiohttp.ClientSession, url: str) -> list[dict[str, Any]]:
    """The fan-out with a request the gateway has not seen in every round (nothing is asked twice): the
    end-to-end figure the target is judged on. A generated request the planner does not split into one step
    per server is not timed (it is not the shape measured) but counted and reported: a planner miss."""
    pool = iter(unseen_fanout_queries(4 * (FANOUT_RUNS + 2)))
    asked_count = missed = 0
    ends, dries = [], []

    async def next_fanning(dry_run: bool) -> float:
        nonlocal asked_count, missed
        for query in pool:
            asked_count += 1
            elapsed, status, payload = await post(session, f"{url}/v1/ask", {"query": query, "dry_run": dry_run})
            assert status == 200, payload
            if not fans_out(payload["plan"]):
                missed += 1
                continue
            if not dry_run:
                assert [o["status"] for o in payload["steps"].values()] == ["ok"] * 3, payload["steps"]
            return elapsed
        raise AssertionError(f"{missed} of {asked_count} generated fan-out requests were not planned as three steps")

    for run in range(FANOUT_RUNS + 2):  # the first two warm the pooled upstream connections
        elapsed = await next_fanning(dry_run=False)
        dry_elapsed = await next_fanning(dry_run=True)
        if run >= 2:
            ends.append(elapsed)
            dries.append(dry_elapsed)
    target = TARGETS["fanout_end_to_end_p95_ms"]
    return [
        row(f"fan-out 3 x {DELAY_MS} ms servers, POST /v1/ask end to end, unseen requests", ms(ends), target),
        row("  intent + plan alone (other unseen requests, dry run)", ms(dries)),
        row(f"  generated requests not planned as one step per server: {missed} of {asked_count}", []),
    ]


async def fan_out(
    session: aiohttp.ClientSession, url: str, direct_url: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    _, status, dry = await post(session, f"{url}/v1/ask", {"query": FANOUT_QUERY, "dry_run": True})
    assert status == 200, dry
    steps = dry["plan"]["steps"]
    assert_fans_out(FANOUT_QUERY, dry["plan"])

    search = json.dumps(mcp_body("tools/call", {"name": "search", "arguments": {"query": "pricing page"}})).encode()
    ends, dries, step_ms, slowest, direct = [], [], [], [], []
    to_intent, to_plan, to_answer = [], [], []
    for run in range(FANOUT_RUNS + 2):  # the first two warm the pooled upstream connections
        elapsed, status, payload = await post(session, f"{url}/v1/ask", {"query": FANOUT_QUERY})
        assert status == 200, payload
        outcomes = payload["steps"].values()
        assert [o["status"] for o in outcomes] == ["ok"] * len(steps), payload["steps"]
        dry_elapsed, status, _ = await post(session, f"{url}/v1/ask", {"query": FANOUT_QUERY, "dry_run": True})
        assert status == 200
        events = await streamed(session, url, FANOUT_QUERY)
        started = time.perf_counter()
        async with session.post(direct_url, data=search, headers=mcp_headers("tools/call", "search")) as response:
            assert response.status == 200 and b'"isError":false' in await response.read()
        direct.append(time.perf_counter() - started)
        if run < 2:
            continue
        ends.append(elapsed)
        dries.append(dry_elapsed)
        step_ms += [o["duration_ms"] for o in outcomes]
        slowest.append(max(o["duration_ms"] for o in outcomes))
        to_intent.append(events["intent"])
        to_plan.append(events["plan"] - events["intent"])
        to_answer.append(events["answer"] - events["plan"])
    rows = [
        row("same fan-out, one repeated request (its clause vectors cached), end to end", ms(ends)),
        row("  intent + plan alone (the same query, dry run)", ms(dries)),
        row("  streamed: request sent -> intent event", ms(to_intent)),
        row("  streamed: intent -> plan event", ms(to_plan)),
        row("  streamed: plan -> answer event (3 steps run)", ms(to_answer)),
        row("  the slowest step of each ask (executor's timing)", sorted(slowest)),
        row("  every step (executor's timing)", sorted(step_ms)),
        row(f"  floor: one {DELAY_MS} ms stand-in called directly over MCP", ms(direct[2:])),
    ]
    return rows, {"fanout_sequential_floor_ms": len(steps) * DELAY_MS, "fanout_parallel_floor_ms": DELAY_MS}


async def concurrently(
    session: aiohttp.ClientSession, url: str, sequential_answers: dict[str, Any], pid: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    queries = [QUERIES[i % len(QUERIES)] for i in range(CONCURRENT)]
    errors: list[str] = []
    mismatched: list[str] = []
    latencies: list[float] = []

    async def one(query: str) -> None:
        try:
            elapsed, status, payload = await post(session, f"{url}/v1/ask", {"query": query, "dry_run": True})
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            return
        latencies.append(elapsed)
        if status != 200 or not isinstance(payload, dict) or "steps" not in payload.get("plan", {}):
            errors.append(f"{status}: {str(payload)[:200]}")
        elif shape(payload) != shape(sequential_answers[query]):
            mismatched.append(query)

    rss_before = rss_mib(pid)
    cpu_before = cpu_seconds(pid)
    started = time.perf_counter()
    launched: list[Awaitable[None]] = [one(query) for query in queries]
    await asyncio.gather(*launched)
    wall = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu_before
    if errors:
        print(f"{len(errors)} errors, first: {errors[:3]}")
    if mismatched:
        print(f"{len(mismatched)} plans differ from the sequential answer, e.g. {sorted(set(mismatched))[:3]}")
    measured = row(f"{CONCURRENT} concurrent /v1/ask dry runs (<= {CONNECTIONS} connections)", ms(latencies))
    measured["target"] = "0 errors"
    measured["met"] = "yes" if not errors and len(latencies) == CONCURRENT else "NO"
    load = {
        "concurrent_requests": CONCURRENT,
        "concurrent_errors": len(errors),
        "concurrent_plans_differing_from_sequential": len(mismatched),
        "concurrent_wall_s": wall,
        "concurrent_per_s": CONCURRENT / wall,
        "gateway_cpu_ms_per_dry_run": cpu / CONCURRENT * 1e3,
        "gateway_rss_before_concurrent_mib": rss_before,
    }
    return measured, load


def main() -> None:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    settings = {name: {"delay_ms": DELAY_MS} for name in SLOW}
    with (
        tempfile.TemporaryDirectory(prefix="sophia-bench-") as tmp,
        redis_server(use_env=False) as redis_url,
        running_standins(Path(tmp), common={"log_level": "WARNING"}, settings=settings) as standins,
    ):
        gateway = GatewayProcess(
            standins.grpc_addresses,
            Path(tmp),
            extra_env={"SOPHIA_GATEWAY_REDIS_URL": redis_url, "SOPHIA_GATEWAY_LOG_LEVEL": "WARNING"},
        ).start()
        try:
            gateway.wait_for_tools({"visual_search", "business_gong_calls", "code_list_repos", "infra_up"})
            assert gateway.process is not None and gateway.process.proc is not None
            pid = gateway.process.proc.pid
            quality, local_rows = asyncio.run(in_process(standins.grpc_addresses))
            http_rows, summary = asyncio.run(over_http(gateway.url, pid, standins["visual"].mcp_url))
        finally:
            gateway.stop()
    rows = local_rows + http_rows
    summary["bench_wall_s"] = time.perf_counter() - started
    # On a shared machine other work inflates the tails: say how busy it was (2 cores: 2.0 is full).
    summary["load_avg_1m_before"] = load_before
    summary["load_avg_1m_after"] = os.getloadavg()[0]
    print(f"\nintelligence: {len(QUERIES)} labelled queries; stand-ins {', '.join(SLOW)} answer after {DELAY_MS} ms")
    width = max(len(r["measure"]) for r in rows)
    print(table([{**r, "measure": r["measure"].ljust(width)} for r in rows]), end="\n\n")  # names read left
    print(table(quality), end="\n\n")
    width = max(map(len, summary))
    print(table([{"summary": key.ljust(width), "value": value} for key, value in summary.items()]), end="\n\n")

    def p95(start: str) -> float:
        return float(next(r["p95_ms"] for r in rows if r["measure"].startswith(start)))

    measured = {
        "intent_p95_ms": p95("intent + dry plan (structural approval), POST /v1/intent"),  # what a caller waits for
        "planning_p95_ms": p95("plan, planning_ms reported"),
        "fanout_end_to_end_p95_ms": p95("fan-out"),  # the unseen requests' row: a repeated one is cached
        "concurrent_dry_runs": summary["concurrent_requests"] - summary["concurrent_errors"],
        "concurrent_errors": summary["concurrent_errors"],
    }
    checks = targets("intelligence", measured, TARGETS, at_least=frozenset({"concurrent_dry_runs"}))
    rows.append({"measure": "summary", **summary})
    rows.extend(quality)
    print(f"wrote {write('intelligence', rows + checks, TARGETS)}")


if __name__ == "__main__":
    main()
