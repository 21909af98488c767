"""The executor: run a plan's steps as their dependencies allow, independent ones in parallel.

Each step has a timeout; read-only and idempotent tools are retried with backoff (stamina) when the
server is unreachable, times out or answers garbage — others never, since a retried write could
happen twice. A circuit breaker per server stops calling one that keeps failing. A failed step is
reported as a typed error while the other steps finish; steps that depend on it are skipped. Steps
that need approval are held in the approval queue, not run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import stamina
from pydantic import BaseModel

from sophia.gateway.approvals import Approval
from sophia.gateway.calls import ToolCaller
from sophia.gateway.errors import GatewayError, UpstreamProtocolError, UpstreamTimeout, UpstreamUnavailable
from sophia.gateway.planner import STEP_REF, Plan, Step
from sophia.gateway.results import text_of
from sophia.kit.breaker import CircuitBreakers

StepStatus = Literal["ok", "tool_error", "failed", "held", "skipped"]
Emit = Callable[[str, dict[str, Any]], Awaitable[None]]
RETRYABLE = (UpstreamUnavailable, UpstreamTimeout, UpstreamProtocolError)
# An upstream result handed to a later step is cut here: results are data, not a way to grow a prompt.
MAX_UPSTREAM_CHARS = 4000
# How long a call may outlast its step's deadline; the step's own timeout always ends it first.
ATTEMPT_GRACE_S = 0.25
# Random extra wait before a retry (stamina's default, 1 s, would dwarf the 50 ms first backoff).
RETRY_JITTER_S = 0.05


class StepError(BaseModel):
    type: str
    message: str


class StepOutcome(BaseModel):
    id: str
    tool: str
    status: StepStatus
    result: dict[str, Any] | None = None
    error: StepError | None = None
    approval: dict[str, Any] | None = None
    attempts: int = 0
    duration_ms: float = 0.0


class Executor:
    def __init__(self, caller: ToolCaller, breakers: CircuitBreakers, step_timeout_s: float, retries: int) -> None:
        self.caller = caller
        self.breakers = breakers
        self.step_timeout_s = step_timeout_s
        self.retries = retries

    async def run(self, plan: Plan, *, query: str, emit: Emit | None = None) -> dict[str, StepOutcome]:
        """Run `plan` for the current principal; every step is checked against the policy first."""
        outcomes: dict[str, StepOutcome] = {}
        done = {step.id: asyncio.Event() for step in plan.steps}

        async def run_step(step: Step) -> None:
            try:
                for dependency in step.depends_on:
                    await done[dependency].wait()
                blocked = [d for d in step.depends_on if outcomes[d].status != "ok"]
                if blocked:
                    outcome = StepOutcome(
                        id=step.id,
                        tool=step.tool,
                        status="skipped",
                        error=StepError(type="DependencyNotMet", message=_blocked_message(blocked, outcomes)),
                    )
                else:
                    outcome = await self._execute(step, outcomes, query, emit)
                outcomes[step.id] = outcome
                if emit is not None:
                    await emit(_event_name(outcome.status), outcome.model_dump(exclude_none=True))
            finally:
                done[step.id].set()

        await asyncio.gather(*(run_step(step) for step in plan.steps))
        return {step.id: outcomes[step.id] for step in plan.steps}

    async def _execute(
        self, step: Step, outcomes: dict[str, StepOutcome], query: str, emit: Emit | None
    ) -> StepOutcome:
        started = time.perf_counter()

        def finish(status: StepStatus, **fields: Any) -> StepOutcome:
            elapsed = round((time.perf_counter() - started) * 1000, 2)
            return StepOutcome(id=step.id, tool=step.tool, status=status, duration_ms=elapsed, **fields)

        if step.missing:
            message = "the request does not say " + ", ".join(step.missing)
            return finish("failed", error=StepError(type="MissingArguments", message=message))
        arguments = _resolve(step.arguments, outcomes)
        try:
            route = self.caller.catalog.route(step.tool)
        except GatewayError as exc:
            return finish("failed", error=StepError(type=type(exc).__name__, message=str(exc)))
        guard = self.caller.guard
        principal = guard.principal()
        if not guard.policy.may_call(principal, step.tool, route.spec):
            await guard.record("call", principal, step.tool, arguments, "forbidden", detail=f"ask step {step.id}")
            message = f"{principal.name} may not call {step.tool}"
            return finish("failed", error=StepError(type="Forbidden", message=message))
        arguments = guard.scoped(principal, route.input_schema, arguments)
        if step.requires_approval or self.caller.needs_approval(route):
            try:
                approval: Approval = await self.caller.hold(
                    step.tool,
                    arguments,
                    requester=principal.name,
                    reason=f"step {step.id} of a plan for: {query[:200]}",
                    source="ask",
                    query=query,
                )
            except GatewayError as exc:
                return finish("failed", error=StepError(type=type(exc).__name__, message=str(exc)))
            return finish("held", approval=approval.public())
        if not self.breakers[route.service].allow():
            message = f"{route.service} failed repeatedly; not called for a while (circuit open)"
            return finish("failed", error=StepError(type="CircuitOpen", message=message))
        if emit is not None:
            await emit("step_started", {"id": step.id, "tool": step.tool, "arguments": arguments})
        retry = route.spec.read_only or route.spec.idempotent
        attempts = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.step_timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                async for attempt in stamina.retry_context(
                    on=RETRYABLE,
                    attempts=self.retries + 1 if retry else 1,
                    wait_initial=0.05,
                    wait_max=1.0,
                    wait_jitter=RETRY_JITTER_S,
                ):
                    with attempt:
                        remaining = deadline - loop.time()
                        if remaining <= 0:
                            raise TimeoutError  # not retryable: the step's time is up
                        attempts += 1
                        # The call's own timeout ends after the step's deadline, so the step's timer fires first:
                        # when both fire together, aiohttp turns the step's cancellation into its own timeout
                        # error, which would be retried past the deadline.
                        timeout = min(self.caller.timeout, remaining + ATTEMPT_GRACE_S)
                        result = await self.caller.forward(route, arguments, timeout, principal)
        except TimeoutError:
            self.breakers[route.service].failure()
            return finish("failed", attempts=attempts, error=self._step_timeout())
        except GatewayError as exc:
            if isinstance(exc, RETRYABLE):
                self.breakers[route.service].failure()
            else:  # the server answered (it refused the arguments, say): it is up
                self.breakers[route.service].success()
            if isinstance(exc, UpstreamTimeout) and loop.time() >= deadline:
                return finish("failed", attempts=attempts, error=self._step_timeout())
            return finish("failed", attempts=attempts, error=StepError(type=type(exc).__name__, message=str(exc)))
        self.breakers[route.service].success()
        return finish("tool_error" if result.get("isError") else "ok", result=result, attempts=attempts)

    def _step_timeout(self) -> StepError:
        return StepError(type="StepTimeout", message=f"no answer within {self.step_timeout_s:g} s")


def _resolve(arguments: dict[str, Any], outcomes: dict[str, StepOutcome]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for name, value in arguments.items():
        if isinstance(value, dict) and STEP_REF in value:
            upstream = text_of(outcomes[value[STEP_REF]].result)[:MAX_UPSTREAM_CHARS]
            prefix = value.get("prefix")
            resolved[name] = f"{prefix}\n\n{upstream}" if prefix else upstream
        else:
            resolved[name] = value
    return resolved


def _blocked_message(blocked: list[str], outcomes: dict[str, StepOutcome]) -> str:
    reasons = [
        f"{d} {'is waiting for approval' if outcomes[d].status == 'held' else 'did not succeed'}" for d in blocked
    ]
    return "not run: " + "; ".join(reasons)


def _event_name(status: StepStatus) -> str:
    return {"ok": "step_finished", "tool_error": "step_failed", "failed": "step_failed", "held": "step_held",
            "skipped": "step_skipped"}[status]  # fmt: skip
