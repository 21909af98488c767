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


async def serving(service: str, tools: list[dict[str, Any]], specs: dict[str, ToolSpec]) -> Catalog:
    """A catalog with one in-process server of these tools."""
    catalog = Catalog(InMemorySubscriptionBus())
    catalog.register(service, "kit", "in-process")
    await catalog.serving(
        service, version="1", endpoint="in-process", upstream=Server(service), tools=tools, specs=specs
    )
    return catalog


@pytest.fixture
async def catalog() -> Catalog:
    return await serving(
        "code",
        [tool("push", **{"sophia/approval": "per-call"}), tool("log")],
        {"push": ToolSpec("push", "push", risk=Risk.MEDIUM), "log": ToolSpec("log", "log", read_only=True)},
    )


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


async def one_tool_reading(service: str, definition: dict[str, Any], reads: list[str]) -> Catalog:
    """A catalog of one server with one tool whose per-call approval check reads only `reads`."""
    catalog = Catalog(InMemorySubscriptionBus())
    catalog.register(service, "kit", "in-process")
    name = definition["name"]
    meta = {"sophia/approval": "per-call", "sophia/approval-reads": reads}
    await catalog.serving(
        service,
        version="1",
        endpoint="in-process",
        upstream=Server(service),
        tools=[{**definition, "_meta": meta}],
        specs={name: ToolSpec(name, name, risk=Risk.MEDIUM)},
    )
    return catalog


async def test_a_check_that_reads_only_known_arguments_is_asked_before_the_rest_arrive() -> None:
    """ "Find X, then post it in #team": the post's text comes from the search, but its server's check reads
    only where it goes (declared): it is asked now, the text standing in; a step whose read argument is still
    to come cannot be asked and stays held."""
    catalog = await one_tool_reading("chat", tool("post"), ["k"])
    asked: list[dict[str, Any]] = []
    steps = [
        Step(id="s2", tool="chat_post", arguments={"text": {STEP_REF: "s1"}, "k": 3}, depends_on=["s1"]),
        Step(id="s3", tool="chat_post", arguments={"text": "hello", "k": {STEP_REF: "s1"}}, depends_on=["s1"]),
    ]
    await planner(catalog, {}, asked)._probe_declared(steps)
    assert asked == [{"text": EARLY_STAND_IN, "k": 3}]
    assert steps[0].requires_approval is False and steps[0].approval_reason is None
    assert steps[1].requires_approval is True and steps[1].approval_reason == UNASKED


PUSH_SCHEMA = {
    "type": "object",
    "properties": {"repo": {"type": "string"}, "branch": {"type": "string"}},
    "required": ["repo", "branch"],
}


async def test_a_check_is_asked_when_only_arguments_it_does_not_read_are_missing() -> None:
    """ "push feature/gauge-fix" names the branch but not the repository: the step will ask the person for the
    repository, but whether it would wait depends on the branch alone (declared), so the server is asked now;
    a step missing the argument its check reads stays held."""
    catalog = await one_tool_reading("code", {**tool("push"), "inputSchema": PUSH_SCHEMA}, ["branch"])
    asked: list[dict[str, Any]] = []

    async def probe(route: Route, arguments: dict[str, Any]) -> str | None:
        asked.append(arguments)
        return "push to protected branch" if arguments["branch"] == "main" else None

    planned = Planner(catalog, graph=None, tools=None, risky=lambda route: False, probe=probe)  # type: ignore[arg-type]
    steps = [
        Step(id="s1", tool="code_push", arguments={"branch": "feature/gauge-fix"}, missing=["repo"]),
        Step(id="s2", tool="code_push", arguments={"branch": "main"}, missing=["repo"]),
        Step(id="s3", tool="code_push", arguments={"repo": "gauge"}, missing=["branch"]),
    ]
    await planned._probe_declared(steps)
    assert asked == [{"branch": branch, "repo": EARLY_STAND_IN} for branch in ("feature/gauge-fix", "main")]
    assert [s.requires_approval for s in steps] == [False, True, True]
    assert steps[1].approval_reason == "push to protected branch" and steps[2].approval_reason == UNASKED


@pytest.mark.parametrize(
    ("request_text", "branch", "repo"),
    [
        ("push fix/gauge-rounding please", "fix/gauge-rounding", None),
        ("publish my commits on feat/tally-export", "feat/tally-export", None),
        ("push my spike-csv-reader branch to origin", "spike-csv-reader", None),
        ("push the quarterly cleanup branch of abacus-web", None, "abacus-web"),  # no name-like word before it
    ],
)
def test_branch_names_are_read_with_their_usual_prefixes_or_before_the_word_branch(
    request_text: str, branch: str | None, repo: str | None
) -> None:
    found = entities(request_text)
    assert _value_for("branch", {}, request_text, request_text, found, "default") == branch
    assert _value_for("repo", {}, request_text, request_text, found, "default") == repo


def test_a_stack_is_the_clauses_hyphenated_name_when_none_is_named_as_a_stack() -> None:
    for asked, stack in [
        ("anything drifted on ledgerline-apac?", "ledgerline-apac"),
        ("refresh the ledgerline-apac stack", "ledgerline-apac"),
        ("preview prod", "production"),
        ("preview the billing changes", None),
    ]:
        assert _value_for("stack", {}, asked, asked, entities(asked), "default") == stack


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


async def test_the_best_fit_skips_checks_that_cannot_change_the_choice(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The argument check only takes from a shortlisted tool's score or adds the named-place bonus, so a tool
    whose score plus that bonus cannot pass the best found is never checked; the choice is the one checking
    every tool would make (the first of equals), on shortlists with any penalties."""
    import random

    from sophia.gateway.planner import MISSING_ARGUMENT_PENALTY, NAMED_PLACE_BONUS

    routes = catalog.routes()
    chosen = planner(catalog, {}, [])
    rng = random.Random(7)
    checks = 0
    for _ in range(500):
        shortlist = sorted(((round(rng.uniform(0, 1), 2), rng.choice(routes)) for _ in range(6)), key=lambda i: -i[0])
        penalties = [rng.choice([-NAMED_PLACE_BONUS, 0.0, MISSING_ARGUMENT_PENALTY]) for _ in shortlist]
        asked = iter(penalties)  # the i-th check is of the i-th shortlisted tool: they are tried in rank order
        monkeypatch.setattr(chosen, "_unfillable", lambda *_, penalty=asked: next(penalty))
        fit = chosen._best_fit(shortlist, "part", "query", entities("query"), "default")
        fits = [score - penalty for (score, _), penalty in zip(shortlist, penalties, strict=True)]
        best = max(range(len(fits)), key=fits.__getitem__)  # the first of equals, as checking every tool picks
        assert fit == (fits[best], shortlist[best][1])
        checks += len(penalties) - len(list(asked))
    assert checks < 500 * 6  # some checks were skipped


async def test_of_two_tools_that_fit_about_as_well_the_one_that_can_run_as_asked_is_planned() -> None:
    """A missing name (an Asana project) costs a tool only enough to break a near-tie: "search our customer
    notes for the renewal date" ranked a project's task listing 0.002 above the search of every system; the
    search is planned. A listing that fits clearly better is still planned, its project asked for. The cost is
    counted once per tool."""
    query_only = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
    with_project = {
        "type": "object",
        "properties": {"project": {"type": "string"}, "query": {"type": "string"}},
        "required": ["project"],
    }
    names = ("head", "base", "title")
    three_names = {"type": "object", "properties": {n: {"type": "string"} for n in names}, "required": list(names)}
    catalog = await serving(
        "business",
        [
            {"name": "search", "description": "search", "inputSchema": query_only},
            {"name": "asana_tasks", "description": "tasks", "inputSchema": with_project},
            {"name": "pull_request", "description": "pull request", "inputSchema": three_names},
        ],
        {name: ToolSpec(name, name, read_only=True) for name in ("search", "asana_tasks", "pull_request")},
    )
    routes = {route.name: route for route in catalog.routes()}
    tasks, search = routes["business_asana_tasks"], routes["business_search"]
    part = "search our customer notes for the Acme renewal date"
    chosen = planner(catalog, {}, [])
    near_tie = [(0.494, tasks), (0.492, search)]
    assert chosen._best_fit(near_tie, part, part, entities(part), "default")[1] is search
    clearly_better = [(0.60, tasks), (0.492, search)]
    assert chosen._best_fit(clearly_better, part, part, entities(part), "default")[1] is tasks
    # Once per tool, however many names are missing: a pull request (head, base, title) is not worse than a task
    # listing (project) for lacking more of them.
    unfillable = [chosen._unfillable(routes[name], part, part, entities(part), "default") for name in
                  ("business_pull_request", "business_asana_tasks", "business_search")]  # fmt: skip
    assert unfillable[0] == unfillable[1] > unfillable[2] == 0
