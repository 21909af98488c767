"""The gateway's own MCP tools (`ask`, `classify_intent`, `find_tools`) and the compact tool list, as an MCP
client sees them: the MCP SDK's client over Streamable HTTP against real gateway processes.

Behind the gateways are three test stand-ins (business, infra, visual: real kit servers that echo their
arguments and log each call that reaches them — see tests/support/standins), and a real Redis holds
approvals. Two gateways share them: one lists every tool; the other (`compact`) lists the meta-tools plus
five, for clients that cap tool counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.client import Client

from tests.support.fleet import GatewayProcess
from tests.support.standins import running_standins

META = ["ask", "classify_intent", "find_tools"]
COMPACT_TOOLS = 5


class Fleet:
    def __init__(self, full: GatewayProcess, compact: GatewayProcess, call_log: Path) -> None:
        self.full = full
        self.compact = compact
        self.call_log = call_log

    def tools_called(self) -> list[str]:
        if not self.call_log.exists():
            return []
        calls = [json.loads(line) for line in self.call_log.read_text().splitlines() if line.strip()]
        return [f"{c['service']}_{c['tool']}" for c in calls]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Fleet]:
    log_dir = tmp_path_factory.mktemp("meta")
    call_log = log_dir / "calls.jsonl"
    with running_standins(log_dir, ["business", "infra", "visual"], common={"call_log": call_log}) as standins:
        full = GatewayProcess(
            standins.grpc_addresses, log_dir / "full", extra_env={"SOPHIA_GATEWAY_REDIS_URL": redis_url}
        )
        compact = GatewayProcess(
            standins.grpc_addresses,
            log_dir / "compact",
            extra_env={
                "SOPHIA_GATEWAY_REDIS_URL": redis_url,
                "SOPHIA_GATEWAY_TOOL_LIST": "compact",
                "SOPHIA_GATEWAY_COMPACT_TOOLS": str(COMPACT_TOOLS),
                "SOPHIA_GATEWAY_PINNED_TOOLS": json.dumps(["infra_preview"]),
                "SOPHIA_GATEWAY_WARM_UP": "false",  # it classifies nothing here: spare the CPU
            },
        )
        everything = {"business_asana_create_task", "infra_preview", "visual_search"}

        def start_full() -> None:
            full.start()
            full.wait_for_tools(everything)
            # Load the intent model before the tests (it takes seconds the first time).
            httpx.post(f"{full.url}/v1/intent", json={"query": "warm up"}, timeout=60).raise_for_status()

        with ThreadPoolExecutor(2) as pool:
            started: list[Future[Any]] = [pool.submit(f) for f in (start_full, compact.start)]
            try:
                futures.wait(started)
                for future in started:
                    future.result()
                compact.wait_for_tools(everything)
                yield Fleet(full, compact, call_log)
            finally:
                list(pool.map(GatewayProcess.stop, (full, compact)))


@pytest.fixture(autouse=True)
def fresh_log(fleet: Fleet) -> None:
    fleet.call_log.unlink(missing_ok=True)


def text(result: Any) -> str:
    return "\n".join(block.text for block in result.content if hasattr(block, "text"))


async def test_tools_list_has_the_meta_tools_and_every_federated_tool(fleet: Fleet) -> None:
    async with Client(fleet.full.mcp_url) as client:
        tools = (await client.list_tools()).tools
    names = [tool.name for tool in tools]
    assert names[:3] == META
    assert {"business_asana_create_task", "infra_up", "infra_preview", "visual_search"} <= set(names)
    assert len(names) == len(set(names))
    ask = next(tool for tool in tools if tool.name == "ask")
    assert ask.input_schema["required"] == ["query"]
    assert {"query", "dry_run", "namespace"} <= set(ask.input_schema["properties"])


async def test_find_tools_ranks_tools_and_gives_their_input_schemas(fleet: Fleet) -> None:
    async with Client(fleet.full.mcp_url) as client:
        result = await client.call_tool("find_tools", {"query": "open an asana task", "limit": 5})
    assert not result.is_error
    assert result.structured_content is not None
    found = result.structured_content["tools"]
    assert len(found) == 5
    assert [tool["name"] for tool in found][:3].count("business_asana_create_task") == 1
    scores = [tool["score"] for tool in found]
    assert scores == sorted(scores, reverse=True)
    task = next(tool for tool in found if tool["name"] == "business_asana_create_task")
    assert "title" in task["inputSchema"]["properties"]
    assert task["risk"] in ("low", "medium")
    assert "business_asana_create_task" in text(result)
    assert fleet.tools_called() == []


async def test_find_tools_can_keep_to_one_service(fleet: Fleet) -> None:
    async with Client(fleet.full.mcp_url) as client:
        result = await client.call_tool("find_tools", {"query": "deploy the stack", "service": "infra"})
    assert result.structured_content is not None
    names = [tool["name"] for tool in result.structured_content["tools"]]
    assert names and all(name.startswith("infra_") for name in names)
    assert names[0] == "infra_up"


async def test_classify_intent_returns_the_intent_and_runs_nothing(fleet: Fleet) -> None:
    async with Client(fleet.full.mcp_url) as client:
        result = await client.call_tool("classify_intent", {"query": "deploy the api to the staging stack"})
    assert not result.is_error
    intent = result.structured_content
    assert intent is not None
    assert intent["capabilities"] == ["infra"]
    assert intent["action"] == "deploy"
    assert intent["requires_approval"] is True
    assert json.loads(text(result)) == intent
    assert fleet.tools_called() == []


async def test_ask_dry_run_returns_the_plan_and_runs_nothing(fleet: Fleet) -> None:
    async with Client(fleet.full.mcp_url) as client:
        result = await client.call_tool(
            "ask", {"query": "find the login mockup and open an Asana task about the button colour", "dry_run": True}
        )
    assert not result.is_error
    body = result.structured_content
    assert body is not None
    assert set(body) == {"intent", "plan"}
    assert [step["tool"] for step in body["plan"]["steps"]] == ["visual_search", "business_asana_create_task"]
    assert fleet.tools_called() == []


async def test_ask_runs_the_plan_and_reports_progress_as_it_goes(fleet: Fleet) -> None:
    reports: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, total, message))

    query = "find the login mockup and open an Asana task about the button colour"
    async with Client(fleet.full.mcp_url) as client:
        result = await client.call_tool("ask", {"query": query}, progress_callback=on_progress)
    assert not result.is_error
    body = result.structured_content
    assert body is not None
    assert {outcome["status"] for outcome in body["steps"].values()} == {"ok"}
    assert "business_asana_create_task" in text(result)  # the answer, in words
    assert fleet.tools_called() == ["visual_search", "business_asana_create_task"]

    messages = [message or "" for _, _, message in reports]
    # Words a person reads in their MCP client, not event names.
    assert messages[0] == "classifying"
    assert messages[1].startswith("classified as ")
    assert messages[2] == "planning 2 steps: visual_search, business_asana_create_task"
    assert "running visual_search" in messages
    assert "business_asana_create_task done" in messages
    assert messages[-1] == "answered"
    done = [d for d, _, _ in reports]
    assert done == sorted(done) and len(set(done)) == len(done)  # progress only grows
    totals = [total for _, total, _ in reports[2:]]  # known once the plan is
    assert len(set(totals)) == 1 and totals[0] is not None
    assert all(d <= totals[0] for d in done)
    assert done[-1] == totals[0]  # the answer completes it


async def test_ask_holds_a_risky_step_instead_of_running_it(fleet: Fleet) -> None:
    async with Client(fleet.full.mcp_url) as client:
        result = await client.call_tool("ask", {"query": "destroy the sandbox stack"})
    assert not result.is_error
    body = result.structured_content
    assert body is not None
    (step,) = body["steps"].values()
    assert step["status"] == "held"
    (pending,) = body["pending_approvals"]
    assert (pending["tool"], pending["arguments"], pending["status"]) == (
        "infra_destroy",
        {"stack": "sandbox"},
        "pending",
    )
    assert pending["id"] in text(result)  # the answer tells the user which approval to ask for
    assert fleet.tools_called() == []


@pytest.mark.parametrize(
    ("tool", "arguments", "complaint"),
    [
        ("ask", {}, "query"),
        ("ask", {"query": ""}, "query"),
        ("ask", {"query": "deploy staging", "dry_run": "maybe"}, "dry_run"),
        ("ask", {"query": "deploy staging", "namespace": "../etc"}, "namespace"),
        ("ask", {"query": "deploy staging", "stack": "prod"}, "stack"),
        ("classify_intent", {"query": "x" * 100_000}, "query"),
        ("find_tools", {"query": "deploy", "limit": 0}, "limit"),
    ],
)
async def test_invalid_meta_tool_arguments_are_a_tool_error_and_run_nothing(
    fleet: Fleet, tool: str, arguments: dict[str, Any], complaint: str
) -> None:
    async with Client(fleet.full.mcp_url) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    message = text(result)
    assert message.startswith(f"invalid arguments for {tool}: ")
    assert complaint in message
    assert fleet.tools_called() == []


async def test_compact_list_is_the_meta_tools_plus_pinned_then_the_rest_up_to_the_limit(fleet: Fleet) -> None:
    async with Client(fleet.compact.mcp_url) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
    assert len(names) == len(META) + COMPACT_TOOLS
    assert names[:3] == META
    assert names[3] == "infra_preview"  # pinned: first after the meta-tools
    assert len(set(names)) == len(names)


async def test_compact_list_leaves_every_tool_callable_and_lists_the_most_used_after_the_pinned(
    fleet: Fleet,
) -> None:
    candidates = {
        "visual_describe": {"image_id": "img-1"},
        "infra_list_stacks": {},
        "business_notion_search": {"query": "q"},
    }
    async with Client(fleet.compact.mcp_url) as client:
        listed = [tool.name for tool in (await client.list_tools()).tools]
        # The four fill-ins after the pinned tool all come from one server, so two of these three are not listed.
        first, second = [name for name in candidates if name not in listed][:2]
        for name in (first, first, second):
            result = await client.call_tool(name, candidates[name])
            assert not result.is_error, text(result)
        relisted = [tool.name for tool in (await client.list_tools()).tools]
    assert fleet.tools_called() == [first, first, second]
    assert relisted[:6] == [*META, "infra_preview", first, second]
    assert len(relisted) == len(META) + COMPACT_TOOLS
