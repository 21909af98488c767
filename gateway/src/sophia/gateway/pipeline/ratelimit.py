"""Stage 3, rate limit: the caller's budget of calls (GCRA in Redis, shared by every replica)."""

from __future__ import annotations

from sophia.gateway.pipeline.call import Call, Next, Outcome, Stage
from sophia.gateway.security.guard import Guard


class RateLimitStage(Stage):
    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    async def handle(self, call: Call, next: Next) -> Outcome:
        if call.source != "approved":  # the approved call was counted when it was held
            assert call.principal is not None
            await self.guard.within_limit(call.principal, call.name)
        return await next(call)
