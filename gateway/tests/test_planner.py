"""The planner's approval decisions without a fleet: a step is planned as held when its tool always needs an
approver, when its server says this call would wait (asked with a probe), or when it cannot be asked yet."""

from __future__ import annotations

import time
from typing import Any

import pytest
from mcp.server.subscriptions import InMemorySubscriptionBus

from sophia.gateway.catalog import Catalog, Route
from sophia.gateway.intent.text import entities
from sophia.gateway.planner import (
    _ONE_NAMESPACE,
    _PROJECT,
    EARLY_STAND_IN,
    STEP_REF,
    UNASKED,
    Planner,
    Step,
    _budget,
    _value_for,
)
from sophia.kit import Risk, ToolSpec

from .test_pipeline import Server, tool


@pytest.fixture
async def catalog() -> Catalog:
    catalog = Catalog(InMemorySubscriptionBus())
    catalog.register("code", "kit", "in-process")
    await catalog.serving(
        "code",
        version="1",
        endpoint="in-process",
        upstream=Server("code"),
        tools=[tool("push", **{"sophia/approval": "per-call"}), tool("log")],
        specs={"push": ToolSpec("push", "push", risk=Risk.MEDIUM), "log": ToolSpec("log", "log", read_only=True)},
    )
    return catalog


def planner(catalog: Catalog, verdicts: dict[str, str | None], asked: list[dict[str, Any]]) -> Planner:
    async def probe(route: Route, arguments: dict[str, Any]) -> str | None:
        asked.append(arguments)
        return verdicts.get(arguments["text"])

    return Planner(catalog, graph=None, tools=None, risky=lambda route: False, probe=probe)  # type: ignore[arg-type]


async def test_the_server_is_asked_and_its_answer_decides(catalog: Catalog) -> None:
    asked: list[dict[str, Any]] = []
    steps = [
        Step(id="s1", tool="code_push", arguments={"text": "main"}),
        Step(id="s2", tool="code_push", arguments={"text": "feature/x"}),
        Step(id="s3", tool="code_log", arguments={"text": "main"}),
    ]
    await planner(catalog, {"main": "push to protected branch main"}, asked)._probe_declared(steps)
    assert [s.requires_approval for s in steps] == [True, False, False]
    assert steps[0].approval_reason == "push to protected branch main"
    assert asked == [{"text": "main"}, {"text": "feature/x"}]  # only tools that decide per call are asked


async def test_a_step_whose_arguments_come_from_an_earlier_step_is_planned_as_held(catalog: Catalog) -> None:
    asked: list[dict[str, Any]] = []
    steps = [Step(id="s2", tool="code_push", arguments={"text": {STEP_REF: "s1"}}, depends_on=["s1"])]
    await planner(catalog, {}, asked)._probe_declared(steps)
    assert steps[0].requires_approval and asked == []  # cannot be asked yet: the safe side is to hold


async def test_a_check_that_reads_only_known_arguments_is_asked_before_the_rest_arrive() -> None:
    """ "Find X, then post it in #team": the post's text comes from the search, but its server's check reads
    only where it goes (declared): it is asked now, the text standing in; a step whose read argument is still
    to come cannot be asked and stays held."""
    catalog = Catalog(InMemorySubscriptionBus())
    catalog.register("chat", "kit", "in-process")
    reads = {"sophia/approval": "per-call", "sophia/approval-reads": ["k"]}
    await catalog.serving(
        "chat",
        version="1",
        endpoint="in-process",
        upstream=Server("chat"),
        tools=[tool("post", **reads)],
        specs={"post": ToolSpec("post", "post", risk=Risk.MEDIUM)},
    )
    asked: list[dict[str, Any]] = []
    steps = [
        Step(id="s2", tool="chat_post", arguments={"text": {STEP_REF: "s1"}, "k": 3}, depends_on=["s1"]),
        Step(id="s3", tool="chat_post", arguments={"text": "hello", "k": {STEP_REF: "s1"}}, depends_on=["s1"]),
    ]
    await planner(catalog, {}, asked)._probe_declared(steps)
    assert asked == [{"text": EARLY_STAND_IN, "k": 3}]
    assert steps[0].requires_approval is False and steps[0].approval_reason is None
    assert steps[1].requires_approval is True and steps[1].approval_reason == UNASKED


async def test_a_probe_that_cannot_reach_the_server_errs_toward_holding(catalog: Catalog) -> None:
    from sophia.gateway.errors import UpstreamUnavailable
    from sophia.gateway.pipeline.approval import probe
    from sophia.kit.approvals import PROBE, probe_result

    route = catalog.find("code_push")
    assert route is not None
    server = route.upstream
    assert isinstance(server, Server)
    server.answers = [probe_result(None).model_dump(by_alias=True), UpstreamUnavailable("code", "refused")]
    assert await probe(route, {"text": "topic"}) is None
    assert server.calls[0][2] == {PROBE: True}  # only the check ran on the server
    assert "may need approval" in (await probe(route, {"text": "main"}) or "")


def test_reading_arguments_from_a_hostile_request_takes_linear_time() -> None:
    """Runs of spaces, commas or digits as long as a request may be: the search query's trailing "according to
    our notes" and a budget's amount were found by patterns that retried from every position inside a run
    (cubic and quadratic in its length: 1,000 spaces took 1.4 s). The bound tells linear from not, loosely."""
    started = time.perf_counter()
    asked = "what is the renewal date for Kestrel" + " ," * 3_000 + " according to our notes?"
    query = _value_for("query", {}, asked, asked, entities(asked), "default")
    assert "according" not in query and "renewal date for Kestrel" in query
    assert _value_for("query", {}, " " * 8_000, " " * 8_000, entities(""), "default") is not None
    assert _budget("set a daily budget of " + "1" * 8_000 + " x and 5 dollars a day", "daily") == 5.0
    assert _budget("$12.50 per day", "daily") == 12.5 and _budget("a budget of 1,200 usd a month", "monthly") == 1200
    assert _ONE_NAMESPACE.search("forget it in the " + "a-" * 20_000 + "ops namespace") is not None
    assert _PROJECT.search("Ab " * 13_000 + "Q3 Launch project")[1] == "Ab " * 6 + "Q3 Launch"  # 8 words at most
    assert time.perf_counter() - started < 2.0
