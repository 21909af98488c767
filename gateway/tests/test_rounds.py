"""Agentic rounds of `ask` without a fleet: follow-ups planned offline from the capability graph, the
plan -> run -> reflect loop with an LLM, and the LLM-written answer critiqued and refined.

Servers are in-process (tests/inprocess.py) behind the gateway's real pipeline and a real throwaway
Redis (the approval queue). The LLM is a local stand-in server speaking the OpenAI-compatible chat API
(tests/llm_standin.py), reached through the router's `complete` tool; its replies are scripted here,
and what is under test is what the gateway does with them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sophia.gateway.answer import template_answer, write_answer
from sophia.gateway.intent.schema import Intent
from sophia.gateway.llm import RouterLLM
from sophia.gateway.planner import Plan, Step
from sophia.gateway.rounds import MAX_ARGUMENT_CHARS, Rounds
from sophia.kit import Risk
from sophia.kit.testing import serve_asgi

from .inprocess import Gateway, gateway, structured, tool
from .llm_standin import ChatStandIn, router_complete

TEXT = {"type": "string"}
INTENT = Intent(domain="administrative", action="query", capabilities=["memory"], targets=[], risk_level="low",
                requires_approval=False, confidence=0.9, urgency="exploratory")  # fmt: skip
MEMORIES = {"friday freeze": [{"id": "m-7", "text": "Deploys freeze on Fridays after 2pm.", "score": 0.8}]}


def recall(arguments: dict[str, Any]) -> dict[str, Any]:
    found = MEMORIES.get(arguments["query"].lower(), [])
    return structured({"namespace": arguments["namespace"], "items": found})


IMAGES = {"old checkout": [{"id": "img-41", "score": 0.71}, {"id": "img-9", "score": 0.42}]}


def search_images(arguments: dict[str, Any]) -> dict[str, Any]:
    return structured({"namespace": arguments["namespace"], "items": IMAGES.get(arguments["query"].lower(), [])})


def servers(standin: ChatStandIn | None = None) -> dict[str, Any]:
    memory = [
        tool("recall", {"query": TEXT, "namespace": TEXT}, ["query", "namespace"], recall, read_only=True),
        tool("forget", {"id": TEXT, "namespace": TEXT}, ["id", "namespace"],
             lambda a: structured({"deleted": [a["id"]]}), risk=Risk.HIGH, destructive=True),
    ]  # fmt: skip
    business = [
        tool("slack_post", {"channel": TEXT, "text": {"type": "string", "maxLength": 40000}}, ["channel", "text"],
             lambda a: structured({"channel": a["channel"], "ts": "1.2"}), risk=Risk.MEDIUM),
    ]  # fmt: skip
    visual = [
        tool("search", {"query": TEXT, "namespace": TEXT}, ["query", "namespace"], search_images, read_only=True),
        tool("delete", {"ids": {"type": "array", "items": TEXT}, "namespace": TEXT}, ["ids", "namespace"],
             lambda a: structured({"deleted": a["ids"]}), risk=Risk.HIGH, destructive=True),
    ]  # fmt: skip
    fleet = {"memory": memory, "business": business, "visual": visual}
    if standin is not None:
        fleet["router"] = [router_complete(standin)]
    return fleet


@pytest.fixture
async def offline(redis_url: str) -> AsyncIterator[Gateway]:
    built = await gateway(redis_url, servers())
    yield built
    await built.close()


@pytest.fixture
async def online(redis_url: str) -> AsyncIterator[tuple[Gateway, ChatStandIn]]:
    standin = ChatStandIn()
    async with serve_asgi(standin.app()) as url:
        standin.url = url
        built = await gateway(redis_url, servers(standin))
        yield built, standin
        await built.close()


def llm(fleet: Gateway, mode: str = "on") -> RouterLLM:
    return RouterLLM(fleet.executor.pipeline, fleet.catalog, mode, 5)  # type: ignore[arg-type]


def recall_then_forget(topic: str) -> Plan:
    """What the planner makes of "delete the memory about <topic>" when the forget could not be linked to
    the recall (its id is missing until the recall has run)."""
    return Plan(
        steps=[
            Step(id="s1", tool="memory_recall", arguments={"query": topic, "namespace": "default"}),
            Step(id="s2", tool="memory_forget", arguments={"namespace": "default"}, missing=["id"],
                 requires_approval=True),
        ]
    )  # fmt: skip


async def test_a_recall_gives_the_forget_its_id_in_a_second_round_and_the_forget_waits(offline: Gateway) -> None:
    plan = recall_then_forget("Friday freeze")
    outcomes = await offline.executor.run(plan, query="delete the memory about the Friday freeze")
    rounds = await Rounds(offline.planner, offline.executor, llm(offline, "off"), 3).follow(
        "delete the memory about the Friday freeze", INTENT, plan, outcomes
    )
    assert [r.number for r in rounds] == [2]
    (step,) = rounds[0].steps
    assert step.tool == "memory_forget" and step.arguments == {"namespace": "default", "id": "m-7"}
    assert outcomes[step.id].status == "held"
    assert offline.servers["memory"].called("forget") == []  # nothing deleted before a person approves
    (pending,) = await offline.approvals.list("pending", 10)
    assert pending.tool == "memory_forget" and pending.arguments["id"] == "m-7"
    assert f"sophia approve {pending.id}" in template_answer(INTENT, plan, outcomes)


async def test_a_visual_search_gives_the_delete_its_best_match_and_the_delete_waits(offline: Gateway) -> None:
    """The same mechanism for images: the graph's field edge (search -> delete, the best match's id) fills
    the delete's `ids` as a one-item list; the delete is destructive, so it is held, not run."""
    plan = Plan(
        steps=[
            Step(id="s1", tool="visual_search", arguments={"query": "old checkout", "namespace": "default"}),
            Step(id="s2", tool="visual_delete", arguments={"namespace": "default"}, missing=["ids"],
                 requires_approval=True),
        ]
    )  # fmt: skip
    request = "delete the old checkout screenshot"
    outcomes = await offline.executor.run(plan, query=request)
    rounds = await Rounds(offline.planner, offline.executor, llm(offline, "off"), 3).follow(
        request, INTENT, plan, outcomes
    )
    (step,) = rounds[0].steps
    assert step.tool == "visual_delete" and step.arguments == {"namespace": "default", "ids": ["img-41"]}
    assert outcomes[step.id].status == "held" and offline.servers["visual"].called("delete") == []
    (pending,) = await offline.approvals.list("pending", 10)
    assert pending.arguments["ids"] == ["img-41"]


async def test_the_planner_links_a_delete_to_the_search_that_finds_its_image(offline: Gateway) -> None:
    """Planned together, the delete refers to the search's best match (a one-item list) and waits for it;
    run, the resolved call is held with exactly that id."""
    search = offline.catalog.route("visual_search")
    delete = offline.catalog.route("visual_delete")
    link = offline.planner.graph.link(search, delete)
    assert link is not None and (link.argument, link.field) == ("ids", "items.0.id")
    plan = Plan(
        steps=[
            Step(id="s1", tool="visual_search", arguments={"query": "old checkout", "namespace": "default"}),
            Step(id="s2", tool="visual_delete", depends_on=["s1"], requires_approval=True,
                 arguments={"namespace": "default", "ids": {"$step": "s1", "field": "items.0.id", "list": True}}),
        ]
    )  # fmt: skip
    outcomes = await offline.executor.run(plan, query="delete the old checkout screenshot")
    assert outcomes["s2"].status == "held" and offline.servers["visual"].called("delete") == []
    (pending,) = await offline.approvals.list("pending", 10)
    assert pending.arguments["ids"] == ["img-41"]


async def test_nothing_recalled_means_no_follow_up_and_the_answer_asks(offline: Gateway) -> None:
    plan = recall_then_forget("the moon base")
    outcomes = await offline.executor.run(plan, query="delete the memory about the moon base")
    rounds = await Rounds(offline.planner, offline.executor, llm(offline, "off"), 3).follow(
        "delete the memory about the moon base", INTENT, plan, outcomes
    )
    assert rounds == [] and len(plan.steps) == 2
    assert "say which id to use for memory_forget" in template_answer(INTENT, plan, outcomes)


async def test_one_round_allowed_means_no_follow_up(offline: Gateway) -> None:
    plan = recall_then_forget("Friday freeze")
    outcomes = await offline.executor.run(plan, query="delete the memory about the Friday freeze")
    assert (
        await Rounds(offline.planner, offline.executor, llm(offline, "off"), 1).follow("q", INTENT, plan, outcomes)
        == []
    )


def reflect(*steps: dict[str, Any]) -> str:
    return json.dumps({"done": False, "steps": list(steps)}) if steps else json.dumps({"done": True})


async def test_the_llm_reflects_on_the_results_and_what_it_would_change_waits(
    online: tuple[Gateway, ChatStandIn],
) -> None:
    fleet, standin = online
    post = {"tool": "business_slack_post", "arguments": {"channel": "#eng", "text": "Deploys freeze on Fridays."},
            "why": "the request asks to tell #eng"}  # fmt: skip
    standin.script = [("You are the planner", [reflect(post), reflect()])]
    plan = Plan(
        steps=[Step(id="s1", tool="memory_recall", arguments={"query": "Friday freeze", "namespace": "default"})]
    )
    query = "what did we decide about the Friday freeze? tell #eng"
    outcomes = await fleet.executor.run(plan, query=query)
    both = INTENT.model_copy(update={"capabilities": ["memory", "business"]})
    rounds = await Rounds(fleet.planner, fleet.executor, llm(fleet), 3).follow(query, both, plan, outcomes)
    assert [r.number for r in rounds] == [2]  # round 3's reflection said the request is served
    (step,) = rounds[0].steps
    assert step.requires_approval and outcomes[step.id].status == "held"
    assert fleet.servers["business"].calls == []  # a change the model proposed waits for a person
    first = standin.prompts("You are the planner")[0]
    assert '<tool_result step="s1" tool="memory_recall" status="ok">' in first
    assert "Deploys freeze on Fridays after 2pm. (id m-7)" in first  # the rendered result, not its JSON
    assert "business_slack_post" in first and "memory_forget" in first  # the tools it may use
    assert "router_complete" not in first  # only those of the services the request concerns


async def test_proposals_that_do_not_fit_are_refused_and_the_namespace_is_the_callers(
    online: tuple[Gateway, ChatStandIn],
) -> None:
    fleet, standin = online
    proposals = [
        {"tool": "infra_destroy", "arguments": {"stack": "production"}},  # not a tool the catalog serves
        {"tool": "business_slack_post", "arguments": {"channel": "#eng"}},  # a required argument missing
        {"tool": "memory_recall", "arguments": {"query": "x" * (MAX_ARGUMENT_CHARS + 1)}},  # too long
        {"tool": "memory_recall", "arguments": {"query": 7}},  # not the schema's type
        {"tool": "memory_recall", "arguments": {"query": "friday freeze", "namespace": "someone-else"}},
    ]
    standin.script = [("You are the planner", [reflect(*proposals[:3]), reflect(*proposals[3:]), reflect()])]
    plan = Plan(steps=[Step(id="s1", tool="memory_recall", arguments={"query": "budget", "namespace": "default"})])
    outcomes = await fleet.executor.run(plan, query="what do we know")
    rounds = await Rounds(fleet.planner, fleet.executor, llm(fleet), 4).follow(
        "what do we know", INTENT, plan, outcomes
    )
    # Round 2 had nothing valid, which ends the loop: nothing ran beyond the planned step.
    assert rounds == [] and [t for t, _ in fleet.servers["memory"].calls] == ["recall"]
    standin.script = [("You are the planner", [reflect(*proposals[3:]), reflect()])]
    rounds = await Rounds(fleet.planner, fleet.executor, llm(fleet), 4).follow(
        "what do we know", INTENT, plan, outcomes
    )
    (step,) = rounds[0].steps
    assert step.arguments == {"query": "friday freeze", "namespace": "default"}
    assert outcomes[step.id].status == "ok" and not step.requires_approval  # a read runs at once


async def test_the_loop_stops_at_its_round_limit_and_never_repeats_a_call(online: tuple[Gateway, ChatStandIn]) -> None:
    fleet, standin = online
    asks = [{"tool": "memory_recall", "arguments": {"query": f"topic {n}"}} for n in range(5)]
    standin.script = [("You are the planner", [reflect(asks[0], asks[0]), reflect(asks[0]), reflect(asks[1])])]
    plan = Plan(steps=[Step(id="s1", tool="memory_recall", arguments={"query": "budget", "namespace": "default"})])
    outcomes = await fleet.executor.run(plan, query="q")
    rounds = await Rounds(fleet.planner, fleet.executor, llm(fleet), 3).follow("q", INTENT, plan, outcomes)
    # Round 2 proposed one call twice (made once); round 3 proposed it again: not run, and the loop ended there.
    assert [r.number for r in rounds] == [2] and len(rounds[0].steps) == 1
    standin.script = [("You are the planner", [reflect(a) for a in asks])]
    plan = Plan(steps=[Step(id="s1", tool="memory_recall", arguments={"query": "budget", "namespace": "default"})])
    outcomes = await fleet.executor.run(plan, query="q")
    rounds = await Rounds(fleet.planner, fleet.executor, llm(fleet), 3).follow("q", INTENT, plan, outcomes)
    assert [r.number for r in rounds] == [2, 3]  # three rounds in all, however much the model wants more
    assert len(standin.prompts("You are the planner")) == 2 + 2


async def test_the_answer_is_critiqued_rewritten_and_ends_with_next_steps(online: tuple[Gateway, ChatStandIn]) -> None:
    fleet, standin = online
    standin.script = [
        ("You write the final answer", ["Deploys freeze on Fridays."]),
        ("You check an assistant", [json.dumps({"ok": False, "problems": ["it does not say the post waits"]})]),
        ("You rewrite", ["Deploys freeze on Fridays after 2pm; the post to #eng waits for approval."]),
    ]
    plan = Plan(steps=[
        Step(id="s1", tool="memory_recall", arguments={"query": "friday freeze", "namespace": "default"}),
        Step(id="s2", tool="memory_forget", arguments={"id": "m-7", "namespace": "default"}, requires_approval=True),
    ])  # fmt: skip
    outcomes = await fleet.executor.run(plan, query="q")
    answer = await write_answer(llm(fleet), "what did we decide?", INTENT, plan, outcomes, refinements=2)
    approval = outcomes["s2"].approval or {}
    assert answer.startswith("Deploys freeze on Fridays after 2pm; the post to #eng waits for approval.")
    assert answer.endswith(f"- approve it with `sophia approve {approval['id']}` (or deny it with "
                           f"`sophia deny {approval['id']}`)\n- to drop one of these, ask to forget it by its id "
                           "(forgetting waits for an approver)")  # fmt: skip
    critiques = standin.prompts("You check an assistant")
    assert len(critiques) == 2  # the rewrite was checked again, and no more than `refinements` times
    assert "Answer to check:\nDeploys freeze on Fridays." in critiques[0]
    assert "it does not say the post waits" in standin.prompts("You rewrite")[0]


async def test_an_answer_the_critic_accepts_is_kept_and_none_is_critiqued_without_refinements(
    online: tuple[Gateway, ChatStandIn],
) -> None:
    fleet, standin = online
    standin.script = [("You write the final answer", ["Deploys freeze on Fridays."]),
                      ("You check an assistant", [json.dumps({"ok": True})])]  # fmt: skip
    plan = Plan(steps=[Step(id="s1", tool="memory_recall", arguments={"query": "moon", "namespace": "default"})])
    outcomes = await fleet.executor.run(plan, query="q")
    assert await write_answer(llm(fleet), "q", INTENT, plan, outcomes, refinements=3) == "Deploys freeze on Fridays."
    assert len(standin.prompts("You check an assistant")) == 1
    await write_answer(llm(fleet), "q", INTENT, plan, outcomes, refinements=0)
    assert len(standin.prompts("You check an assistant")) == 1


async def test_an_llm_that_fails_leaves_the_offline_answer_and_no_follow_up(
    online: tuple[Gateway, ChatStandIn],
) -> None:
    fleet, standin = online
    standin.script = []  # every request answers a provider error
    plan = Plan(
        steps=[Step(id="s1", tool="memory_recall", arguments={"query": "friday freeze", "namespace": "default"})]
    )
    outcomes = await fleet.executor.run(plan, query="q")
    assert await Rounds(fleet.planner, fleet.executor, llm(fleet), 3).follow("q", INTENT, plan, outcomes) == []
    answer = await write_answer(llm(fleet), "q", INTENT, plan, outcomes, refinements=1)
    assert answer == template_answer(INTENT, plan, outcomes)
    assert "1 memory found in namespace default" in answer
