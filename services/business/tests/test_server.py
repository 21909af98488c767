"""The service as `sophia up --demo` runs it: its own process, MCP over real HTTP, connectors pointed at the
demo stand-ins (LOCAL STAND-INS of the six systems' APIs, started by `sophia.business.demo`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.client import Client

import sophia.business.__main__ as entry_point
from sophia.business import service
from sophia.business.demo import Demo, start_demo
from sophia.kit.approvals import APPROVAL_REQUIRED
from sophia.kit.testing import KitServer

SCHEMA_TOKEN_BUDGET = 10_000


@pytest.fixture
def demo() -> Iterator[Demo]:
    running = start_demo()
    try:
        yield running
    finally:
        running.stop()


async def test_the_demo_question_end_to_end_over_http(tmp_path: Path, demo: Demo) -> None:
    server = KitServer(
        Path(entry_point.__file__),
        "business",
        tmp_path / "logs",
        env={**demo.env, "PYTHONSAFEPATH": "1"},
        settings={"log_level": "INFO"},
    )
    server.start(timeout=60)
    try:
        async with Client(server.mcp_url) as client:
            listed = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert {"health", "query", "search", "slack_post", "gong_calls", "crm_deals", "asana_create_task"} <= set(
                listed
            )
            assert listed["slack_post"].meta is not None and listed["slack_post"].meta["sophia/risk"] == "medium"
            assert listed["gong_calls"].annotations is not None and listed["gong_calls"].annotations.read_only_hint

            health = await client.call_tool("health", {})
            assert health.structured_content is not None
            assert all(c["reachable"] for c in health.structured_content["connectors"].values())

            answer = await client.call_tool(
                "query", {"question": "what's the stage of the Acme deal and what did they say on the last Gong call?"}
            )
            assert not answer.is_error and answer.structured_content is not None
            results = answer.structured_content["results"]
            assert results[0]["id"] == "7001" and any("Contract sent" in r["snippet"] for r in results)

            held = await client.call_tool("slack_post", {"channel": "#acme-shared", "text": "hello Acme"})
            assert held.meta is not None and APPROVAL_REQUIRED in held.meta
    finally:
        server.stop()
    assert server.process is not None
    log = server.process.log()
    for name, value in demo.env.items():
        if name.endswith(("TOKEN", "KEY", "SECRET")):
            assert value not in log, f"{name} reached the log"


async def test_all_tool_schemas_fit_the_token_budget() -> None:
    """Estimated as characters of the listed tools' JSON (name, description, input and output schemas) / 4."""
    tools = await service.mcp.list_tools()
    listed = json.dumps([tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools])
    assert len(listed) / 4 <= SCHEMA_TOKEN_BUDGET
    assert len(tools) == 23


def test_every_demo_record_says_it_is_demo_data() -> None:
    from sophia.business.standins.data import LABEL, demo_dataset

    data = demo_dataset()
    records = [
        *data.slack_messages["C0DEMOSALES"],
        *data.gong_calls,
        *data.hubspot_objects["deals"],
        *data.hubspot_objects["companies"],
        *data.hubspot_objects["contacts"],
        *data.salesforce_opportunities,
        *data.notion_pages,
        *data.asana_tasks,
        *data.asana_projects,
        *data.slack_channels,
    ]
    assert all(LABEL in json.dumps(record) for record in records)
