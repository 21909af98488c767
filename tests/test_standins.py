"""The test stand-ins behind a real gateway: the catalog contract, the echo and the behaviour knobs."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client

from tests.support.fleet import GatewayProcess
from tests.support.standins import STANDINS, running_standins, standin_server

# The contract of /tmp/briefs/catalog.md, as the gateway exposes it.
CATALOG = {
    "router": {"route", "complete", "stats"},
    "code": {
        "list_repos",
        "read_file",
        "search_code",
        "log",
        "diff",
        "add_repo",
        "review",
        "propose_edit",
        "apply_edit",
        "generate",
        "create_branch",
        "commit",
        "push",
        "open_pull_request",
        "pr_status",
    },
    "infra": {"list_stacks", "preview", "up", "destroy", "refresh", "outputs", "history"},
    "business": {
        "search",
        "slack_post",
        "slack_history",
        "gong_calls",
        "crm_deals",
        "notion_search",
        "notion_create_page",
        "asana_create_task",
        "asana_tasks",
        "email_send",
    },
    "visual": {"search", "index_image", "describe", "remove_image"},
}
EXPOSED = {f"{service}_{tool}" for service, tools in CATALOG.items() for tool in tools}
DESTRUCTIVE = {"infra_destroy", "visual_remove_image"}
RISK = {
    "infra_up": "high",
    "infra_destroy": "critical",
    "code_push": "high",
    "business_email_send": "high",
    "visual_remove_image": "high",
}
READ_ONLY = {
    "router_route",
    "router_stats",
    "code_list_repos",
    "code_read_file",
    "code_search_code",
    "code_log",
    "code_diff",
    "code_blame",
    "code_pr_status",
    "infra_list_stacks",
    "infra_preview",
    "infra_outputs",
    "infra_history",
    "business_search",
    "business_slack_history",
    "business_gong_calls",
    "business_crm_deals",
    "business_notion_search",
    "business_asana_tasks",
    "visual_search",
    "visual_describe",
}
NEVER_READ_ONLY = {"router_complete", "code_commit", "code_push", "business_slack_post", "business_email_send"}
DELAY_S = 0.4
SCRIPT = {"quarterly revenue": "Revenue grew 12% quarter on quarter.", "revenue": "Revenue is up.", "hello": "Hi!"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("standins")


@pytest.fixture(scope="module")
def call_log(workdir: Path) -> Path:
    return workdir / "calls.jsonl"


@pytest.fixture(scope="module")
def fleet_gateway(workdir: Path, call_log: Path) -> Iterator[GatewayProcess]:
    """All five stand-ins (one shared call log; visual slow, infra_refresh failing) behind one gateway."""
    script = workdir / "script.json"
    script.write_text(json.dumps(SCRIPT))
    settings = {
        "router": {"script": script},
        "visual": {"delay_ms": int(DELAY_S * 1000)},
        "infra": {"fail_tools": "refresh, history"},
    }
    with running_standins(workdir, common={"call_log": call_log}, settings=settings) as standins:
        gateway = GatewayProcess(standins.grpc_addresses, workdir).start()
        try:
            gateway.wait_for_tools(EXPOSED)
            yield gateway
        finally:
            gateway.stop()


async def call(gateway: GatewayProcess, name: str, arguments: dict[str, Any]) -> tuple[Any, float]:
    async with Client(gateway.mcp_url) as client:
        started = time.perf_counter()
        result = await client.call_tool(name, arguments)
        return result, time.perf_counter() - started


def logged(call_log: Path, marker: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in call_log.read_text().splitlines()] if call_log.exists() else []
    return [line for line in lines if marker in json.dumps(line["arguments"])]


async def test_gateway_lists_every_catalog_tool_with_its_annotations(fleet_gateway: GatewayProcess) -> None:
    async with Client(fleet_gateway.mcp_url) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools if t.name.split("_")[0] in STANDINS}
    assert set(tools) == EXPOSED
    for name, tool in tools.items():
        assert tool.annotations is not None
        assert tool.annotations.destructive_hint is (name in DESTRUCTIVE), name
        if name in READ_ONLY:
            assert tool.annotations.read_only_hint is True, name
    assert not {n for n in NEVER_READ_ONLY if tools[n].annotations.read_only_hint}  # type: ignore[union-attr]
    risks = {t["name"]: t["risk"] for t in fleet_gateway.capabilities()["tools"] if t["name"] in EXPOSED}
    assert {n: r for n, r in risks.items() if r in ("high", "critical")} == RISK


def test_capabilities_carry_distinct_descriptions_and_data_flow(fleet_gateway: GatewayProcess) -> None:
    """The planner ranks tools by description and links them by consumes/produces."""
    tools = {t["name"]: t for t in fleet_gateway.capabilities()["tools"] if t["name"] in EXPOSED}
    descriptions = [t["description"] for t in tools.values()]
    assert len(set(descriptions)) == len(descriptions)
    for name, tool in tools.items():
        for param, schema in tool["input_schema"].get("properties", {}).items():
            assert schema.get("description"), f"{name}.{param} has no description"
    assert "image" in tools["visual_search"]["produces"]
    assert "text" in tools["business_asana_create_task"]["consumes"]
    assert "commit" in tools["code_commit"]["produces"]
    assert (tools["infra_preview"]["consumes"], tools["infra_preview"]["produces"]) == (["commit"], ["preview"])
    servers = {s["name"]: s for s in fleet_gateway.capabilities()["servers"]}
    assert {name: servers[name]["status"] for name in STANDINS} == dict.fromkeys(STANDINS, "serving")


async def test_a_call_echoes_its_arguments(fleet_gateway: GatewayProcess) -> None:
    result, _ = await call(fleet_gateway, "business_slack_post", {"channel": "#sales", "text": "Q3 is closed"})
    assert not result.is_error
    expected = {"service": "business", "tool": "slack_post", "arguments": {"channel": "#sales", "text": "Q3 is closed"}}
    assert result.structured_content == expected


async def test_the_echo_shows_defaults_the_tool_filled_in(fleet_gateway: GatewayProcess) -> None:
    result, _ = await call(fleet_gateway, "code_read_file", {"repo": "sophia", "path": "README.md", "end_line": 9})
    assert result.structured_content["arguments"] == {
        "repo": "sophia",
        "path": "README.md",
        "start_line": None,
        "end_line": 9,
    }


async def test_delay_ms_delays_every_call_of_that_standin(fleet_gateway: GatewayProcess) -> None:
    slow, slow_s = await call(fleet_gateway, "visual_describe", {"image_id": "img-1"})
    fast, fast_s = await call(fleet_gateway, "infra_outputs", {"stack": "dev"})
    assert not slow.is_error and not fast.is_error
    assert slow_s >= DELAY_S
    assert fast_s < slow_s


async def test_fail_tools_answer_an_injected_tool_error(fleet_gateway: GatewayProcess) -> None:
    for name in ("infra_refresh", "infra_history"):
        result, _ = await call(fleet_gateway, name, {"stack": "prod"})
        assert result.is_error
        assert "injected failure" in result.content[0].text
    healthy, _ = await call(fleet_gateway, "infra_preview", {"stack": "prod"})
    assert not healthy.is_error


async def test_call_log_records_each_call_that_reached_a_tool_once(
    fleet_gateway: GatewayProcess, call_log: Path
) -> None:
    """Failed calls count too, so retries can be counted; the log is shared by every stand-in."""
    marker = uuid.uuid4().hex
    await call(fleet_gateway, "code_commit", {"repo": "sophia", "message": marker, "branch": "feature/x"})
    await call(fleet_gateway, "code_commit", {"repo": "sophia", "message": marker, "branch": "feature/x"})
    await call(fleet_gateway, "infra_refresh", {"stack": marker})
    await call(fleet_gateway, "visual_search", {"query": marker})
    entries = logged(call_log, marker)
    assert [(e["service"], e["tool"]) for e in entries] == [
        ("code", "commit"),
        ("code", "commit"),
        ("infra", "refresh"),
        ("visual", "search"),
    ]
    assert entries[0]["arguments"] == {"repo": "sophia", "message": marker, "branch": "feature/x"}
    assert entries[3]["arguments"] == {"query": marker, "k": 5}
    assert all(isinstance(e["ts"], float) for e in entries)


async def test_router_complete_answers_from_the_script(fleet_gateway: GatewayProcess) -> None:
    """The first key in file order found in the prompt picks the reply."""
    result, _ = await call(fleet_gateway, "router_complete", {"prompt": "Summarise quarterly revenue, please"})
    assert not result.is_error
    assert result.structured_content == {
        "service": "router",
        "tool": "complete",
        "arguments": {"prompt": "Summarise quarterly revenue, please", "system": None, "max_tokens": None},
        "text": SCRIPT["quarterly revenue"],
    }
    other, _ = await call(fleet_gateway, "router_complete", {"prompt": "revenue? hello", "max_tokens": 10})
    assert other.structured_content["text"] == "Revenue is up."


async def test_router_complete_without_a_matching_key_is_a_tool_error(fleet_gateway: GatewayProcess) -> None:
    result, _ = await call(fleet_gateway, "router_complete", {"prompt": "What is the weather?"})
    assert result.is_error
    assert "no scripted response" in result.content[0].text


async def test_router_complete_without_a_script_is_a_tool_error(tmp_path: Path) -> None:
    router = standin_server("router", tmp_path).start()
    try:
        async with Client(router.mcp_url) as client:
            result = await client.call_tool("complete", {"prompt": "hello"})
    finally:
        router.stop()
    assert result.is_error
    assert "no scripted response" in result.content[0].text  # type: ignore[union-attr]


def test_fail_tools_naming_an_unknown_tool_stops_the_standin_at_startup(tmp_path: Path) -> None:
    """A misspelt FAIL_TOOLS would otherwise inject nothing and prove nothing."""
    server = standin_server("infra", tmp_path, fail_tools="preveiw")
    with pytest.raises(RuntimeError, match=r"FAIL_TOOLS names tools infra does not have: \['preveiw'\]"):
        server.start(timeout=15)
