"""Stage 4, namespace scoping: with auth on, a tool that takes a `namespace` gets the caller's own,
whatever the request said; so no one reads or writes another team's data."""

from __future__ import annotations

from sophia.gateway.pipeline.call import Call, Next, Outcome, Stage
from sophia.gateway.security.guard import Guard


class ScopingStage(Stage):
    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    async def handle(self, call: Call, next: Next) -> Outcome:
        assert call.principal is not None and call.route is not None
        if call.source != "approved":  # held calls were scoped before they were stored
            call.arguments = self.guard.scoped(call.principal, call.route.input_schema, call.arguments)
        return await next(call)
