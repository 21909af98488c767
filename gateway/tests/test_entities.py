"""Arguments from live state: the repositories, stacks, channels, projects, deals and namespaces the fleet
knows fill a plan's steps.

The code, infra, business and memory servers here are in-process (tests/inprocess.py): their list tools answer the names
a test gives, through the gateway's real call pipeline; Redis is a real throwaway server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sophia.gateway.ask import Asker
from sophia.gateway.entities import MAX_NAME_CHARS, LiveNames, clean_name, described, mentioned
from sophia.gateway.intent.engine import Reading
from sophia.gateway.intent.schema import Intent
from sophia.gateway.planner import UNASKED, Plan, Step
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


# -- channels, projects, deals and namespaces ------------------------------------------------------------

CHANNELS = [
    {"id": "C01", "name": "sales", "shared_externally": False},
    {"id": "C02", "name": "acme-shared", "shared_externally": True},
    {"id": "C03", "name": "general", "shared_externally": False},
]
PROJECTS = [
    {"id": "11", "name": "Renewals (EMEA)"},
    {"id": "12", "name": "Renewals (US)"},
    {"id": "13", "name": "Onboarding"},
]
DEALS = [
    {"source": "salesforce", "Id": "0065g0000AcmeA1AAA", "Name": "Acme Corp — add-on", "Account.Name": "Acme Corp"},
    {"source": "salesforce", "Id": "0065g0000GlobA1AAA", "Name": "Globex — renewal", "Account.Name": "Globex"},
    {"source": "salesforce", "Id": "0065g0000GlobB2AAA", "Name": "Globex — pilot", "Account.Name": "Globex"},
    {"source": "hubspot", "id": "901", "name": "Initech — training"},
]


LIMIT = {"limit": {"type": "integer"}}


def _shared_channel(arguments: dict[str, Any]) -> str | None:
    """As the business server's check: a channel shared with another company holds the post."""
    shared = {c["name"] for c in CHANNELS if c["shared_externally"]}
    return "shared with another organisation" if arguments["channel"].lstrip("#") in shared else None


@pytest.fixture
async def business(redis_url: str) -> AsyncIterator[Gateway]:
    """Business and memory servers whose list tools answer as `slack_channels`, `asana_projects`,
    `crm_deals` and `memory_namespaces` do; `slack_post` declares per-call approval like the real one."""
    ok = lambda a: structured({"ok": True})  # noqa: E731
    built = await gateway(
        redis_url,
        {
            "business": [
                tool("slack_channels", LIMIT, [], lambda a: structured({"channels": CHANNELS}), read_only=True),
                tool("slack_post", {"channel": TEXT, "text": TEXT}, ["channel", "text"], ok, approval=_shared_channel),
                tool("asana_projects", {}, [], lambda a: structured({"projects": PROJECTS}), read_only=True),
                tool("asana_tasks", {"project": TEXT}, [], lambda a: structured({"tasks": []}), read_only=True),
                tool("crm_deals", LIMIT, [], lambda a: structured({"deals": DEALS}), read_only=True),
                tool("salesforce_opportunity", {"opportunity_id": TEXT}, ["opportunity_id"], ok, read_only=True),
            ],
            "memory": [
                tool(
                    "namespaces",
                    {"namespace": TEXT},
                    [],
                    lambda a: structured({"namespaces": [{"name": "default"}, {"name": "ops"}, {"name": "sales"}]}),
                    read_only=True,
                ),
                tool("recall", {"query": TEXT, "namespace": TEXT}, ["query"], ok, read_only=True),
            ],
        },
    )
    yield built
    await built.close()


def post(why: str, **arguments: Any) -> Plan:
    missing = [] if "channel" in arguments else ["channel"]
    step = Step(id="s1", tool="business_slack_post", arguments={"text": "hi", **arguments}, why=why, missing=missing)
    return Plan(steps=[step])


async def test_a_channel_named_in_the_request_fills_the_post_and_a_shared_one_holds_it(business: Gateway) -> None:
    names = LiveNames(business.executor, business.planner)
    internal = post("post the release notes in general")
    await names.fill(internal, "post the release notes in general")
    assert internal.steps[0].arguments["channel"] == "general" and internal.steps[0].missing == []
    assert internal.steps[0].requires_approval is False
    shared = post("tell them in the acme-shared channel that the fix shipped")
    await names.fill(shared, "tell them in the acme-shared channel that the fix shipped")
    step = shared.steps[0]
    assert step.arguments["channel"] == "acme-shared" and step.requires_approval is True
    assert "another organisation" in (step.approval_reason or "")
    assert business.servers["business"].called("slack_post") == []  # asked, never posted


async def test_a_channel_counts_only_where_the_request_names_a_channel(business: Gateway) -> None:
    names = LiveNames(business.executor, business.planner)
    numbers = post("post the sales numbers to the team")
    await names.fill(numbers, "post the sales numbers to the team")  # "sales" is not said as a channel
    assert numbers.steps[0].missing == ["channel"]
    hashed = post("share it in #sales", channel="#sales")
    await names.fill(hashed, "share it in #sales")
    assert hashed.steps[0].arguments["channel"] == "#sales"  # the reading's own spelling is kept
    both = post("copy what was said in sales to general")
    await names.fill(both, "copy what was said in sales to general")
    assert both.steps[0].missing == ["channel"]  # two channels: the answer asks which


async def test_a_channel_said_by_all_its_words_and_the_word_channel_is_found(business: Gateway) -> None:
    """ "tell Acme on our shared channel" names acme-shared without spelling it: every word of the name and
    the noun are there, and no other channel fits, so the post is filled, asked about and held."""
    names = LiveNames(business.executor, business.planner)
    said = "tell Acme on our shared channel that the fix shipped"
    shared = post(said, channel="shared")  # the reading's guess, no channel of that name
    await names.fill(shared, said)
    assert shared.steps[0].arguments["channel"] == "acme-shared" and shared.steps[0].requires_approval is True
    unsaid = post("tell Acme the fix shipped")  # no channel said: nothing is filled
    await names.fill(unsaid, "tell Acme the fix shipped")
    assert unsaid.steps[0].missing == ["channel"]
    assert described(["acme-shared", "sales", "acme-eng"], "post in the acme eng channel", "channel") == ["acme-eng"]
    assert described(["acme-shared"], "tell Acme it is shared", "channel") == []  # the noun is missing


async def test_a_project_is_found_without_its_qualifier_unless_two_share_it(business: Gateway) -> None:
    names = LiveNames(business.executor, business.planner)
    plan = Plan(steps=[Step(id="s1", tool="business_asana_tasks", arguments={}, why="open tasks in onboarding")])
    await names.fill(plan, "open tasks in onboarding")
    assert plan.steps[0].arguments["project"] == "Onboarding"
    plan = Plan(steps=[Step(id="s1", tool="business_asana_tasks", arguments={}, why="tasks of Renewals (US)")])
    await names.fill(plan, "tasks of Renewals (US)")
    assert plan.steps[0].arguments["project"] == "Renewals (US)"
    plan = Plan(steps=[Step(id="s1", tool="business_asana_tasks", arguments={}, why="tasks of Renewals")])
    await names.fill(plan, "tasks of Renewals")  # EMEA or US: ambiguous
    assert "project" not in plan.steps[0].arguments


async def test_a_deal_named_by_its_account_gives_the_salesforce_opportunity_id(business: Gateway) -> None:
    names = LiveNames(business.executor, business.planner)

    def opportunity(why: str) -> Plan:
        step = Step(id="s1", tool="business_salesforce_opportunity", arguments={}, why=why, missing=["opportunity_id"])
        return Plan(steps=[step])

    acme = opportunity("what stage is the Acme Corp opportunity in")
    await names.fill(acme, "what stage is the Acme Corp opportunity in")
    assert acme.steps[0].arguments["opportunity_id"] == "0065g0000AcmeA1AAA" and acme.steps[0].missing == []
    globex = opportunity("what stage is the Globex deal in")
    await names.fill(globex, "what stage is the Globex deal in")  # two Globex opportunities: ask which
    assert globex.steps[0].missing == ["opportunity_id"]
    initech = opportunity("show the Initech deal")
    await names.fill(initech, "show the Initech deal")  # a HubSpot deal has no Salesforce id
    assert initech.steps[0].missing == ["opportunity_id"]


async def test_a_namespace_said_as_one_replaces_the_callers_default(business: Gateway) -> None:
    names = LiveNames(business.executor, business.planner)

    def recall(why: str) -> Plan:
        step = Step(
            id="s1", tool="memory_recall", arguments={"query": "deploy policy", "namespace": "default"}, why=why
        )
        return Plan(steps=[step])

    named = recall("what did we decide about the deploy policy in the ops namespace")
    await names.fill(named, "what did we decide about the deploy policy in the ops namespace")
    assert named.steps[0].arguments["namespace"] == "ops"
    plain = recall("what do we know about sales")  # a word that is a namespace, not said as one
    await names.fill(plain, "what do we know about sales")
    assert plain.steps[0].arguments["namespace"] == "default"
    assert len(business.servers["memory"].called("namespaces")) == 1  # not read when no namespace is said


async def test_a_conversation_knows_projects_by_name_but_not_deal_ids_nor_uncued_names(business: Gateway) -> None:
    """Earlier turns are searched for bare names: a project's, not a deal's id, and not a channel's or a
    namespace's, which count only with their cue ("the sales numbers" named no channel)."""
    known = await LiveNames(business.executor, business.planner).known()
    assert set(known) == {"project"} and "Onboarding" in known["project"] and "Renewals" in known["project"]
    assert business.servers["business"].called("asana_projects") == [{}]  # the stand-in's list takes no limit


async def test_a_list_is_read_in_its_largest_page_where_the_tool_takes_a_limit(business: Gateway) -> None:
    names = LiveNames(business.executor, business.planner)
    await names.fill(post("post it in general"), "post it in general")
    assert business.servers["business"].called("slack_channels") == [{"limit": 100}]


async def test_intent_knows_a_post_into_a_shared_channel_waits(business: Gateway) -> None:
    """`/v1/intent` (Asker.classify) resolves names as `ask` does: the words alone do not say the channel
    reaches another company, the live list and the server's check do."""
    calm = Intent(domain="administrative", action="create", capabilities=["business"], targets=[], risk_level="low",
                  requires_approval=False, confidence=0.8, urgency="planned")  # fmt: skip
    request = "tell them in acme-shared that the fix shipped"

    class Engine:
        async def read(self, query: str, *, offline: bool = False) -> Reading:
            return Reading(intent=calm, clauses=[query], clause_vectors=None)  # type: ignore[arg-type]

    class Planned:
        """The real in-process planner, planning the post the classifier would (its channel not yet read)."""

        def __getattr__(self, name: str) -> Any:
            return getattr(business.planner, name)

        async def plan(self, query: str, intent: Intent, namespace: str, clause_vectors: Any = None) -> Plan:
            return post(query)

    asker = Asker(Engine(), Planned(), executor=business.executor, llm=None)  # type: ignore[arg-type]
    assert (await asker.classify(request)).requires_approval is True
    assert (await asker.classify("tell them in general that the fix shipped")).requires_approval is False


async def test_a_post_held_only_for_want_of_its_channel_is_asked_again_once_it_is_known(business: Gateway) -> None:
    """Planned without a channel, the post cannot be asked and is held; the live list then names the
    channel, and the server's answer decides: an internal channel runs, a shared one still waits."""
    for channel, held in (("general", False), ("acme-shared", True)):
        plan = post(f"post it in {channel}")
        await business.planner.probe_declared(plan.steps)
        assert plan.steps[0].requires_approval is True and plan.steps[0].approval_reason == UNASKED
        await LiveNames(business.executor, business.planner).fill(plan, f"post it in {channel}")
        assert plan.steps[0].arguments["channel"] == channel and plan.steps[0].requires_approval is held
