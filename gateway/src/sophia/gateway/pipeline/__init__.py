"""The call pipeline: every tool call, whatever its entry point, passes the same ordered stages.

    principal → policy → rate limit → namespace scoping → argument validation → approval
      → circuit breaker → retries → timeout → audit → upstream

Entry points (the MCP endpoint, REST, `ask` steps, approved re-runs, the gateway's LLM calls) only
turn their input into a `Call` and the `Outcome` (or `GatewayError`) into their wire format through
`sophia.gateway.errors`. See README.md beside this file for why the stages sit in this order.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.exceptions import RedisError

from sophia.gateway.errors import StateUnavailable
from sophia.gateway.pipeline.call import Call, Next, Outcome, Progress, Source, Stage

__all__ = ["Call", "Next", "Outcome", "Pipeline", "Progress", "Source", "Stage"]


class Pipeline:
    """The stages chained once at start; `run` sends one call through them to `terminal`."""

    def __init__(self, stages: Sequence[Stage], terminal: Next) -> None:
        self.stages = tuple(stages)
        chain = terminal
        for stage in reversed(self.stages):
            chain = _link(stage, chain)
        self._chain = chain

    async def run(self, call: Call) -> Outcome:
        try:
            return await self._chain(call)
        except RedisError as exc:  # approvals or limits could not be reached: typed, and fail closed
            raise StateUnavailable(f"shared state (Redis) is unavailable: {type(exc).__name__}") from exc


def _link(stage: Stage, following: Next) -> Next:
    async def step(call: Call) -> Outcome:
        return await stage.handle(call, following)

    return step
