"""Stage 2, policy: may this principal call this tool? A tool it may not call does not exist for it.

The route is resolved here because visibility decides what a missing tool looks like: a hidden tool
answers exactly like an unknown one (same status, same message), and only a tool the caller could
call learns that its server is down (503) instead.
"""

from __future__ import annotations

from sophia.gateway.catalog import Catalog, Route
from sophia.gateway.errors import ServerDown, UnknownTool
from sophia.gateway.pipeline.call import Call, Next, Outcome, Stage
from sophia.gateway.security.guard import Guard


class PolicyStage(Stage):
    def __init__(self, catalog: Catalog, guard: Guard, local: dict[str, Route]) -> None:
        self.catalog = catalog
        self.guard = guard
        self.local = local  # the gateway's own tools (`ask`, `classify_intent`, `find_tools`)

    async def handle(self, call: Call, next: Next) -> Outcome:
        assert call.principal is not None
        route = self.local.get(call.name) or self.catalog.find(call.name)
        if route is None:
            down = self.catalog.known_down(call.name)
            if down is not None and self.guard.policy.may_call(call.principal, call.name, down.spec):
                raise ServerDown(down.service, call.name)
            raise UnknownTool(call.name)
        call.route = route
        # An approved re-run was checked when it was held; the approver's own rights were checked to decide.
        # The gateway's own tools are allowed by name pattern alone (their spec is not a server's).
        spec = None if route.kind == "local" else route.spec
        if call.source != "approved" and not self.guard.policy.may_call(call.principal, call.name, spec):
            await self.guard.record("call", call.principal, call.name, {}, "forbidden")
            raise UnknownTool(call.name)
        return await next(call)
