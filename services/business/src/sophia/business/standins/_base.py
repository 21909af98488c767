"""What every stand-in shares: a request log, injected faults, auth checks and cursor encoding.

STAND-IN code (see the package docstring): it speaks the systems' HTTP shapes, it is not them.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Fault:
    """What the next matching request gets instead of a normal answer.

    kind: ``rate_limit`` (429, `retry_after` seconds when given), ``error`` (`status`, a 5xx by default),
    ``malformed`` (200 with a body that is not JSON), ``slow`` (answer after `delay` seconds), ``expired``
    (the system's own expired-token answer). `path` limits it to requests whose path contains it.
    """

    kind: str
    retry_after: str | None = None
    status: int = 500
    delay: float = 0.0
    path: str = ""


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str | None


class Standin:
    """A stand-in system: subclasses list `routes()` and say how they refuse and rate-limit."""

    system = "system"

    def __init__(self, token: str, page_size: int = 2) -> None:
        self.token = token
        self.page_size = page_size
        self.faults: deque[Fault] = deque()
        self.requests: list[Seen] = []

    def fail_next(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def routes(self) -> list[tuple[str, Handler, list[str]]]:
        raise NotImplementedError

    def authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    def refused(self) -> Response:
        return JSONResponse({"message": "unauthorized"}, status_code=401)

    def rate_limited(self, retry_after: str | None) -> Response:
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        return JSONResponse({"message": "rate limited"}, status_code=429, headers=headers)

    def expired(self) -> Response:
        return self.refused()

    def decorate(self, response: Response) -> Response:
        """Headers the system adds to every answer (usage counters)."""
        return response

    def app(self, prefix: str = "") -> Starlette:
        return Starlette(routes=[Route(prefix + path, self._guarded(fn), methods=m) for path, fn, m in self.routes()])

    def _guarded(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            raw = await request.body()
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            self.requests.append(
                Seen(
                    request.method,
                    request.url.path,
                    dict(request.query_params),
                    body,
                    request.headers.get("authorization"),
                )
            )
            fault = self._fault(request.url.path)
            if fault is not None:
                if fault.kind == "slow":
                    await asyncio.sleep(fault.delay)
                elif fault.kind == "rate_limit":
                    return self.decorate(self.rate_limited(fault.retry_after))
                elif fault.kind == "error":
                    return Response("<html>upstream error</html>", status_code=fault.status, media_type="text/html")
                elif fault.kind == "malformed":
                    return Response('{"ok": true, "truncated', status_code=200, media_type="application/json")
                elif fault.kind == "expired":
                    return self.expired()
            if not self.authorised(request):
                return self.refused()
            return self.decorate(await handler(request))

        return guarded

    def _fault(self, path: str) -> Fault | None:
        for fault in list(self.faults):
            if fault.path in path:
                self.faults.remove(fault)
                return fault
        return None


def cursor_of(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def offset_of(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().split(":", 1)[1])
    except (ValueError, IndexError):
        return -1


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def combined(standins: dict[str, Standin]) -> Starlette:
    """One app serving several stand-ins, each under its prefix (``/slack/api``, ``/gong``, ...)."""
    routes = []
    for prefix, standin in standins.items():
        routes.extend(standin.app(prefix).routes)
    return Starlette(routes=routes)
