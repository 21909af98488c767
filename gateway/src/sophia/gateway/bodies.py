"""Request bodies the gateway will read: JSON without the values that break code further in.

Refused with a clear 400 (`InvalidRequest`) before anything else looks at them: malformed JSON, `NaN`
and `Infinity` (not JSON), lone surrogates (`"\\ud800"`, not text: no store can encode them), integers
beyond 64 bits (a parser turns them into floats and changes the caller's data silently), and nesting
deeper than `MAX_DEPTH` (recursion further in). orjson refuses the first three itself.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sophia.gateway.errors import InvalidRequest, http_error
from sophia.gateway.pipeline.validation import nesting_depth_exceeds

MAX_DEPTH = 64
INT64 = range(-(2**63), 2**64)  # signed and unsigned 64-bit values are both accepted
# Twenty digits or more: the only numbers that may not fit in 64 bits (checked exactly, rarely).
_LONG_DIGITS = re.compile(rb"\d{20,}")


def parse_json(body: bytes) -> Any:
    """The JSON value of `body`; `InvalidRequest` for anything listed above."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"invalid JSON body: {exc}") from None
    if _LONG_DIGITS.search(body):
        json.loads(body, parse_int=_checked_int)  # a 20-digit string value is fine; a 20-digit number may not be
    if nesting_depth_exceeds(value, MAX_DEPTH):
        raise InvalidRequest(f"JSON body nested deeper than {MAX_DEPTH} levels")
    return value


def _checked_int(text: str) -> int:
    value = int(text)
    if value not in INT64:
        raise InvalidRequest("JSON body holds an integer beyond 64 bits; send it as a string")
    return value


class JsonBodyGuard:
    """ASGI middleware for the HTTP API: a JSON body `parse_json` refuses gets a 400 before any route reads
    it. It sits inside the body-size limit, so what it buffers is bounded."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        if b"json" not in content_type.lower():
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        message = await receive()
        while message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
            message = await receive()
        else:  # the client went away mid-body: let the route see that
            await self.app(scope, replay_once(message, receive), send)
            return
        body = b"".join(chunks)
        if body:
            try:
                parse_json(body)
            except InvalidRequest as exc:
                status, payload, _ = http_error(exc)
                await JSONResponse(payload, status_code=status)(scope, receive, send)
                return
        replay = replay_once({"type": "http.request", "body": body, "more_body": False}, receive)

        await self.app(scope, replay, send)


def replay_once(first: Message, receive: Receive) -> Receive:
    """A `receive` that yields `first`, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first
        return await receive()

    return replay
