"""The gateway knows the real business and visual services: `ask` plans their tools for plain requests.

Real processes on loopback: the visual service (Qdrant local mode under a temp dir) and the business
service in demo mode (its local stand-in APIs, sample data labelled as such), behind one gateway.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import sophia.business.__main__ as business_entry_point
import sophia.visual.__main__ as visual_entry_point
from sophia.business.demo import start_demo
from sophia.kit.testing import KitServer
from tests.support.fleet import GatewayProcess


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    root = tmp_path_factory.mktemp("services-planning")
    demo = start_demo()
    env = {"SOPHIA_DATA_DIR": str(root / "data"), "PYTHONSAFEPATH": "1"}
    visual = KitServer(Path(visual_entry_point.__file__), "visual", root / "logs", env=env)
    business = KitServer(Path(business_entry_point.__file__), "business", root / "logs", env={**env, **demo.env})
    servers = [visual.start(timeout=60), business.start(timeout=60)]
    fleet = GatewayProcess([s.grpc_address for s in servers], root / "gateway").start()
    try:
        fleet.wait_for_tools({"visual_search", "business_query"}, timeout=30)
        yield fleet
    finally:
        fleet.stop()
        for server in servers:
            server.stop()
        demo.stop()


def plan(gateway: GatewayProcess, query: str) -> dict[str, Any]:
    response = httpx.post(f"{gateway.url}/v1/ask", json={"query": query, "dry_run": True}, timeout=60)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_mockup_request_plans_a_visual_search(gateway: GatewayProcess) -> None:
    body = plan(gateway, "find the mockup of the checkout page with the blue button")
    tools = [step["tool"] for step in body["plan"]["steps"]]
    assert tools == ["visual_search"]
    assert "checkout" in body["plan"]["steps"][0]["arguments"]["query"]
    assert body["intent"]["requires_approval"] is False


def test_deleting_indexed_images_is_held(gateway: GatewayProcess) -> None:
    body = plan(gateway, "remove the old checkout screenshots from the visual index")
    assert body["intent"]["requires_approval"] is True


def test_a_deal_question_plans_business_reads_and_answers_from_the_demo_data(gateway: GatewayProcess) -> None:
    query = "what's the stage of the Acme deal and what did they say on the last Gong call?"
    body = plan(gateway, query)
    steps = body["plan"]["steps"]
    assert steps and all(step["tool"].startswith("business_") for step in steps)
    assert not any(step["requires_approval"] for step in steps)
    answered = httpx.post(f"{gateway.url}/v1/ask", json={"query": query}, timeout=60).json()
    assert all(outcome["status"] == "ok" for outcome in answered["steps"].values()), answered["steps"]
    assert "Acme" in answered["answer"]


def test_a_channel_named_plainly_is_resolved_and_a_shared_one_holds_the_post(gateway: GatewayProcess) -> None:
    """The channel comes from the business service's live list (`slack_channels`, Slack's
    `conversations.list` on the demo stand-in), and the server's own check says #acme-shared reaches
    another company: the plan holds that post, and only that one."""
    listed = httpx.post(f"{gateway.url}/v1/tools/business_slack_channels", json={}, timeout=30).json()
    shared = {c["name"]: c["shared_externally"] for c in listed["structuredContent"]["channels"]}
    assert shared["acme-shared"] is True and shared["general"] is False
    outside = plan(gateway, "let them know in acme-shared that the security answers are attached")
    (step,) = outside["plan"]["steps"]
    assert step["tool"] == "business_slack_post" and step["arguments"]["channel"] == "acme-shared"
    assert step["arguments"]["text"] == "the security answers are attached"
    assert step["requires_approval"] is True and outside["intent"]["requires_approval"] is True
    inside = plan(gateway, "post in general that the office is closed on Friday")
    (step,) = inside["plan"]["steps"]
    assert step["arguments"]["channel"] == "general" and step["requires_approval"] is False
