"""The executor: run a plan's steps as their dependencies allow, independent ones in parallel.

It only orders the DAG and turns outcomes into step results: each step is a call through the same
pipeline as any other (policy, rate limit, scoping, validation, approval, breaker, retries for
read-only and idempotent tools, a timeout: the step's deadline). A failed step is reported as a typed
error while the other steps finish; steps that depend on it are skipped. Held steps are reported with
their approval.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel

from sophia.gateway.errors import GatewayError, UpstreamTimeout
from sophia.gateway.pipeline import Call, Pipeline
from sophia.gateway.planner import STEP_REF, UNASKED, Plan, Step
from sophia.gateway.results import text_of

StepStatus = Literal["ok", "tool_error", "failed", "held", "skipped"]
Emit = Callable[[str, dict[str, Any]], Awaitable[None]]
# An upstream result handed to a later step is cut here: results are data, not a way to grow a prompt.
MAX_UPSTREAM_CHARS = 4000


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
    def __init__(self, pipeline: Pipeline, step_timeout_s: float) -> None:
        self.pipeline = pipeline
        self.step_timeout_s = step_timeout_s

    async def run(self, plan: Plan, *, query: str, emit: Emit | None = None) -> dict[str, StepOutcome]:
        """Run `plan` for the current principal."""
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

    async def call(self, tool: str, arguments: dict[str, Any], why: str) -> StepOutcome:
        """One call the gateway makes for its own reading (a conversation's turns, the names a service
        knows), as a one-step plan: the caller's policy, scoping and limits apply as to any step."""
        plan = Plan(steps=[Step(id="own", tool=tool, arguments=arguments, why=why)])
        return (await self.run(plan, query=why))["own"]

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
        unfound = _unfound(step.arguments, arguments)
        if unfound:
            # An identifier a step was to take from an earlier one is not there (a search that found nothing):
            # the step is not sent without it, where it would fail on its schema or act on a default.
            message = "; ".join(f"{source} found no {field} for {name}" for name, source, field in unfound)
            return finish("skipped", error=StepError(type="NothingFound", message=message))
        if emit is not None:
            await emit("step_started", {"id": step.id, "tool": step.tool, "arguments": arguments})
        loop = asyncio.get_running_loop()
        # A step planned as held only because its server could not be asked then (an argument was to come from
        # an earlier step: "find X, then post it in #team") is not held by the plan now that its arguments
        # are known: its server's per-call check runs with the call, and the pipeline holds exactly that call
        # if the check says so (a shared channel), never runs it unchecked.
        held_by_plan = step.requires_approval and step.approval_reason != UNASKED
        call = Call(
            step.tool,
            arguments,
            "ask",
            deadline=loop.time() + self.step_timeout_s,
            hold_reason=f"step {step.id} of a plan for: {query[:200]}" if held_by_plan else None,
            query=query,
        )
        try:
            outcome = await self.pipeline.run(call)
        except GatewayError as exc:
            error = StepError(type=type(exc).__name__, message=str(exc))
            if isinstance(exc, UpstreamTimeout) and call.deadline is not None and loop.time() >= call.deadline:
                # Out of time for the step (retries included): the step's own budget, not one attempt's.
                error = StepError(type="StepTimeout", message=f"no answer within {self.step_timeout_s:g} s")
            return finish("failed", attempts=call.attempts, error=error)
        if outcome.held is not None:
            return finish("held", approval=outcome.held.public())
        status: StepStatus = "tool_error" if outcome.result.get("isError") else "ok"
        return finish(status, result=outcome.result, attempts=outcome.attempts)


def _resolve(arguments: dict[str, Any], outcomes: dict[str, StepOutcome]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for name, value in arguments.items():
        if isinstance(value, dict) and STEP_REF in value and value.get("field"):
            # One field of the upstream's structured result (an identifier); absent, the argument stays
            # unset and the step is not run (see _unfound).
            structured = (outcomes[value[STEP_REF]].result or {}).get("structuredContent")
            field = _at(structured, str(value["field"]))
            if isinstance(field, str | int | float | bool):
                resolved[name] = [field] if value.get("list") else field
        elif isinstance(value, dict) and STEP_REF in value:
            upstream = text_of(outcomes[value[STEP_REF]].result)[:MAX_UPSTREAM_CHARS]
            prefix = value.get("prefix")
            resolved[name] = f"{prefix}\n\n{upstream}" if prefix else upstream
        else:
            resolved[name] = value
    return resolved


def _unfound(planned: dict[str, Any], resolved: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(argument, step, field) for each identifier reference that resolved to nothing."""
    return [
        (name, str(value[STEP_REF]), str(value["field"]))
        for name, value in planned.items()
        if isinstance(value, dict) and STEP_REF in value and value.get("field") and name not in resolved
    ]


def _at(data: Any, path: str) -> Any:
    """`path` in structured content: a key, or dotted keys and list indexes ("items.0.id": the best match's id)."""
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


at = _at  # for follow-up rounds that read an identifier out of a result (rounds.py)


def _blocked_message(blocked: list[str], outcomes: dict[str, StepOutcome]) -> str:
    reasons = [
        f"{d} {'is waiting for approval' if outcomes[d].status == 'held' else 'did not succeed'}" for d in blocked
    ]
    return "not run: " + "; ".join(reasons)


def _event_name(status: StepStatus) -> str:
    return {"ok": "step_finished", "tool_error": "step_failed", "failed": "step_failed", "held": "step_held",
            "skipped": "step_skipped"}[status]  # fmt: skip
