"""`ask` end to end on a running fleet: plain requests, the steps they should plan, the fact the answer
should hold.

The fleet: the real memory service (Qdrant local mode, real Redis), the real business service in demo
mode (its local stand-in APIs for Slack, Gong, HubSpot, Salesforce, Notion and Asana with sample data
labelled as such) and the real visual service, behind a real gateway process; LLM off (the offline
classifier, planner and rendered answers). Scenarios run in order (memory ones build on what earlier
ones stored). A scenario passes when every expected tool is in the plan, nothing unexpected is held
or left un-held, every step that should run ran, and the answer contains the expected text.
Scenarios were written from the services' tool lists and the demo data, before the first run.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import sophia.business.__main__ as business_entry_point
import sophia.memory.__main__ as memory_entry_point
import sophia.visual.__main__ as visual_entry_point
from bench._report import percentile, table, targets, write
from sophia.business.demo import start_demo
from sophia.kit.testing import KitServer, redis_server
from tests.support.fleet import GatewayProcess


@dataclass
class Scenario:
    query: str
    tools: list[str]
    contains: str = ""
    held: bool = False  # some step must be held for approval
    fields: dict[str, Any] = field(default_factory=dict)


# The issue asks for at least 50 scenarios; passing 90 % of them is this bench's own bar.
TARGETS = {"scenarios": 50, "passed_share": 0.9}
FACTS = [
    ("the Orbit launch moved to May 12", "Orbit launch"),
    ("Kestrel Foods pays invoices net-60", "Kestrel Foods"),
    ("the on-call handoff is on Tuesdays at 10:00", "on-call handoff"),
    ("we standardised on Postgres 16 for new services", "database standard"),
    ("Priya owns the refund flow", "refund flow"),
    ("the staging database password rotates every 30 days", "staging database password"),
    ("Quokka Insurance's champion is Lucia Fernandez", "Quokka Insurance champion"),
    ("design reviews happen on Wednesdays", "design reviews"),
]

SCENARIOS: list[Scenario] = [
    Scenario("how many memories do we have?", ["memory_stats"], "Nothing is stored in namespace default yet"),
    *(Scenario(f"remember that {fact}", ["memory_remember"], "id") for fact, _ in FACTS),
    Scenario("what do we know about the Orbit launch?", ["memory_recall"], "May 12"),
    Scenario("what are Kestrel Foods' payment terms according to our notes?", ["memory_recall"], "net-60"),
    Scenario("when is the on-call handoff?", ["memory_recall"], "Tuesdays"),
    Scenario("what did we decide about databases for new services?", ["memory_recall"], "Postgres 16"),
    Scenario("who owns the refund flow?", ["memory_recall"], "Priya"),
    Scenario("do you remember who the champion at Quokka Insurance is?", ["memory_recall"], "Lucia"),
    Scenario("what do we know about design reviews?", ["memory_recall"], "Wednesdays"),
    Scenario("how many memories are stored?", ["memory_stats"], "memories: 8"),
    Scenario(
        "delete the memory about the staging database password",
        ["memory_recall", "memory_forget"],
        "sophia approve",
        held=True,
    ),
    Scenario("forget the note about design reviews", ["memory_recall", "memory_forget"], "sophia approve", held=True),
    Scenario(
        "what's in the empty namespace?",
        ["memory_stats"],
        "Nothing is stored in namespace empty yet",
        fields={"namespace": "empty"},
    ),
    Scenario("remember that the kiwi repo indents with tabs", ["memory_remember"], "id", fields={"session": "e2e"}),
    Scenario("what do we know about it?", ["memory_recall"], "tabs", fields={"session": "e2e"}),
    Scenario("what was said in #sales about the Acme renewal?", ["business_slack_history"], "redlines"),
    Scenario("search Slack for the Globex pilot", ["business_slack_search"], "Globex"),
    Scenario("show the messages in the acme-shared channel", ["business_slack_history"], "questionnaire"),
    Scenario("find the Gong calls with Globex", ["business_gong_calls"], "Globex"),
    Scenario("what did Vandelay ask for on their last call?", [], "Vandelay"),
    Scenario("show the HubSpot pipeline", ["business_hubspot_pipeline"], "Contract sent"),
    Scenario("look up Initech in HubSpot", ["business_hubspot_search"], "Initech"),
    Scenario("list our open Salesforce opportunities", [], "Acme Corp"),
    Scenario("which deals are in the pipeline?", [], "Acme"),
    Scenario("find the Notion page about pricing guidelines", ["business_notion_search"], "Pricing guidelines"),
    Scenario("search Notion for the expense policy", ["business_notion_search"], "Expense policy"),
    Scenario("what Asana tasks are open?", ["business_asana_tasks"], "Send Acme renewal redlines"),
    # The assignee's full name: a heading that repeats the filter ("query Dana") is not the fact.
    Scenario("which tasks does Dana have in Asana?", ["business_asana_tasks"], "Dana Rivera"),
    Scenario("are the business connectors healthy?", ["business_health"], "slack"),
    Scenario("search all our business tools for the Acme renewal", [], "Acme"),
    Scenario("what's the stage of the Acme deal?", [], "Acme"),
    Scenario("create an Asana task to send Initech the migration estimate", ["business_asana_create_task"], ""),
    Scenario("post in #general that the office is closed on Friday", ["business_slack_post"], ""),
    Scenario("reply in #acme-shared that the redlines arrived", ["business_slack_post"], "sophia approve", held=True),
    Scenario(
        "tell Acme on our shared channel that the fix is live", ["business_slack_post"], "sophia approve", held=True
    ),
    Scenario("write a Notion page with notes from the pipeline review", ["business_notion_create_page"], ""),
    Scenario("how many images are indexed?", ["visual_stats"], "Nothing is stored"),
    Scenario("find the login mockup", ["visual_search"], "No results found"),
    Scenario("remove the old checkout screenshots from the visual index", ["visual_delete"], held=True),
    Scenario("find screenshots of the settings page", ["visual_search"], "No results found"),
    Scenario("delete image img-77 from the index", ["visual_delete"], "sophia approve", held=True),
    Scenario("search our images for the old logo", ["visual_search"], "No results"),
    Scenario(
        "what do we know about the Orbit launch? also find the Gong calls with Initech",
        ["memory_recall", "business_gong_calls"],
        "May 12",
    ),
    Scenario(
        "find the Acme account plan in Notion and remember that Sam Lee is the champion",
        ["business_notion_search", "memory_remember"],
        "Acme",
    ),
    Scenario("who is the champion for Acme according to our notes?", ["memory_recall"], "Sam Lee"),
    Scenario("what did we decide about the deploy policy?", ["memory_recall"], ""),
    Scenario("remember that Globex needs SSO before expanding", ["memory_remember"], "id"),
    Scenario("what does Globex need before expanding, from memory?", ["memory_recall"], "SSO"),
    Scenario("recall what we noted about Priya", ["memory_recall"], "refund"),
    Scenario("find the Gong call with Initech and summarise it", ["business_gong_calls"], "Initech"),
    Scenario("list the Asana tasks in the Renewals project", ["business_asana_tasks"], "Renewals"),
]


def check(scenario: Scenario, body: dict[str, Any]) -> list[str]:
    problems = []
    planned = [step["tool"] for step in body["plan"]["steps"]]
    missing = [tool for tool in scenario.tools if tool not in planned]
    if missing:
        problems.append(f"planned {planned}, missing {missing}")
    held = [o["tool"] for o in (body.get("steps") or {}).values() if o["status"] == "held"]
    if scenario.held and not held:
        problems.append("nothing was held")
    if not scenario.held and held:
        problems.append(f"held {held}")
    failed = [o["tool"] for o in (body.get("steps") or {}).values() if o["status"] in ("failed", "skipped")]
    if failed and not scenario.held:
        problems.append(f"did not run {failed}")
    if scenario.contains and scenario.contains.lower() not in (body.get("answer") or "").lower():
        problems.append(f"answer lacks {scenario.contains!r}")
    return problems


def main() -> None:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="sophia-ask-e2e-") as tmp, redis_server(use_env=False) as redis_url:
        root = Path(tmp)
        demo = start_demo()
        env = {"SOPHIA_DATA_DIR": str(root / "data"), "PYTHONSAFEPATH": "1", "REDIS_URL": redis_url}
        servers = [
            KitServer(Path(memory_entry_point.__file__), "memory", root / "logs", env=env),
            KitServer(Path(business_entry_point.__file__), "business", root / "logs", env={**env, **demo.env}),
            KitServer(Path(visual_entry_point.__file__), "visual", root / "logs", env=env),
        ]
        results: list[dict[str, Any]] = []
        # Whatever started is stopped, also when a later server fails to start (else its process outlives us).
        with contextlib.ExitStack() as running:
            running.callback(demo.stop)
            for server in servers:
                running.callback(server.stop)
                server.start(timeout=120)
            gateway = GatewayProcess([s.grpc_address for s in servers], root / "gateway",
                                     extra_env={"SOPHIA_GATEWAY_REDIS_URL": redis_url})  # fmt: skip
            running.callback(gateway.stop)
            gateway.start()
            gateway.wait_for_tools({"memory_recall", "business_query", "visual_search"}, timeout=60)
            with httpx.Client(base_url=gateway.url, timeout=120) as http:
                for scenario in SCENARIOS:
                    at = time.perf_counter()
                    response = http.post("/v1/ask", json={"query": scenario.query, **scenario.fields})
                    elapsed = (time.perf_counter() - at) * 1e3
                    body = response.json() if response.status_code == 200 else {"plan": {"steps": []}}
                    problems = (
                        check(scenario, body) if response.status_code == 200 else [f"HTTP {response.status_code}"]
                    )
                    results.append({"query": scenario.query, "ok": not problems, "ms": elapsed, "problems": problems,
                                    "answer": body.get("answer", "")})  # fmt: skip
    passed = sum(r["ok"] for r in results)
    latencies = sorted(r["ms"] for r in results)
    rows = [{"measure": "end-to-end ask scenarios passed", "value": f"{passed}/{len(results)}",
             "target": ">= 50 scenarios", "met": "yes" if len(results) >= 50 else "NO"},
            {"measure": "ask latency p50 ms", "value": round(percentile(latencies, 50), 1), "target": "", "met": ""},
            {"measure": "ask latency p95 ms", "value": round(percentile(latencies, 95), 1), "target": "", "met": ""},
            {"measure": "load avg 1m before", "value": load_before, "target": "", "met": ""}]  # fmt: skip
    print("\nask end to end (memory, business demo, visual; LLM off)")
    print(table(rows), end="\n\n")
    for result in results:
        if not result["ok"]:
            print(f"  FAILED {result['query']!r}: {'; '.join(result['problems'])}")
            print("    answer: " + " | ".join((result["answer"] or "").splitlines())[:400])
    measured = {"scenarios": len(results), "passed_share": passed / max(len(results), 1)}
    checks = targets("ask_e2e", measured, TARGETS, at_least=frozenset(TARGETS))
    print(f"wrote {write('ask_e2e', [*rows, *results, *checks], TARGETS)}")


if __name__ == "__main__":
    main()
