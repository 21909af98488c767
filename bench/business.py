"""Business service: tool schema size, tool search for plain requests, fan-out latency, rate-limit storms.

The service runs as `sophia up --demo` runs it: its own process, MCP over HTTP, the connectors pointed at
the demo stand-ins (local servers speaking Slack's, Gong's, HubSpot's, Salesforce's, Notion's and Asana's
REST shapes, two records per page, started by `sophia.business.demo` in this process).
1. Schema size: every business tool as `tools/list` shows it (name, description, input and output
   schemas), estimated as JSON characters / 4 (no tokenizer). Target: <= 10,000 tokens.
2. Tool search: plain requests, each labelled with the business tool that serves it, ranked by the
   gateway's `find_tools` (an in-process `Gateway` that discovered this server; offline intent). Recall@1
   and @3, beside a lexical baseline (request words found in the tool's name and description), on the 30
   requests the descriptions were tuned with and on a blind set of 30 written apart. Target: recall@3 >= 0.9.
3. Fan-out: `query` with the demo question (all six systems, several pages each), 40 sequential calls
   after a warm-up. Target: p95 <= 400 ms.
4. Rate-limit storm: 120 `crm_deals` + `search` calls while every third request to HubSpot and
   Salesforce answers 429 (Retry-After: 0). Target: 0 calls that surface a rate limit to the caller.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp.client import Client

import sophia.business.__main__ as entry_point
from bench._report import percentile, table, targets, write
from sophia.business.demo import PREFIXES, start_demo
from sophia.business.standins import Fault
from sophia.gateway.app import Gateway
from sophia.gateway.settings import GatewaySettings
from sophia.kit.testing import KitServer, free_port

QUESTION = "what's the stage of the Acme deal and what did they say on the last Gong call?"
TARGETS = {"schema_tokens": 10_000, "find_tools_recall_at_3": 0.9, "query_p95_ms": 400.0, "unhandled_429": 0}
PLAIN = [
    ("post 'demo is at 3pm' in #sales", "slack_post"),
    ("what's been said in #support today", "slack_history"),
    ("read the replies in the pricing thread in #sales", "slack_history"),
    ("search slack messages mentioning the security review", "slack_search"),
    ("find Gong calls with Globex this month", "gong_calls"),
    ("get the transcript of the last call with Initech", "gong_transcript"),
    ("how much did I talk on the Vandelay call, talk ratio", "gong_stats"),
    ("which deals are in negotiation", "crm_deals"),
    ("how big is the Acme deal and when does it close", "crm_deals"),
    ("find the contact record for sam@acme.example in HubSpot", "hubspot_search"),
    ("look up the company Globex in hubspot", "hubspot_search"),
    ("summarise our deal pipeline by stage", "hubspot_pipeline"),
    ("run this SOQL: SELECT Id, Name FROM Account LIMIT 5", "salesforce_query"),
    ("show me the Salesforce opportunity 0065g0000DemoA1AAA", "salesforce_opportunity"),
    ("change the stage of Salesforce opportunity 0065g0000DemoB2AAA to Closed Won", "salesforce_update_opportunity"),
    ("find the Notion page about the expense policy", "notion_search"),
    ("read the Acme account plan page in Notion", "notion_read_page"),
    ("create a Notion page with the meeting notes", "notion_create_page"),
    ("list the open tasks in the Renewals project", "asana_tasks"),
    ("create an Asana task to send the Acme redlines", "asana_create_task"),
    ("mark the Asana task 1301 as complete", "asana_update_task"),
    ("are the business connectors configured and reachable", "health"),
    ("search all our business tools for anything about data residency", "search"),
    ("what's the status of the Acme renewal across CRM, calls and Slack?", "query"),
    ("remind the team in #eng that the release is Friday", "slack_post"),
    ("what objections did customers raise on sales calls last week", "gong_calls"),
    ("update the due date of task 1302 to next Monday", "asana_update_task"),
    ("which opportunities in salesforce close this quarter", "salesforce_query"),
    ("what does the onboarding doc in Notion say", "notion_read_page"),
    ("add a to-do in Asana: prepare the QBR deck", "asana_create_task"),
]
# Written after the tool descriptions were tuned against PLAIN, with other wording, people and companies,
# and never used to change a description: the figure that says how tool search does on requests it has
# not been fitted to. Measured once per change, reported beside PLAIN's.
BLIND = [
    ("let everyone in #marketing know the webinar moved to Thursday", "slack_post"),
    ("catch me up on the #incidents channel", "slack_history"),
    ("has anyone in slack talked about the SSO outage", "slack_search"),
    ("list recorded customer calls from last Tuesday", "gong_calls"),
    ("pull up what was said word for word on the Hooli kickoff call", "gong_transcript"),
    ("how long did the rep talk versus listen on the Pied Piper call", "gong_stats"),
    ("which deals are stuck in contract review", "crm_deals"),
    ("what is the amount on the Umbrella Corp renewal", "crm_deals"),
    ("who is the HubSpot contact at Stark Industries", "hubspot_search"),
    ("how many deals sit in each stage of the pipeline right now", "hubspot_pipeline"),
    ("query Salesforce for accounts created this year", "salesforce_query"),
    ("open opportunity 0065g0000DemoZ9AAA in salesforce", "salesforce_opportunity"),
    ("set the close date on opportunity 0065g0000DemoZ9AAA to June 30", "salesforce_update_opportunity"),
    ("is there a wiki page in Notion on travel reimbursement", "notion_search"),
    ("show me what the Q3 roadmap page in Notion says", "notion_read_page"),
    ("write up a new Notion doc for the offsite agenda", "notion_create_page"),
    ("what's on my plate in Asana this week", "asana_tasks"),
    ("open a task for Priya to review the MSA", "asana_create_task"),
    ("reassign Asana task 4410 to Marco", "asana_update_task"),
    ("can you reach Salesforce and Slack right now, is everything connected", "health"),
    ("look across the business systems for anything on GDPR", "search"),
    ("give me everything we know about Wayne Enterprises: deals, calls, chatter", "query"),
    ("drop a note in #design that the mockups are ready", "slack_post"),
    ("which calls this quarter mentioned a competitor", "gong_calls"),
    ("close out task 4411, it's done", "asana_update_task"),
    ("SOQL: count opportunities by stage", "salesforce_query"),
    ("find me the Notion doc about the on-call rotation", "notion_search"),
    ("add a reminder task to renew the SSL certificate", "asana_create_task"),
    ("what did Initech say when we last spoke to them", "gong_transcript"),
    ("show the biggest open deals", "crm_deals"),
]
WORD = re.compile(r"[a-z0-9]+")


def lexical_rank(request: str, tools: list[dict[str, Any]]) -> list[str]:
    words = set(WORD.findall(request.lower()))
    scored = [
        (len(words & set(WORD.findall(f"{t['name'].replace('_', ' ')} {t['description']}".lower()))), t["name"])
        for t in tools
    ]
    return [name for _, name in sorted(scored, key=lambda s: -s[0])]


async def schema_and_search(server: KitServer) -> list[dict[str, Any]]:
    async with Client(server.mcp_url) as client:
        listed = (await client.list_tools()).tools
    dumped = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed]
    tokens = round(len(json.dumps(dumped)) / 4)
    rows = [
        {
            "measure": f"schema tokens, {len(listed)} tools (chars/4)",
            "value": tokens,
            "target": f"<= {TARGETS['schema_tokens']}",
            "met": tokens <= TARGETS["schema_tokens"],
        }
    ]
    gateway = Gateway(GatewaySettings(servers=[server.grpc_address], port=free_port(), auth="off", llm="off"))
    async with gateway.lifespan(None):  # type: ignore[arg-type]
        deadline = time.monotonic() + 60
        while not gateway.catalog.has("business_query"):
            if time.monotonic() > deadline:
                raise RuntimeError("the in-process gateway did not discover the business server")
            await asyncio.sleep(0.05)
        routes = [r for r in gateway.catalog.routes() if r.service == "business"]
        for label, labelled in (("development set, tuned on", PLAIN), ("blind set", BLIND)):
            at1 = at3 = base1 = base3 = 0
            for request, tool in labelled:
                found = [route.name for route, _ in await gateway.tools.find(request, routes, 3)]
                at1 += found[:1] == [f"business_{tool}"]
                at3 += f"business_{tool}" in found
                lexical = lexical_rank(request, dumped)
                base1 += lexical[:1] == [tool]
                base3 += tool in lexical[:3]
            n = len(labelled)
            rows += [
                {
                    "measure": f"find_tools recall@1 ({label}, {n})",
                    "value": round(at1 / n, 3),
                    "target": "",
                    "met": "",
                    "baseline": round(base1 / n, 3),
                },
                {
                    "measure": f"find_tools recall@3 ({label}, {n})",
                    "value": round(at3 / n, 3),
                    "target": f">= {TARGETS['find_tools_recall_at_3']}",
                    "met": at3 / n >= TARGETS["find_tools_recall_at_3"],
                    "baseline": round(base3 / n, 3),
                },
            ]
    return rows


async def fan_out(server: KitServer) -> dict[str, Any]:
    async with Client(server.mcp_url) as client:
        for _ in range(3):
            await client.call_tool("query", {"question": QUESTION})
        times = []
        for _ in range(40):
            started = time.perf_counter()
            result = await client.call_tool("query", {"question": QUESTION})
            times.append((time.perf_counter() - started) * 1000)
            assert not result.is_error and result.structured_content is not None
            assert {s["status"] for s in result.structured_content["sources"].values()} == {"ok"}
    times.sort()
    p95 = percentile(times, 95)
    return {
        "measure": "query p95 ms (6 systems, demo question)",
        "value": round(p95, 1),
        "target": f"<= {TARGETS['query_p95_ms']}",
        "met": p95 <= TARGETS["query_p95_ms"],
        "baseline": f"p50 {percentile(times, 50):.1f}",
    }


async def storm(server: KitServer, standins: dict[str, Any]) -> dict[str, Any]:
    limited = [standins[PREFIXES["hubspot"]], standins[PREFIXES["salesforce"]]]
    surfaced = calls = 0
    async with Client(server.mcp_url) as client:
        for index in range(60):
            for standin in limited:
                standin.faults.clear()
                standin.fail_next(*[Fault("rate_limit", retry_after="0")] * (1 + index % 2))
            for tool, args in (
                ("crm_deals", {"query": "Acme"}),
                ("search", {"query": "Acme", "sources": ["hubspot", "salesforce"]}),
            ):
                calls += 1
                result = await client.call_tool(tool, args)
                text = json.dumps(result.structured_content) if result.structured_content else str(result.content)
                surfaced += result.is_error or "rate limit" in text.lower()
    return {
        "measure": f"calls surfacing a 429 ({calls} calls, 2 of every 3 requests limited)",
        "value": surfaced,
        "target": "0",
        "met": surfaced == TARGETS["unhandled_429"],
    }


def main() -> None:
    demo = start_demo()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            server = KitServer(
                Path(entry_point.__file__),
                "business",
                Path(tmp) / "logs",
                env={**demo.env, "PYTHONSAFEPATH": "1"},
                settings={"log_level": "WARNING", "backoff_s": "0.01"},
            )
            server.start(timeout=60)
            try:
                rows = asyncio.run(schema_and_search(server))
                rows.append(asyncio.run(fan_out(server)))
                rows.append(asyncio.run(storm(server, demo.standins)))
            finally:
                server.stop()
    finally:
        demo.stop()
    for row in rows:
        row.setdefault("baseline", "")
    print(table(rows), end="\n\n")

    def value(start: str) -> float:
        return float(next(r["value"] for r in rows if r["measure"].startswith(start)))

    measured = {
        "schema_tokens": value("schema tokens"),
        "find_tools_recall_at_3": value("find_tools recall@3 (blind set"),  # judged on the set never tuned on
        "query_p95_ms": value("query p95 ms"),
        "unhandled_429": value("calls surfacing a 429"),
    }
    checks = targets("business", measured, TARGETS, at_least=frozenset({"find_tools_recall_at_3"}))
    print(f"results: {write('business', rows + checks, TARGETS)}")


if __name__ == "__main__":
    main()
