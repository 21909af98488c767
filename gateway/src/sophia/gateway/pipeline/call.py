"""What travels through the pipeline: one tool call, and what became of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sophia.gateway.approvals import Approval
    from sophia.gateway.catalog import Route
    from sophia.gateway.security.principals import Principal

#: Where a call came from. `approved` is the re-run of a held call after an approver said yes; `ui` the
#: operator console reading its panels.
Source = Literal["mcp", "rest", "ask", "approved", "llm", "ui"]
Progress = Callable[[float, float | None, str], Awaitable[None]]


@dataclass(slots=True)
class Call:
    """One tool call on its way through the stages. Entry points fill the first fields; stages the rest."""

    name: str
    arguments: dict[str, Any]
    source: Source
    #: Absolute `loop.time()` by which the call (retries included) must be done; None: the gateway default.
    deadline: float | None = None
    #: `_meta` sent to the server with the call (approval grants, progress tokens).
    meta: dict[str, Any] = field(default_factory=dict)
    progress: Progress | None = None
    #: A 2026-07-28 caller's answers to the upstream's last `input_required` round (`inputResponses`,
    #: `requestState`, verbatim; `{}` on a first call): such a caller gets an `input_required` result passed on.
    #: None: the caller cannot be asked that way, and an upstream that asks it so is refused.
    answers: dict[str, Any] | None = None
    #: Why the call must wait for an approver whatever its tool says (a plan step flagged by intent).
    hold_reason: str | None = None
    #: For `ask` steps: the request that planned the call (stored on an approval).
    query: str | None = None
    #: For approved re-runs: the approval being carried out.
    approval: Approval | None = None
    # -- set by the stages --
    route: Route | None = None
    principal: Principal | None = None
    attempts: int = 0


@dataclass(slots=True)
class Outcome:
    """The server's `CallToolResult` (a dict), or the pending approval of a held call."""

    result: dict[str, Any]
    held: Approval | None = None
    attempts: int = 0


Next = Callable[[Call], Awaitable[Outcome]]


class Stage:
    """One check of the pipeline. `handle` does its work and calls `next` to go on (or does not, to stop
    the call there: a refusal raises a `GatewayError`, a hold returns an `Outcome`)."""

    async def handle(self, call: Call, next: Next) -> Outcome:
        return await next(call)
