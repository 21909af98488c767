"""The planner over the six real services' tool catalog, in process (nothing is called): the tool each
clause gets follows the kind of clause, not only its content words."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench._catalog import six_services
from sophia.gateway.planner import Step


@pytest.mark.parametrize(
    ("request_text", "tool"),
    [
        # A statement to keep is a remember, even when its content sounds like a conversation.
        ("remember that design reviews happen on Wednesdays", "memory_remember"),
        # An open question reads, even when it says "remember".
        ("do you remember who the champion at Quokka Insurance is?", "memory_recall"),
        # "how many" is answered by the tool that counts, a search by the one that searches.
        ("how many images are indexed?", "visual_stats"),
        ("find screenshots of the settings page", "visual_search"),
        # A named deal is looked up, not the pipeline's totals.
        ("what's the stage of the Acme deal?", "business_crm_deals"),
        # Which namespaces exist is the listing; what one named namespace holds is its stats.
        ("which memory namespaces exist?", "memory_namespaces"),
        ("how big is the sales namespace", "memory_stats"),
        ("show me what the ops namespace holds", "memory_stats"),
        # The new list tools answer listings of channels and projects.
        ("list the slack channels", "business_slack_channels"),
        ("which asana projects do we have?", "business_asana_projects"),
        # A PR is a pull request: opening one is not a push (which would wait, unasked, for its branch).
        ("open a PR in lanternfish-api raising the upload limit to 50 MB", "code_open_pull_request"),
    ],
)
async def test_each_clause_gets_the_tool_of_its_kind(request_text: str, tool: str) -> None:
    _, planner, intents, _ = await six_services()
    reading = await intents.read(request_text)
    plan = await planner.plan(request_text, reading.intent, "default", reading.clause_vectors)
    assert [step.tool for step in plan.steps] == [tool]


async def test_a_task_about_a_message_is_not_held_but_the_message_itself_is() -> None:
    _, _, intents, _ = await six_services()
    task = "create an Asana task to send Initech the migration estimate"
    reading = await intents.read(task)
    assert not reading.intent.requires_approval
    both = "create an Asana task to send Initech the estimate and then email them the deck"
    assert (await intents.read(both)).intent.requires_approval


async def test_a_namespace_listing_is_not_narrowed_to_the_callers_own_by_the_planner() -> None:
    """Its namespace is a filter (the gateway's scoping sets it with auth on); the planner leaves it unset,
    while a tool whose namespace is where it reads or writes gets the caller's."""
    _, planner, intents, _ = await six_services()
    for text, expected in (("list our namespaces", {}), ("how many memories do we hold?", {"namespace": "team-a"})):
        reading = await intents.read(text)
        plan = await planner.plan(text, reading.intent, "team-a", reading.clause_vectors)
        assert [s.arguments for s in plan.steps] == [expected]


async def test_deleting_an_image_described_in_words_searches_first_and_the_delete_waits() -> None:
    """No id in the request: the graph's field edge plans the visual search, whose best match becomes the
    delete's one-item `ids`; the delete is destructive, so the plan holds it for an approver."""
    _, planner, intents, _ = await six_services()
    text = "delete the screenshot of the old login page"
    reading = await intents.read(text)
    plan = await planner.plan(text, reading.intent, "default", reading.clause_vectors)
    search, delete = plan.steps
    assert (search.tool, delete.tool) == ("visual_search", "visual_delete") and delete.depends_on == [search.id]
    assert delete.arguments["ids"] == {"$step": search.id, "field": "items.0.id", "list": True}
    assert delete.requires_approval and not search.requires_approval


@pytest.mark.parametrize(
    "request_text",
    ["which spaces exist in our wiki?", "who owns the billing service?", "post the summary in general"],
)
async def test_a_directory_of_names_serves_only_a_request_that_names_what_it_lists(request_text: str) -> None:
    """The channel, project and namespace listings are how names are resolved; a request that does not
    ask for channels, projects or namespaces never gets one of them as its step."""
    _, planner, intents, _ = await six_services()
    reading = await intents.read(request_text)
    plan = await planner.plan(request_text, reading.intent, "default", reading.clause_vectors)
    directories = {"memory_namespaces", "business_slack_channels", "business_asana_projects"}
    assert not directories & {step.tool for step in plan.steps}


@pytest.mark.parametrize(
    "request_text",
    [
        "write a follow-up to Initech after their last call, but don't send it",
        "draft a reply in #globex-shared but do not post it",
        "preview what tearing down the qa stack would do",
    ],
)
async def test_a_clause_that_only_drafts_or_previews_plans_nothing_that_could_be_held(
    request_text: str, tmp_path: Path
) -> None:
    """The words ruled the send, the apply and the delete out: the plan holds no call that would publish,
    apply or delete (the servers' own checks asked), so `/v1/intent` asks no approver for a draft."""
    _, planner, intents, _ = await six_services(ask_servers=tmp_path)
    reading = await intents.read(request_text)
    plan = await planner.plan(request_text, reading.intent, "default", reading.clause_vectors)
    assert plan.steps and not any(step.requires_approval for step in plan.steps)
    publishing = {"business_slack_post", "business_email_send", "infra_destroy", "infra_up"}
    assert not publishing & {step.tool for step in plan.steps}


@pytest.mark.parametrize(
    "text",
    [
        "check the drift on the production stack",
        "watch the production stack for drift this week",
        "did anything drift on the production stack overnight?",
        "any drift on quillmoor-eu since Friday?",  # a question; the stack named only by its name
    ],
)
async def test_a_drift_check_is_planned_as_a_report_that_leaves_the_recorded_state_alone(
    text: str, tmp_path: Path
) -> None:
    """A refresh rewrites recorded state (the infra server holds it on production); a check or a watch only
    reads, so its refresh is planned with `preview_only`, which the server's own check runs without an approver."""
    _, planner, intents, _ = await six_services(ask_servers=tmp_path)
    reading = await intents.read(text)
    plan = await planner.plan(text, reading.intent, "default", reading.clause_vectors)
    refreshes = [step for step in plan.steps if step.tool == "infra_refresh"]
    assert refreshes and all(step.arguments.get("preview_only") is True for step in refreshes)
    assert not any(step.requires_approval for step in plan.steps)


async def test_the_servers_own_checks_hold_a_push_to_main_and_let_a_feature_branch_go(tmp_path: Path) -> None:
    """With the services started in process (`ask_servers`), the planner asks each per-call check as
    `/v1/intent` asks the servers over MCP: the code service's default protected branches decide."""
    _, planner, _, _ = await six_services(ask_servers=tmp_path)
    steps = [
        Step(id="s1", tool="code_push", arguments={"repo": "ledger", "branch": "main"}),
        Step(id="s2", tool="code_push", arguments={"repo": "ledger", "branch": "feature/retry"}),
    ]
    await planner.probe_declared(steps)
    assert [step.requires_approval for step in steps] == [True, False]
    assert "protected branch 'main'" in (steps[0].approval_reason or "")


async def test_a_push_without_its_repository_is_still_judged_by_its_branch(tmp_path: Path) -> None:
    """The code service declares that its push check reads only the branch: a request that names a feature
    branch but not the repository is asked about the branch while planning (the repository will be asked of
    the person), so `/v1/intent` does not call it a held action (a push to `main` is: tests/test_planner)."""
    _, planner, intents, _ = await six_services(ask_servers=tmp_path)
    text = "publish feature/ledger-rounding to origin"
    reading = await intents.read(text)
    plan = await planner.plan(text, reading.intent, "default", reading.clause_vectors)
    (push,) = [step for step in plan.steps if step.tool == "code_push"]
    assert push.arguments == {"branch": "feature/ledger-rounding"} and push.missing == ["repo"]
    assert push.requires_approval is False and push.approval_reason is None


async def test_a_post_whose_text_comes_from_an_earlier_step_is_asked_about_its_channel_at_once(tmp_path: Path) -> None:
    """The business service declares that its post check reads only the channel: "find X and post it in #team"
    is asked while planning (the text stands in), so `/v1/intent` does not call it a held action."""
    _, planner, intents, _ = await six_services(ask_servers=tmp_path)
    text = "find the Gong calls where renewal pricing came up with Larkspur and post the highlights in #renewals-team"
    reading = await intents.read(text)
    plan = await planner.plan(text, reading.intent, "default", reading.clause_vectors)
    (post,) = [step for step in plan.steps if step.tool == "business_slack_post"]
    assert post.depends_on and post.arguments["channel"] == "#renewals-team"
    assert post.requires_approval is False and post.approval_reason is None
