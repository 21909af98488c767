"""Arguments from live state: the repositories and stacks the fleet knows fill a plan's steps.

The code and infra servers here are in-process (tests/inprocess.py): their list tools answer the names
a test gives, through the gateway's real call pipeline; Redis is a real throwaway server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sophia.gateway.entities import MAX_NAME_CHARS, LiveNames, clean_name, mentioned
from sophia.gateway.planner import Plan, Step
from sophia.gateway.security.principals import Principal, current

from .inprocess import Gateway, error, gateway, structured, tool

REPOS = ["sophia", "quill", "heron-api"]
STACKS = ["staging", "heron-staging", "production"]
TEXT = {"type": "string"}


@pytest.fixture
async def fleet(redis_url: str) -> AsyncIterator[Gateway]:
    state: dict[str, Any] = {"repos": REPOS, "stacks": STACKS}

    def repos(_: dict[str, Any]) -> Any:
        if state["repos"] is None:
            return error("workspace unavailable")
        return structured({"repos": [{"name": name, "branch": "main"} for name in state["repos"]]})

    built = await gateway(
        redis_url,
        {
            "code": [
                tool("list_repos", {}, [], repos, read_only=True),
                tool(
                    "read_file",
                    {"repo": TEXT, "path": TEXT},
                    ["repo", "path"],
                    lambda a: structured({"text": "# readme"}),
                    read_only=True,
                ),
            ],
            "infra": [
                tool(
                    "stacks",
                    {},
                    [],
                    lambda a: structured({"stacks": [{"name": s} for s in state["stacks"]], "projects": ["app"]}),
                    read_only=True,
                ),
                tool("preview", {"stack": TEXT}, ["stack"], lambda a: structured({"changes": []}), read_only=True),
            ],
        },
    )
    built.state = state  # type: ignore[attr-defined]
    yield built
    await built.close()


def readme_step(**arguments: Any) -> Plan:
    missing = [] if "repo" in arguments else ["repo"]
    return Plan(
        steps=[
            Step(
                id="s1",
                tool="code_read_file",
                arguments={"path": "README.md", **arguments},
                why="show the README",
                missing=missing,
            )
        ]
    )


async def test_a_one_word_repository_the_code_service_knows_is_found(fleet: Gateway) -> None:
    names = LiveNames(fleet.executor, fleet.planner)
    plan = readme_step()
    await names.fill(plan, "show the README of sophia")
    assert plan.steps[0].arguments["repo"] == "sophia" and plan.steps[0].missing == []
    quoted = readme_step()
    await names.fill(quoted, 'open the README in "Quill" please')
    assert quoted.steps[0].arguments["repo"] == "quill"  # the service's spelling, whatever the case said
    assert len(fleet.servers["code"].called("list_repos")) == 1  # asked once: the list is kept a while


async def test_a_known_name_inside_a_longer_one_is_the_longer_one(fleet: Gateway) -> None:
    names = LiveNames(fleet.executor, fleet.planner)
    plan = Plan(
        steps=[Step(id="s1", tool="infra_preview", arguments={"stack": "staging"}, why="preview heron-staging")]
    )
    await names.fill(plan, "preview heron-staging")
    assert plan.steps[0].arguments["stack"] == "heron-staging"
    plain = Plan(steps=[Step(id="s1", tool="infra_preview", arguments={"stack": "staging"}, why="preview staging")])
    await names.fill(plain, "preview staging")
    assert plain.steps[0].arguments["stack"] == "staging"


async def test_two_names_or_none_fill_nothing_and_the_step_still_asks(fleet: Gateway) -> None:
    names = LiveNames(fleet.executor, fleet.planner)
    both = readme_step()
    await names.fill(both, "compare the README of sophia and quill")
    assert "repo" not in both.steps[0].arguments and both.steps[0].missing == ["repo"]
    unknown = readme_step()
    await names.fill(unknown, "show the README of sophiatown")  # a word that only contains a name
    assert unknown.steps[0].missing == ["repo"]


async def test_a_list_that_cannot_be_read_fills_nothing_and_is_asked_again(fleet: Gateway) -> None:
    names = LiveNames(fleet.executor, fleet.planner)
    fleet.state["repos"] = None  # type: ignore[attr-defined]
    plan = readme_step()
    await names.fill(plan, "show the README of sophia")
    assert plan.steps[0].missing == ["repo"]
    fleet.state["repos"] = REPOS  # type: ignore[attr-defined]
    await names.fill(plan, "show the README of sophia")
    assert plan.steps[0].arguments["repo"] == "sophia"  # the failure was not kept
    assert len(fleet.servers["code"].called("list_repos")) == 2


async def test_each_principal_gets_its_own_list(fleet: Gateway) -> None:
    names = LiveNames(fleet.executor, fleet.planner)
    await names.fill(readme_step(), "show the README of sophia")
    token = current.set(Principal(name="dana", roles=("admin",), via="api_key"))
    try:
        await names.fill(readme_step(), "show the README of sophia")
    finally:
        current.reset(token)
    assert len(fleet.servers["code"].called("list_repos")) == 2


async def test_names_from_a_service_are_values_only_cleaned_and_bounded(fleet: Gateway) -> None:
    fleet.state["repos"] = ["ev\x1b[31mil", "x" * (MAX_NAME_CHARS + 1), 42, "\u202eorca"]  # type: ignore[attr-defined]
    names = LiveNames(fleet.executor, fleet.planner)
    from sophia.gateway.entities import SOURCES

    assert await names.names(SOURCES[0]) == ["ev[31mil", "orca"]
    assert clean_name("  ok  ") == "ok" and clean_name("") is None and clean_name(None) is None


def test_mentions_are_whole_words_any_case() -> None:
    assert mentioned(REPOS, "review Sophia's README") == ["sophia"]
    assert mentioned(REPOS, "deploy heron-api.") == ["heron-api"]
    assert mentioned(REPOS, "look at sophia.py") == []  # a file, not the repository
    assert mentioned(REPOS, "the quills") == []
