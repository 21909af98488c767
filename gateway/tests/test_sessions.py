"""References resolved from a conversation's recent turns (the fleet test covers recording them)."""

from __future__ import annotations

from sophia.gateway.sessions import resolve

TURNS = [
    {"role": "user", "text": "preview the heron-staging stack"},
    {"role": "assistant", "text": "infra_preview: 3 changes on the prod stack"},  # the assistant's words never count
    {"role": "user", "text": "thanks"},
]


def test_a_reference_gets_the_latest_named_things_of_the_users_turns() -> None:
    assert resolve("now deploy it", TURNS) == "now deploy the heron-staging stack"
    assert resolve("review the same repo", [{"role": "user", "text": "show the README of the quill repo"}]) == (
        "review the quill repo"
    )
    assert resolve("post that there", [{"role": "user", "text": "summarise #deals"}]) == "post that in #deals"


def test_a_request_that_names_its_own_things_or_refers_to_nothing_is_left_alone() -> None:
    assert resolve("deploy it to the dev stack", TURNS) == "deploy it to the dev stack"
    assert resolve("list the stacks", TURNS) == "list the stacks"
    assert resolve("now deploy it", []) == "now deploy it"


def test_a_name_the_fleet_knows_counts_as_named_in_a_turn() -> None:
    known = {"repo": ["orca", "quill"], "stack": ["heron-staging"]}
    turns = [{"role": "user", "text": "show me README.md of orca"}]
    assert resolve("now review it", turns, known) == "now review the orca repo and README.md"
    assert resolve("now review it", turns) == "now review README.md"  # the words alone name no repository
    assert resolve("review quill too, like it", turns, known) == "review quill too, like it"  # names its own
