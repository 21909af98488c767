"""The 2026-07-28 way a server asks its client something: a round trip through the call itself.

A 2026-07-28 server that needs a model completion or the user's answer during `tools/call` answers the call
with `{"resultType": "input_required", "inputRequests": {...}, "requestState": "..."}`; the client fulfils the
requests and calls the same tool again with `inputResponses` (keyed like the requests) and the `requestState`
echoed verbatim. When the gateway's caller speaks 2026-07-28 and so does the upstream, the gateway passes the
question to the caller and the caller's retry to the upstream, holding nothing in between (the endpoint stays
stateless: the round's state is the upstream's `requestState`, opaque to the gateway and never interpreted).
Both directions are bounded here: what a server asks and what a caller answers.
"""

from __future__ import annotations

from typing import Any

import orjson
from mcp_types import INVALID_REQUEST

from sophia.gateway.errors import InvalidRequest, UpstreamProtocolError, UpstreamRejected

#: Longest `requestState` carried either way (characters): it is the upstream's, echoed by the caller.
MAX_REQUEST_STATE = 64 * 1024
#: Largest `inputRequests` of one round (JSON bytes) and largest `inputResponses` of one retry.
MAX_INPUT_BYTES = 1024 * 1024
#: Most requests (and responses) in one round.
MAX_INPUTS = 16
#: What a server may ask its client in a round (the revision's `InputRequest` kinds).
_ASKABLE = frozenset({"sampling/createMessage", "elicitation/create", "roots/list"})


def caller_input(params: dict[str, Any]) -> dict[str, Any]:
    """The caller's answers to a previous round (`inputResponses`, `requestState`) as they go to the upstream:
    empty on a first call. Malformed or oversized answers are refused with `InvalidRequest`."""
    given: dict[str, Any] = {}
    responses = params.get("inputResponses")
    if responses is not None:
        if not isinstance(responses, dict) or len(responses) > MAX_INPUTS:
            raise InvalidRequest(f"inputResponses must be an object of at most {MAX_INPUTS} responses")
        if not all(isinstance(answer, dict) for answer in responses.values()):
            raise InvalidRequest("each of inputResponses must be an object")
        if len(orjson.dumps(responses)) > MAX_INPUT_BYTES:
            raise InvalidRequest(f"inputResponses is larger than {MAX_INPUT_BYTES} bytes")
        given["inputResponses"] = responses
    state = params.get("requestState")
    if state is not None:
        if not isinstance(state, str) or len(state) > MAX_REQUEST_STATE:
            raise InvalidRequest(f"requestState must be a string of at most {MAX_REQUEST_STATE} characters")
        given["requestState"] = state
    return given


def passed_on(service: str, result: dict[str, Any], answers: dict[str, Any] | None) -> dict[str, Any]:
    """An upstream's tool result as the pipeline may return it. An `input_required` round goes to a caller that
    can be asked the 2026-07-28 way (`answers` is not None), checked; any other caller is refused, saying why."""
    if result.get("resultType") != "input_required":
        return result
    if answers is None:
        refusal = (
            "the server asks its caller for input (sampling or elicitation), and this caller cannot be asked "
            "the 2026-07-28 way (an input_required result)"
        )
        raise UpstreamRejected(service, {"code": INVALID_REQUEST, "message": refusal})
    return checked_round(service, result)


def checked_round(service: str, result: dict[str, Any]) -> dict[str, Any]:
    """An upstream's `input_required` result, as the caller may see it; one the revision does not allow, or
    larger than the bounds, is a protocol error of the upstream (never passed on)."""
    requests = result.get("inputRequests")
    state = result.get("requestState")
    if requests is not None and (
        not isinstance(requests, dict)
        or len(requests) > MAX_INPUTS
        or not all(isinstance(r, dict) and r.get("method") in _ASKABLE for r in requests.values())
    ):
        raise UpstreamProtocolError(service, "input_required result with invalid inputRequests")
    if state is not None and (not isinstance(state, str) or len(state) > MAX_REQUEST_STATE):
        raise UpstreamProtocolError(service, f"input_required result with a requestState over {MAX_REQUEST_STATE}")
    if not requests and state is None:
        raise UpstreamProtocolError(service, "input_required result without inputRequests or requestState")
    if requests and len(orjson.dumps(requests)) > MAX_INPUT_BYTES:
        raise UpstreamProtocolError(service, f"input_required result larger than {MAX_INPUT_BYTES} bytes")
    return result
