"""Stage 3, rate limit: the caller's budget of calls (GCRA in Redis, shared by every replica)."""

from __future__ import annotations

from sophia.gateway.errors import RateLimited, StateUnavailable
from sophia.gateway.pipeline.call import Call, Next, Outcome, Stage
from sophia.gateway.security.guard import Guard
from sophia.gateway.security.ratelimit import RateLimitUnavailable


class RateLimitStage(Stage):
    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    async def handle(self, call: Call, next: Next) -> Outcome:
        limiter = self.guard.limiter
        if limiter is not None and call.source != "approved":  # the approved call was counted when held
            assert call.principal is not None
            try:
                verdict = await limiter.check(call.principal.key, call.name)
            except RateLimitUnavailable as exc:
                raise StateUnavailable(str(exc)) from exc
            if not verdict.allowed:
                await self.guard.record("call", call.principal, call.name, {}, "rate_limited")
                raise RateLimited(verdict.retry_after_s)
        return await next(call)
