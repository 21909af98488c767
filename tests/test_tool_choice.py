"""The planner over the six real services' tool catalog, in process (nothing is called): the tool each
clause gets follows the kind of clause, not only its content words."""

from __future__ import annotations

import pytest

from bench._catalog import six_services


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
