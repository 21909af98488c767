"""Stage 1, principal: who is calling. Everything after this reads `call.principal`."""

from __future__ import annotations

from sophia.gateway.pipeline.call import Call, Next, Outcome, Stage
from sophia.gateway.security.guard import Guard


class PrincipalStage(Stage):
    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    async def handle(self, call: Call, next: Next) -> Outcome:
        if call.principal is None:  # an approved re-run arrives with its approver set
            call.principal = self.guard.principal()
        return await next(call)
