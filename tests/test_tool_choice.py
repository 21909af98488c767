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
