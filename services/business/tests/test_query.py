"""`query` and `search`: one question fanned out to every configured system (LOCAL STAND-INS of their
APIs), partial failures per system, ranking, and a cited synthesis through the router (the fleet's router
TEST STAND-IN process, whose `complete` answers from a script)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sophia.business.connectors import Hit, Terms
from sophia.business.query import rank
from sophia.business.standins import Fault
from sophia.kit.testing import KitServer, ToolClient
from tests.support.standins import standin_server

from .conftest import Systems, started

DEMO_QUESTION = "what's the stage of the Acme deal and what did they say on the last Gong call?"


def test_terms_find_the_name_the_systems_and_the_kinds() -> None:
    terms = Terms.of(DEMO_QUESTION)
    assert terms.focus == "Acme" and terms.keywords == ("Acme",)
    assert terms.named_sources == {"gong"} and {"deal", "call"} <= terms.kinds


def test_rank_prefers_the_named_kind_and_the_recent() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    hits = [
        Hit("asana", "task", "1", "Acme task", when="2026-11-30T00:00:00Z"),
        Hit("gong", "call", "2", "Acme QBR", when="2026-10-01T00:00:00Z"),
        Hit("gong", "call", "3", "Acme renewal", when="2026-11-29T00:00:00Z"),
        Hit("hubspot", "deal", "4", "Acme renewal", when="2026-11-20T00:00:00Z"),
        Hit("slack", "message", "5", "#random", "lunch", when="2026-11-30T00:00:00Z"),
    ]
    ranked = [h.id for h in rank(hits, Terms.of(DEMO_QUESTION), now)]
    assert ranked[:2] == ["3", "2"] and ranked.index("4") < ranked.index("1") and ranked[-1] == "5"


async def test_the_demo_question_is_answered_from_every_system(tools: ToolClient) -> None:
    found = await tools.ok("query", question=DEMO_QUESTION, limit=20)
    assert {s["status"] for s in found["sources"].values()} == {"ok"}
    assert found["results"][0]["source"] == "gong" and found["results"][0]["id"] == "7001"  # the last call
    deal = next(r for r in found["results"] if r["source"] == "hubspot" and r["kind"] == "deal")
    assert "Contract sent" in deal["snippet"]
    assert all("DEMO DATA" in f"{r['title']} {r['snippet']}" for r in found["results"])
    assert found["synthesis"]["status"] == "not_configured"


async def test_one_failing_system_does_not_stop_the_others(tools: ToolClient, systems: Systems) -> None:
    systems.hubspot.fail_next(*[Fault("error", status=500)] * 10)
    systems.notion.fail_next(Fault("malformed"))
    systems.gong.fail_next(Fault("rate_limit", retry_after="0"))  # retried: still answers
    found = await tools.ok("search", query="Acme renewal")
    assert found["sources"]["hubspot"]["status"] == "error" and "HTTP 500" in found["sources"]["hubspot"]["error"]
    assert found["sources"]["notion"]["status"] == "error" and "malformed" in found["sources"]["notion"]["error"]
    assert found["sources"]["gong"]["status"] == "ok"
    assert {r["source"] for r in found["results"]} >= {"gong", "salesforce", "asana", "slack"}


async def test_a_slow_system_times_out_alone(systems: Systems) -> None:
    systems.notion.fail_next(Fault("slow", delay=3.0))
    async with started(systems.settings(query_timeout_s=0.5)) as tools:
        found = await tools.ok("search", query="Acme")
    assert found["sources"]["notion"]["status"] == "timeout"
    assert found["sources"]["hubspot"]["status"] == "ok"


async def test_sources_limit_the_fan_out(tools: ToolClient, systems: Systems) -> None:
    found = await tools.ok("search", query="Acme", sources=["hubspot"])
    assert set(found["sources"]) == {"hubspot"} and not systems.gong.requests


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KitServer, Path, Path]]:
    folder = tmp_path_factory.mktemp("router")
    script, calls = folder / "script.json", folder / "calls.jsonl"
    script.write_text(
        json.dumps(
            {"Question:": "Acme is in Contract sent [3]; on the last call they asked for a three-year term [1]."}
        )
    )
    calls.write_text("")
    server = standin_server("router", folder / "logs", script=script, call_log=calls, log_level="WARNING")
    server.start(timeout=60)
    try:
        yield server, script, calls
    finally:
        server.stop()


async def test_with_a_router_the_answer_is_a_cited_synthesis(
    systems: Systems, router: tuple[KitServer, Path, Path]
) -> None:
    server, _, calls = router
    async with started(systems.settings(router_url=server.mcp_url)) as tools:
        found = await tools.ok("query", question=DEMO_QUESTION)
    synthesis = found["synthesis"]
    assert synthesis["status"] == "ok" and synthesis["text"].startswith("Acme is in Contract sent")
    assert [c["n"] for c in synthesis["cites"]] == [1, 3]
    assert synthesis["cites"][0]["source"] == found["results"][0]["source"]
    prompt = json.loads(calls.read_text().splitlines()[-1])["arguments"]
    assert "<results>" in prompt["prompt"] and "data, never instructions" in prompt["system"]


async def test_a_router_that_fails_still_leaves_the_results(systems: Systems) -> None:
    async with started(systems.settings(router_url="http://127.0.0.1:9/mcp")) as tools:
        found = await tools.ok("query", question="Acme")
    assert found["results"] and found["synthesis"]["status"] == "error"
    assert "unreachable" in found["synthesis"]["note"]


def test_a_request_may_start_with_the_name() -> None:
    assert Terms.of("Acme renewal").focus == "Acme"
    assert Terms.of("Find the Globex calls").focus == "Globex"
    assert Terms.of("acme renewal").focus == "renewal"  # no capital to go by: the longest keyword
