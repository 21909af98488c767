"""The bounds on a 2026-07-28 `input_required` round passed between an upstream and the gateway's caller: what a
server may ask, what a caller may answer, and who may be asked at all (unit tests, no fleet)."""

from __future__ import annotations

from typing import Any

import pytest

from sophia.gateway.errors import InvalidRequest, UpstreamProtocolError, UpstreamRejected
from sophia.gateway.input_required import MAX_INPUTS, MAX_REQUEST_STATE, caller_input, passed_on

ASK = {"method": "elicitation/create", "params": {"message": "Your name?", "requestedSchema": {"type": "object"}}}


def test_a_round_reaches_a_caller_that_can_be_asked_untouched() -> None:
    round_ = {"resultType": "input_required", "inputRequests": {"a": ASK}, "requestState": "opaque"}
    assert passed_on("up", dict(round_), {}) == round_
    complete = {"content": [], "resultType": "complete"}
    assert passed_on("up", complete, None) is complete


def test_a_round_for_a_caller_that_cannot_be_asked_is_refused_saying_why() -> None:
    with pytest.raises(UpstreamRejected, match="cannot be asked"):
        passed_on("up", {"resultType": "input_required", "inputRequests": {"a": ASK}}, None)


@pytest.mark.parametrize(
    "round_",
    [
        {"requestState": "x" * (MAX_REQUEST_STATE + 1)},
        {"requestState": 7},
        {"inputRequests": {"a": {"method": "tools/call", "params": {}}}},
        {"inputRequests": {str(i): ASK for i in range(MAX_INPUTS + 1)}},
        {"inputRequests": ["not", "a", "map"]},
        {},
    ],
)
def test_a_round_the_revision_does_not_allow_is_the_upstreams_protocol_error(round_: dict[str, Any]) -> None:
    with pytest.raises(UpstreamProtocolError):
        passed_on("up", {"resultType": "input_required", **round_}, {})


def test_a_callers_answers_are_passed_verbatim() -> None:
    given = {"inputResponses": {"a": {"action": "accept", "content": {"name": "ada"}}}, "requestState": "opaque"}
    assert caller_input(given) == given
    assert caller_input({}) == {}


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ({"requestState": "x" * (MAX_REQUEST_STATE + 1)}, "requestState"),
        ({"requestState": ["opaque"]}, "requestState"),
        ({"inputResponses": "yes"}, "inputResponses"),
        ({"inputResponses": {"a": "yes"}}, "inputResponses"),
        ({"inputResponses": {"a": {"text": "x" * (1024 * 1024)}}}, "larger"),
    ],
)
def test_malformed_or_oversized_answers_are_refused(given: dict[str, Any], why: str) -> None:
    with pytest.raises(InvalidRequest, match=why):
        caller_input(given)
