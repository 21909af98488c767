"""Arguments the planner reads from a request: what to remember, what to recall, budgets, one-word repos,
and the executor's path into an upstream result (the recall's best match feeds the forget)."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from sophia.gateway.executor import StepOutcome, _resolve
from sophia.gateway.intent.text import entities
from sophia.gateway.planner import STEP_REF, _arguments


def arguments(schema: dict[str, Any], request: str) -> dict[str, Any]:
    route = SimpleNamespace(input_schema=schema)
    return _arguments(route, request, request, entities(request), "team-a")  # type: ignore[arg-type]


REMEMBER = {"properties": {"text": {"type": "string"}, "namespace": {"type": "string"}}, "required": ["text"]}
RECALL = {"properties": {"query": {"type": "string"}, "namespace": {"type": "string"}}, "required": ["query"]}
BUDGET = {"properties": {"daily_usd": {"type": "number"}, "monthly_usd": {"type": "number"}}}


@pytest.mark.parametrize(
    ("request_text", "stored"),
    [
        ("remember that the Q3 pricing review moved to October 14", "the Q3 pricing review moved to October 14"),
        ("please remember Dana prefers async standups", "Dana prefers async standups"),
        ("make a note: the ledger must never log card numbers", "the ledger must never log card numbers"),
        ("the API freezes on Fridays", "the API freezes on Fridays"),  # no command: stored as said
    ],
)
def test_remember_stores_the_content_not_the_command(request_text: str, stored: str) -> None:
    assert arguments(REMEMBER, request_text) == {"text": stored, "namespace": "team-a"}


@pytest.mark.parametrize(
    ("request_text", "query"),
    [
        ("what do we know about the Acme renewal?", "the Acme renewal"),
        ("what did we decide about the deploy policy?", "the deploy policy"),
        ("delete the memory about the old wifi password", "the old wifi password"),
        ("pricing decisions", "pricing decisions"),
    ],
)
def test_a_memory_question_searches_for_its_topic(request_text: str, query: str) -> None:
    assert arguments(RECALL, request_text)["query"] == query


@pytest.mark.parametrize(
    ("request_text", "subject", "stored"),
    [
        ("update the memory about the kiosk rollout: it slipped to June", "the kiosk rollout", "it slipped to June"),
        ("please correct my note on Bo's parental leave, she is back on the 9th", "Bo's parental leave",
         "she is back on the 9th"),
        ("fix the kiosk rollout note - it slipped to June", "kiosk rollout", "it slipped to June"),
    ],
)  # fmt: skip
def test_an_update_recalls_its_subject_and_stores_the_new_version_with_it(
    request_text: str, subject: str, stored: str
) -> None:
    assert arguments(RECALL, request_text)["query"] == subject
    assert arguments(REMEMBER, request_text)["text"] == f"{subject}: {stored}"


def test_an_update_is_read_in_linear_time_from_a_hostile_request() -> None:
    started = time.perf_counter()
    for hostile in ("update the note about " + "x " * 20_000, "fix the " + "a" * 40_000 + " note", "edit " * 8_000):
        assert "query" in arguments(RECALL, hostile)
    assert time.perf_counter() - started < 1.0


POST = {"properties": {"channel": {"type": "string"}, "text": {"type": "string"}}, "required": ["channel", "text"]}


@pytest.mark.parametrize(
    ("request_text", "text"),
    [
        ("post in general that the office is closed on Friday", "the office is closed on Friday"),
        ("let them know in acme-shared that the answers are attached", "the answers are attached"),
        ("tell the acme-shared channel that the fix shipped", "the fix shipped"),
        ("post in the sales channel: forecast call moved", "forecast call moved"),
        ("post to #eng that the build is green", "the build is green"),
        ("post the weekly numbers", "post the weekly numbers"),  # no lead-in to drop: sent as said
    ],
)
def test_a_post_sends_the_message_not_where_to_send_it(request_text: str, text: str) -> None:
    """The channel, however it is said (a plain name the live list resolves, #name, "the x channel"), is
    where the message goes, not part of it."""
    assert arguments(POST, request_text)["text"] == text


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("set a daily budget of 5 dollars", {"daily_usd": 5.0}),
        ("cap monthly LLM spend at $1,200", {"monthly_usd": 1200.0}),
        ("limit model spend to 7.50 USD per day", {"daily_usd": 7.5}),
        ("set a budget", {}),  # no amount: nothing invented, the tool says what is missing
        ("set a daily budget of 100 euros", {}),  # not US dollars: not converted behind the user's back
    ],
)
def test_budgets_are_parsed_with_their_period(request_text: str, expected: dict[str, float]) -> None:
    assert arguments(BUDGET, request_text) == expected


def test_one_word_repositories_are_found_quoted_or_not() -> None:
    assert entities("review the README of the sophia repo").repos == ["sophia"]
    assert entities('show the "ledger" repository files').repos == ["ledger"]
    assert entities("in repo orion, grep for TODO").repos == ["orion"]
    assert entities("review the code repo").repos == []


def test_forget_receives_the_id_of_the_memory_the_recall_matched_best() -> None:
    recalled = StepOutcome(id="s1", tool="memory_recall", status="ok", result={"structuredContent": {
        "items": [{"id": "m-7", "text": "wifi password is hunter2"}, {"id": "m-2", "text": "other"}]}})  # fmt: skip
    reference = {STEP_REF: "s1", "field": "items.0.id"}
    assert _resolve({"id": reference, "namespace": "team-a"}, {"s1": recalled}) == {"id": "m-7", "namespace": "team-a"}
    empty = StepOutcome(id="s1", tool="memory_recall", status="ok", result={"structuredContent": {"items": []}})
    assert _resolve({"id": reference}, {"s1": empty}) == {}  # nothing matched: the id stays missing


LISTING = {
    "properties": {
        "project": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "query": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
    }
}


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("what Asana tasks are open?", {}),  # names nothing: the whole listing, not a filter on these words
        ("which tasks does Dana have in Asana?", {"query": "Dana"}),  # the system's own name is not a filter
        ("what's the stage of the Acme deal?", {"query": "Acme"}),
        ("list the Asana tasks in the Renewals project", {"project": "Renewals"}),  # not repeated as a filter
        ("show the calls about the onboarding delays", {"query": "onboarding delays"}),
    ],
)
def test_an_optional_filter_narrows_only_to_what_the_request_names(request_text: str, expected: dict[str, str]) -> None:
    assert arguments(LISTING, request_text) == expected


def test_a_place_to_look_said_after_the_question_is_not_what_to_look_for() -> None:
    assert (
        arguments(RECALL, "who is the champion for Acme according to our notes?")["query"]
        == "who is the champion for Acme"
    )
    assert arguments(RECALL, "what does Globex need before expanding, from memory?")["query"] == (
        "what does Globex need before expanding"
    )


DELETE = {"properties": {"ids": {"type": "array", "items": {"type": "string"}}}, "required": ["ids"]}
FORGET = {"properties": {"id": {"type": "string"}}, "required": ["id"]}


def test_identifiers_are_read_after_the_noun_they_name_and_never_invented() -> None:
    assert arguments(DELETE, "delete image img-77 from the index") == {"ids": ["img-77"]}
    assert arguments(FORGET, "forget memory 3fa2c9e1 please") == {"id": "3fa2c9e1"}
    # A plain word after the noun is not an identifier: the step asks for it (or a recall finds it).
    assert arguments(FORGET, "forget the memory about design reviews") == {}
    assert arguments(DELETE, "delete the image of the old logo") == {}


SLACK_HISTORY = {"properties": {"channel": {"type": "string"}}, "required": ["channel"]}


def test_a_channel_is_read_with_or_without_its_hash_but_never_from_a_describing_word() -> None:
    assert arguments(SLACK_HISTORY, "what was said in #sales today?") == {"channel": "#sales"}
    assert arguments(SLACK_HISTORY, "show the messages in the acme-shared channel") == {"channel": "acme-shared"}
    assert arguments(SLACK_HISTORY, "post in the shared channel with Acme") == {}  # which one: the step asks


def test_a_clause_that_refers_back_filters_on_what_the_request_named_before() -> None:
    request = "what's the stage of the Acme deal and what did they say on the last Gong call?"
    route = SimpleNamespace(input_schema=LISTING)
    clause = "what did they say on the last Gong call?"
    assert _arguments(route, clause, request, entities(request), "team-a") == {"query": "Acme"}  # type: ignore[arg-type]
    assert _arguments(route, "what tasks are open?", request, entities(request), "team-a") == {}  # type: ignore[arg-type]
