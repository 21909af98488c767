"""The gateway (its `llm` setting at auto, the default) with the real router behind it: intent classification
and answer writing go through `router_complete`, which routes and calls the provider (the LLM stand-in
over real HTTP).

Processes: the gateway, this router, the visual stand-in from tests/support (a capability to plan for).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import sophia.router.__main__ as entry_point
from sophia.kit.testing import KitServer
from tests.support.console import read_events
from tests.support.fleet import GatewayProcess
from tests.support.standins import running_standins

from .conftest import CATALOG
from .llm_standin import OPENAI_KEY, StandIn

INTENT = {"domain": "creative", "action": "query", "capabilities": ["visual"], "requires_approval": False,
          "urgency": "exploratory"}  # fmt: skip
ANSWER = "The expo banner is the blue one from March."


@pytest.fixture(scope="module")
def fleet(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, shared_standin: StandIn
) -> Iterator[GatewayProcess]:
    log_dir = tmp_path_factory.mktemp("gateway-llm")
    providers = [{"name": "openai", "base_url": f"{shared_standin.url}/v1", "api_key": OPENAI_KEY}]
    router = KitServer(
        Path(entry_point.__file__),
        "router",
        log_dir,
        env={"REDIS_URL": redis_url},
        settings={"providers": json.dumps(providers), "catalog_path": str(CATALOG), "log_level": "WARNING"},
    )
    with running_standins(log_dir, names=("visual",)) as standins, router:
        gateway = GatewayProcess(
            [router.grpc_address, *standins.grpc_addresses],
            log_dir,
            # auto is the gateway's default (the test fleet turns it off): used because this router has a provider.
            extra_env={"SOPHIA_GATEWAY_REDIS_URL": redis_url, "SOPHIA_GATEWAY_LLM": "auto"},
        ).start()
        try:
            gateway.wait_for_tools({"router_complete", "visual_search"})
            yield gateway
        finally:
            gateway.stop()


@pytest.fixture
def llm(shared_standin: StandIn, clean_redis: str) -> StandIn:
    """The LLM stand-in scripted for the gateway's prompts; Redis without router state, so counts start at 0."""
    shared_standin.reset()
    # The gateway's answer prompt says "What was done"; its intent prompt carries the request.
    shared_standin.script.update({"What was done": ANSWER, "banner": json.dumps(INTENT)})
    return shared_standin


def test_the_gateway_classifies_and_answers_through_the_router(fleet: GatewayProcess, llm: StandIn) -> None:
    gateway = fleet
    intent = httpx.post(f"{gateway.url}/v1/intent", json={"query": "find the banner we used at the expo"}, timeout=30)
    assert intent.json()["domain"] == "creative" and intent.json()["urgency"] == "exploratory"
    body = httpx.post(f"{gateway.url}/v1/ask", json={"query": "find the banner we used at the expo"}, timeout=30).json()
    assert body["answer"] == ANSWER
    prompts = [c["body"]["messages"][-1]["content"] for c in llm.calls]
    assert any("find the banner we used at the expo" in p for p in prompts)
    assert any("<tool_result" in p for p in prompts)  # the answer prompt, tool results fenced as data
    # The router counted every completion, and the gateway reaches its stats like any tool.
    stats = httpx.post(f"{gateway.url}/v1/tools/router_stats", json={}, timeout=30).json()["structuredContent"]
    # /v1/intent, then /v1/ask: intent, a reflect round, the answer and its critique; each one counted once.
    assert stats["completions"] == len(llm.calls) == 5 and stats["spend_usd"] > 0


def test_the_operator_console_shows_spend_per_model_and_budgets(fleet: GatewayProcess, llm: StandIn) -> None:
    """The console's usage panel reads `router_stats` through the gateway: real spend from a real completion."""
    done = httpx.post(f"{fleet.url}/v1/tools/router_complete", json={"prompt": "Say hello to the console"}, timeout=30)
    assert done.status_code == 200 and not done.json()["isError"], done.text
    router = read_events(fleet.url, {"usage"})["usage"]["router"]
    assert router["completions"] == 1 and router["spend_usd"] > 0
    (model,) = router["by_model"].values()
    assert model["calls"] == 1 and model["spend_usd"] == router["spend_usd"]
    assert {(b["scope"], b["period"]) for b in router["budgets"]} == {("global", "daily"), ("global", "monthly")}
